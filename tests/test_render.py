"""Channel rendering (bot/render.py): what a reader sees on Telegram, Slack, Teams and
Mattermost is the answer with every citation and the disclaimer, markup that the platform
accepts, and messages under its limits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot import channels, render
from bot.corpus import Passage
from bot.engine import Engine
from bot.reply import Button, Citation, Quote, Reply
from tests.channels.fakes import check_markdown_v2, telegram_plain, visible_length

NASTY = "Art. 3(d) *bold* _it_ [x](y) ~s~ `c` >q #h +1 -2 =3 |p| {b} v1.0! back\\slash <script>alert(1)</script> & co"


def synthetic(text: str, n: int = 1, lang: str = "en", buttons: list[dict[str, str]] | None = None,
              highlight: tuple[int, int] | None = None, url: str = "https://undocs.org/zh/DOC/X.1") -> Reply:
    """An answer shaped like answers.answer's, around arbitrary passage text."""
    quotes, citations = [], []
    for i in range(n):
        pid = f"doc-x:{i + 1}"
        cite = f"DOC/X.1 (test), para. {i + 1}"
        quotes.append(Quote(Passage(pid, "doc-x", "body", text, number=i + 1), "original", "", "", text, False,
                            (), (), (highlight or (0, min(10, len(text))),), cite, ""))
        citations.append(Citation(pid, "doc-x", "", "", "DOC/X.1", "", str(i + 1), cite, url))
    reply = Reply("answer", lang, lead="Lead line (test):", quotes=quotes, citations=citations,
                  disclaimer="Not legal advice. Check the original.", source_label=("Source: ", ""),
                  buttons=[Button(b["title"], b["payload"]) for b in (
                      buttons if buttons is not None else [{"title": "More results", "payload": "/more_results"}])])
    reply.text = render.web_text(reply)
    return reply


def markdown_plain(markup: str) -> str:
    """The text a Mattermost / Teams reader sees."""
    markup = re.sub(r"^> ", "", markup, flags=re.M)
    out, i = [], 0
    while i < len(markup):
        c = markup[i]
        if c == "\\" and i + 1 < len(markup):
            out.append(markup[i + 1])
            i += 2
        elif markup.startswith("](", i):
            i = markup.index(")", i) + 1
        elif c in "[*":
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def slack_plain(markup: str) -> str:
    markup = re.sub(r"<[^|>]+\|([^>]*)>", r"\1", markup)
    markup = re.sub("\u200b(.)\u200b", "\0\\1", markup)  # escaped formatting characters
    markup = re.sub(r"(?<!\0)[*_~]", "", markup).replace("\0", "")  # the rest is markup
    markup = re.sub(r"^>", "", markup, flags=re.M)
    return markup.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def texts(channel: str, reply: Reply, public_url: str = "") -> list[str]:
    out = []
    for m in render.messages(reply, channel, public_url):
        j = m.get("json_message") or {}
        if channel == "slack":
            out.append("\n".join(b["text"]["text"] if "text" in b else b["elements"][0]["text"]
                                 for b in j["blocks"] if b["type"] in ("section", "context")))
        else:
            out.append(m.get("text") or j.get("text") or j.get("message") or "")
    return out


def test_telegram_markdown_v2_escapes_every_reserved_character() -> None:
    msgs = render.messages(synthetic(NASTY), "telegram")
    assert len(msgs) == 1
    body = msgs[0]["json_message"]
    assert body["parse_mode"] == "MarkdownV2"
    check_markdown_v2(body["text"])  # Telegram would reject it otherwise
    seen = telegram_plain(body["text"])
    assert NASTY in seen and "DOC/X.1 (test), para. 1" in seen and "Not legal advice." in seen
    assert "[DOC/X\\.1 \\(test\\), para\\. 1](https://undocs.org/zh/DOC/X.1)" in body["text"]  # citation as a link


def test_slack_mrkdwn_escapes_entities_and_keeps_links() -> None:
    (text,) = texts("slack", synthetic(NASTY))
    assert "<script>" not in text and "&lt;script&gt;" in text and "&amp; co" in text
    assert "<https://undocs.org/zh/DOC/X.1|DOC/X.1 (test), para. 1>" in text
    assert NASTY in slack_plain(text)
    blocks = render.messages(synthetic(NASTY), "slack")[0]["json_message"]["blocks"]
    assert blocks[-2]["type"] == "context" and "Not legal advice" in blocks[-2]["elements"][0]["text"]  # set off
    assert blocks[-1] == {"type": "actions", "elements": [
        {"type": "button", "action_id": "pa-button-0", "text": {"type": "plain_text", "text": "More results", "emoji": True},
         "value": "/more_results"}]}


@pytest.mark.parametrize("channel", ["botframework", "mattermost"])
def test_markdown_channels_escape_markup(channel: str) -> None:
    (text,) = texts(channel, synthetic(NASTY))
    assert "\\*bold\\*" in text and "\\_it\\_" in text and "\\<script\\>" in text
    assert "[DOC/X.1 (test), para. 1](https://undocs.org/zh/DOC/X.1)" in text
    assert NASTY in markdown_plain(text)


def test_chinese_highlight_closes_before_punctuation() -> None:
    """CommonMark does not close ** after 。 followed by a letter: the marker goes inside."""
    p = synthetic("然而，这种情况亟需法律对策。其他内容。", highlight=(0, 14))
    (text,) = texts("mattermost", p)
    assert "**然而，这种情况亟需法律对策**。其他内容。" in text


LIMITS = {"telegram": render.TELEGRAM_LIMIT, "botframework": render.TEAMS_LIMIT,
          "mattermost": render.MATTERMOST_LIMIT, "slack": render.SLACK_TEXT_LIMIT}


@pytest.mark.parametrize("channel", list(LIMITS))
def test_long_answers_split_under_the_limit_without_losing_text(channel: str) -> None:
    sentence = "数字技术使犯罪分子能够跨境作案并隐匿身份，执法机关需要新的侦查工具😀。"
    long_text = sentence * 250  # ~9 000 characters, emoji count twice for Telegram
    payload = synthetic(long_text, n=2, lang="zh")
    msgs = render.messages(payload, channel)
    parts = texts(channel, payload)
    assert len(msgs) >= 2 or (channel == "slack" and len(msgs[0]["json_message"]["blocks"]) >= 8)
    if channel == "telegram":
        for t in parts:
            check_markdown_v2(t)
            assert len(t.encode("utf-16-le")) // 2 <= 4096 and visible_length(t) <= 4096
        seen = "".join(telegram_plain(t) for t in parts)
        assert [m["json_message"].get("reply_markup") is not None for m in msgs] == [False] * (len(msgs) - 1) + [True]
    elif channel == "slack":
        for m in msgs:
            blocks = m["json_message"]["blocks"]
            assert len(blocks) <= 50
            assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
        assert msgs[-1]["json_message"]["blocks"][-1]["type"] == "actions"
        many = render.messages(synthetic("短文。", n=30), "slack")  # 62 blocks: two messages
        assert [len(m["json_message"]["blocks"]) for m in many] == [49, 14]
        seen = "".join(slack_plain(t) for t in parts)
    else:
        assert all(len(t) <= LIMITS[channel] for t in parts)
        seen = "".join(markdown_plain(t) for t in parts)
    squashed = re.sub(r"\s+|>|\*|_", "", seen)
    assert squashed.count(re.sub(r"\s+", "", sentence).replace("*", "")) == 500  # every sentence, twice 250
    assert "DOC/X.1(test),para.1" in squashed and "DOC/X.1(test),para.2" in squashed
    assert "Notlegaladvice." in squashed


def test_telegram_buttons_inline_when_payloads_fit_else_reply_keyboard() -> None:
    inline = render.telegram_keyboard([{"title": "More results", "payload": "/more_results"},
                                       {"title": "👍", "payload": '/feedback{"rating": "up"}'},
                                       {"title": "👎", "payload": '/feedback{"rating": "down"}'}])
    assert inline == {"inline_keyboard": [[{"text": "More results", "callback_data": "/more_results"}],
                                          [{"text": "👍", "callback_data": '/feedback{"rating": "up"}'},
                                           {"text": "👎", "callback_data": '/feedback{"rating": "down"}'}]]}
    question = "对于可用于非法制造枪支部件的3D打印蓝图，会员国应当怎么做？"  # > 64 bytes of callback data
    reply = render.telegram_keyboard([{"title": "3D打印枪支", "payload": question}])
    assert reply == {"keyboard": [[{"text": question}]], "one_time_keyboard": True, "resize_keyboard": True}


def test_teams_buttons_are_message_back_and_mattermost_uses_rasa_buttons() -> None:
    p = synthetic("text", buttons=[{"title": "👍", "payload": '/feedback{"rating": "up"}'}])
    (teams,) = render.messages(p, "botframework")
    assert teams["json_message"]["attachments"][0]["content"]["buttons"] == [
        {"type": "messageBack", "title": "👍", "text": '/feedback{"rating": "up"}', "displayText": "👍"}]
    (mm,) = render.messages(p, "mattermost")
    assert mm["buttons"] == [{"title": "👍", "payload": '/feedback{"rating": "up"}'}] and "json_message" not in mm


def test_web_channels_get_the_payload_and_others_plain_text() -> None:
    reply = synthetic("Plain *text*.")
    p = reply.to_payload()
    for channel in ("rest", "socketio", "callback", None):
        assert render.messages(reply, channel) == [{"text": p["text"], "buttons": p["buttons"], "json_message": p}]
    (twilio,) = render.messages(reply, "twilio")
    assert "json_message" not in twilio and twilio["buttons"] == p["buttons"]
    assert "Plain *text*." in twilio["text"] and "DOC/X.1 (test), para. 1 (https://undocs.org/zh/DOC/X.1)" in twilio["text"]


def test_citations_link_to_the_viewer_when_the_page_is_public() -> None:
    (text,) = texts("botframework", synthetic("x"), public_url="https://assistant.example.org/")
    assert "(https://assistant.example.org/?p=doc-x:1)" in text
    p = synthetic("x", url="")  # a document with neither UN symbol nor DOI: the citation stays as text
    (text,) = texts("telegram", p)
    assert "DOC/X\\.1 \\(test\\), para\\. 1" in text and "](" not in text


QUESTIONS = ["What do the documents say about 3D-printed guns?", "How do traffickers use cryptocurrencies?",
             "What are darknet markets and what is sold on them?", "人贩子如何利用社交媒体招募受害人？",
             "文件中关于“AI去衣”技术说了什么？", "how do I 3D print a gun at home", "What is the capital of France?"]


@pytest.mark.parametrize("channel", list(render.RENDERERS))
def test_real_answers_keep_quotes_citations_and_disclaimer(engine: Engine, channel: str) -> None:
    from bot import safety

    for q in QUESTIONS:
        reply = safety.handle(engine, q)
        payload = reply.to_payload()
        joined = "\n".join(texts(channel, reply))
        plain = {"telegram": telegram_plain, "slack": slack_plain}.get(channel, markdown_plain)(joined)
        if channel == "telegram":
            for t in texts(channel, reply):
                check_markdown_v2(t)
        for c in payload["citations"]:
            assert c["citation"] in plain, (q, c["citation"])
        for p in payload["passages"]:
            assert p["excerpt"].replace("\n", "") in plain.replace("\n>", "\n").replace("\n", ""), q
        if payload["kind"] == "answer":
            assert payload["disclaimer"] in plain
        else:
            assert payload["text"].split("\n")[0] in plain


def test_channel_credentials_from_the_environment(tmp_path: Any) -> None:
    env = {"TELEGRAM_TOKEN": "123:secret-token", "TELEGRAM_BOT_NAME": "bot", "TELEGRAM_WEBHOOK_URL": "https://x/y",
           "TELEGRAM_SECRET_TOKEN": "s" * 32, "CALLBACK_URL": "https://cb.example/replies"}
    path = tmp_path / "credentials.yml"
    assert [c.name for c in channels.write(path, env)] == ["telegram", "callback"]
    text = path.read_text(encoding="utf-8")
    assert "123:secret-token" not in text and "s" * 32 not in text  # secrets stay in the environment
    creds = __import__("yaml").safe_load(text)
    assert creds["rasa_addons.telegram.TelegramInput"]["access_token"] == "${TELEGRAM_TOKEN}"
    assert "api_url" not in creds["rasa_addons.telegram.TelegramInput"]  # optional and unset
    assert "rasa_addons.rest.RestInput" in creds and "rasa_addons.socketio.SocketIOInput" in creds
    with pytest.raises(channels.ChannelConfigError, match="SLACK_SIGNING_SECRET"):
        channels.enabled({"SLACK_BOT_TOKEN": "xoxb-1"})
    assert json.dumps(channels.status({})).count(": off") == len(channels.CHANNELS)
