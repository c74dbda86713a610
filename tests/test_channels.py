"""Messaging channels end to end, without real accounts.

Recorded inbound payloads (tests/channels/payloads/) go to the webhooks of a real Rasa server
(the trained model, the action server, Rasa's own Telegram/Slack/Bot Framework/Mattermost/
callback connectors, signature checks on with test secrets). The platforms' APIs are a local
fake (tests/channels/fakes.py) that captures every outbound call and rejects what the real
service would reject. Each test checks the reply a user would read: the quoted passage,
its citation, the disclaimer, the channel's escaping and buttons, a button press, and that a
forged request is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import answers, channels
from bot.engine import Engine
from tests.channels import REPORT
from tests.channels.fakes import BOT_NAME, FakeAPI, check_markdown_v2
from tests.stack import MODEL, ROOT, Stack

PAYLOADS = ROOT / "tests" / "channels" / "payloads"
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
QUESTION = "What do the documents say about 3D-printed guns?"

TG_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"   # the shape aiogram validates
TG_SECRET = "tg-test-secret-9f8e7d6c5b4a"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BF_APP_ID = "test-app-id"
BF_TENANT = "72f988bf-0000-41af-91ab-2d7cd011db47"
MM_WEBHOOK_TOKEN = "mm-outgoing-webhook-test-token"
MM_BOT_TOKEN = "mm-bot-access-test-token"

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not MODEL.exists(), reason="no trained Rasa model (run: make train)")]


@dataclass
class Channels:
    fake: FakeAPI
    stack: Stack
    env: dict[str, str]
    jwt: dict[str, Any]

    @property
    def rasa(self) -> str:
        return f"http://127.0.0.1:{self.stack.rasa_port}"


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channels]:
    fake = FakeAPI()
    tokens = json.loads(subprocess.run([str(RASA_PY), str(ROOT / "tests/channels/jwt_tool.py"), BF_APP_ID],
                                       check=True, capture_output=True, text=True).stdout)
    fake.jwks = {"keys": [tokens["jwk"]]}
    tmp = tmp_path_factory.mktemp("channels")
    stack = Stack(tmp)
    env = {
        "TELEGRAM_TOKEN": TG_TOKEN, "TELEGRAM_BOT_NAME": BOT_NAME, "TELEGRAM_SECRET_TOKEN": TG_SECRET,
        "TELEGRAM_WEBHOOK_URL": "https://assistant.example.org/webhooks/telegram/webhook",
        "TELEGRAM_API_URL": f"{fake.url}/tg",
        "SLACK_BOT_TOKEN": "xoxb-0000000000-test", "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "BOTFRAMEWORK_APP_ID": BF_APP_ID, "BOTFRAMEWORK_APP_PASSWORD": "test-app-password",
        "BOTFRAMEWORK_TENANT_ID": BF_TENANT,
        "MATTERMOST_URL": f"{fake.url}/mm/api/v4", "MATTERMOST_BOT_TOKEN": MM_BOT_TOKEN,
        "MATTERMOST_WEBHOOK_URL": f"http://127.0.0.1:{stack.rasa_port}/webhooks/mattermost/webhook",
        "MATTERMOST_WEBHOOK_TOKEN": MM_WEBHOOK_TOKEN, "CALLBACK_URL": f"{fake.url}/callback",
        "FAKE_API_URL": fake.url,
    }
    credentials = tmp / "credentials.yml"
    enabled = channels.write(credentials, env)  # the file `make start` generates from the environment
    assert [c.name for c in enabled] == ["telegram", "slack", "botframework", "mattermost", "callback"]
    try:
        stack.start_actions()
        stack.start_rasa(credentials=credentials, command=[str(RASA_PY), str(ROOT / "tests/channels/run_rasa.py")],
                         env=env)
        yield Channels(fake, stack, env, tokens)
    finally:
        stack.stop()
        fake.close()


def expected(engine: Engine, question: str, lang: str | None = None, offset: int = 0) -> dict[str, Any]:
    """What the assistant answers on the web for the same question (the same search)."""
    return answers.answer(engine, question, lang=lang, offset=offset).to_payload()


def para(citation: dict[str, Any]) -> str:
    return str(citation["citation"])


def md2(text: str) -> str:
    """``text`` escaped for Telegram's MarkdownV2 (every reserved character)."""
    return re.sub(r"([_*\[\]()~`>#+\-=|{}.!\\])", r"\\\1", text)


# ------------------------------------------------------------------------------------------
# Telegram


def test_telegram(ch: Channels, engine: Engine) -> None:
    hook = f"{ch.rasa}/webhooks/telegram/webhook"
    registered = ch.fake.find("/setWebhook")
    assert registered and registered[-1].body["secret_token"] == TG_SECRET  # webhook registered with the secret
    update = json.dumps(load("telegram_message.json")).encode()
    t0 = time.time()
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guessed"}):
        status, _ = post(hook, update, {"Content-Type": "application/json", **headers})
        assert status == 403
    assert post(f"{ch.rasa}/webhooks/telegram/set_webhook", b"", {})[0] == 200  # re-registers, with the secret
    assert ch.fake.find("/setWebhook", t0)[-1].body["secret_token"] == TG_SECRET
    status, _ = post(hook, update, {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert status == 200
    sent = ch.fake.wait("/sendMessage", t0)
    assert sent, "no reply sent to Telegram"
    bodies = [c.body for c in sent]
    assert {b["chat_id"] for b in bodies} == {"5550001"} and {b.get("parse_mode") for b in bodies} == {"MarkdownV2"}
    for b in bodies:
        check_markdown_v2(b["text"])
    text = "\n".join(b["text"] for b in bodies)
    web = expected(engine, QUESTION)
    for c in web["citations"]:
        escaped = md2(para(c))
        # citation as an escaped link to the original where the document has one, else as text
        assert (f"[{escaped}]({c['url']})" if c["url"] else escaped) in text
    assert "this is not legal advice\\." in text  # the disclaimer, escaped
    keyboard = json.loads(bodies[-1]["reply_markup"])["inline_keyboard"]
    callbacks = [b["callback_data"] for row in keyboard for b in row]
    assert "/more_results" in callbacks and all(len(c.encode()) <= 64 for c in callbacks)

    t1 = time.time()  # the user presses "More results"
    press = json.dumps(load("telegram_callback_query.json")).encode()
    assert post(hook, press, {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})[0] == 200
    more = "\n".join(c.body["text"] for c in ch.fake.wait("/sendMessage", t1))
    assert [c.body["callback_query_id"] for c in ch.fake.find("/answerCallbackQuery", t1)] == ["4382bfdwdsb323b2d9"]
    nxt = expected(engine, QUESTION, offset=2)
    assert "More from the documents" in more and md2(para(nxt["citations"][0]).split(",")[-1].strip()) in more
    REPORT["telegram"] = (f"{len(bodies)} message(s), MarkdownV2 valid, {len(web['citations'])} citation links, "
                          f"disclaimer, inline buttons, button press answered, forged updates 403")


# ------------------------------------------------------------------------------------------
# Slack


def slack_headers(body: bytes, ctype: str, ts: int | None = None, secret: str = SLACK_SECRET) -> dict[str, str]:
    stamp = str(ts if ts is not None else int(time.time()))
    sig = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": ctype, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={sig}"}


def slack_text(body: dict[str, Any]) -> str:
    blocks = body["blocks"] if isinstance(body["blocks"], list) else json.loads(body["blocks"])
    return "\n".join(b["text"]["text"] if b["type"] == "section" else b["elements"][0]["text"]
                     for b in blocks if b["type"] in ("section", "context"))


def test_slack(ch: Channels, engine: Engine) -> None:
    hook = f"{ch.rasa}/webhooks/slack/webhook"
    question = "人贩子如何利用社交媒体招募受害人？"
    event = load("slack_event_message_im.json")
    event["event"]["text"] = question
    body = json.dumps(event).encode()
    t0 = time.time()
    assert post(hook, body, slack_headers(body, "application/json", secret="wrong-secret"))[0] == 400
    assert post(hook, body, slack_headers(body, "application/json", ts=int(time.time()) - 600))[0] == 400  # replayed
    assert post(hook, body, slack_headers(body, "application/json"))[0] == 200
    sent = ch.fake.wait("/slack/api/chat.postMessage", t0)
    assert sent, "no reply posted to Slack"
    assert all(c.headers.get("authorization") == "Bearer xoxb-0000000000-test" for c in sent)
    assert {c.body["channel"] for c in sent} == {"D0LAN2Q65"}
    text = "\n".join(slack_text(c.body) for c in sent)
    web = expected(engine, question)
    assert web["kind"] == "answer" and text.startswith(engine.texts.t("zh", "lead"))
    for c in web["citations"]:
        assert para(c) in text  # Chinese citation ("出处：…第N段")
    assert "出处" in text and "不构成法律意见" in text
    assert not re.search(r"<(?!https://)", text)  # only link syntax uses < (text is entity-escaped)
    blocks = sent[-1].body["blocks"]
    assert blocks[-2]["type"] == "context" and blocks[-1]["type"] == "actions"
    values = [e["value"] for e in blocks[-1]["elements"]]
    assert "/more_results" in values

    t1 = time.time()  # the user clicks "更多结果" (form-encoded block_actions, signed)
    action = load("slack_block_actions.json")
    form = urllib.parse.urlencode({"payload": json.dumps(action)}).encode()
    assert post(hook, form, slack_headers(form, "application/x-www-form-urlencoded", secret="x"))[0] == 400
    assert post(hook, form, slack_headers(form, "application/x-www-form-urlencoded"))[0] == 200
    more = "\n".join(slack_text(c.body) for c in ch.fake.wait("/slack/api/chat.postMessage", t1))
    nxt = expected(engine, question, offset=2)
    assert para(nxt["citations"][0]) in more
    REPORT["slack"] = (f"{len(sent)} message(s), mrkdwn blocks, {len(web['citations'])} citation links (Chinese), "
                       "disclaimer as context block, buttons, click answered, bad signature and replay rejected")


# ------------------------------------------------------------------------------------------
# Microsoft Teams (Bot Framework)


def test_botframework(ch: Channels, engine: Engine) -> None:
    hook = f"{ch.rasa}/webhooks/botframework/webhook"
    activity = load("botframework_teams_message.json")
    activity["serviceUrl"] = f"{ch.fake.url}/bf/"
    body = json.dumps(activity).encode()
    t0 = time.time()
    assert post(hook, body, {"Content-Type": "application/json"})[0] == 401
    for bad in ("wrong_key", "wrong_audience"):
        assert post(hook, body, {"Content-Type": "application/json", "Authorization": f"Bearer {ch.jwt[bad]}"})[0] == 401
    auth = {"Content-Type": "application/json", "Authorization": f"Bearer {ch.jwt['token']}"}
    assert post(hook, body, auth)[0] == 200
    sent = ch.fake.wait("/bf/v3/conversations/", t0)
    assert sent, "no activity sent to the Bot Framework connector"
    assert all(c.path == "/bf/v3/conversations/a:1pLq2Rs3Tu4Vw5Xy6Z-personal/activities" for c in sent)
    acts = [c.body for c in sent]
    assert {a["recipient"]["id"] for a in acts} == {"29:1a2b3c4d5e6f-official"}
    token = ch.fake.find("/oauth2/v2.0/token")  # a single-tenant bot asks its own tenant for the token
    assert token and token[0].path == f"/bf/{BF_TENANT}/oauth2/v2.0/token" and token[0].body["client_id"] == BF_APP_ID
    assert {a["textFormat"] for a in acts} == {"markdown"}
    text = "\n".join(a["text"] for a in acts)
    web = expected(engine, QUESTION)
    for c in web["citations"]:
        assert (f"[{para(c)}]({c['url']})" if c["url"] else para(c)) in text
    assert "> " in text and "**" in text and "*Quoted from the named documents" in text
    buttons = acts[-1]["attachments"][0]["content"]["buttons"]
    assert {"type": "messageBack", "title": "More results", "text": "/more_results", "displayText": "More results"} in buttons

    t1 = time.time()  # Teams sends a messageBack press as a message activity with the button's text
    activity.update({"text": "/more_results", "id": "1763715600001"})
    assert post(hook, json.dumps(activity).encode(), auth)[0] == 200
    more = "\n".join(c.body["text"] for c in ch.fake.wait("/bf/v3/conversations/", t1))
    assert "More from the documents" in more and para(expected(engine, QUESTION, offset=2)["citations"][0]) in more

    t2 = time.time()  # a Rasa response with buttons (the greeting) also gets Teams card actions
    activity.update({"text": "Hello", "id": "1763715600002"})
    assert post(hook, json.dumps(activity).encode(), auth)[0] == 200
    greeting = ch.fake.wait("/bf/v3/conversations/", t2)[-1].body
    card = greeting["attachments"][0]["content"]
    assert "policy documents" in card["text"]
    assert {"type": "messageBack", "title": "Which documents?", "text": "/list_documents",
            "displayText": "Which documents?"} in card["buttons"]
    REPORT["botframework"] = (f"{len(acts)} activity(ies), Markdown, {len(web['citations'])} citation links, "
                              "disclaimer, messageBack buttons (answers and Rasa responses), press answered, "
                              "missing/forged JWT 401, tenant token")


# ------------------------------------------------------------------------------------------
# Mattermost


def test_mattermost(ch: Channels, engine: Engine) -> None:
    hook = f"{ch.rasa}/webhooks/mattermost/webhook"
    fields = load("mattermost_outgoing_webhook.json")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    t0 = time.time()
    assert post(hook, urllib.parse.urlencode({**fields, "token": "guessed"}).encode(), form)[0] == 401
    assert post(hook, urllib.parse.urlencode({**fields, "token": MM_WEBHOOK_TOKEN}).encode(), form)[0] == 200
    sent = ch.fake.wait("/mm/api/v4/posts", t0)
    assert sent, "no post made to Mattermost"
    assert all(c.headers.get("authorization") == f"Bearer {MM_BOT_TOKEN}" for c in sent)
    assert {c.body["channel_id"] for c in sent} == {"xc7b1qzwrp8t5mx1fdj3oi6toh"}
    text = "\n".join(c.body["message"] for c in sent)
    question = fields["text"].removeprefix(fields["trigger_word"]).strip()
    web = expected(engine, question)
    assert text.startswith(engine.texts.t("zh", "lead"))  # the trigger word was not taken for the question
    for c in web["citations"]:
        assert (f"[{para(c)}]({c['url']})" if c["url"] else para(c)) in text
    assert "不构成法律意见" in text
    actions = sent[-1].body["props"]["attachments"][0]["actions"]
    more = next(a for a in actions if a["integration"]["context"]["action"] == "/more_results")
    assert more["integration"]["url"] == ch.env["MATTERMOST_WEBHOOK_URL"] and re.fullmatch(r"[a-z0-9]+", more["id"])

    press = load("mattermost_button_action.json")
    forged = {**press, "context": {"action": "/more_results", "signature": "0" * 64}}
    assert post(hook, json.dumps(forged).encode(), {"Content-Type": "application/json"})[0] == 401
    t1 = time.time()
    press["context"] = more["integration"]["context"]
    status, reply = post(hook, json.dumps(press).encode(), {"Content-Type": "application/json"})
    assert status == 200 and json.loads(reply) == {}
    after = "\n".join(c.body["message"] for c in ch.fake.wait("/mm/api/v4/posts", t1))
    assert para(expected(engine, question, offset=2)["citations"][0]) in after
    REPORT["mattermost"] = (f"{len(sent)} post(s), Markdown, {len(web['citations'])} citation links (Chinese), "
                            "disclaimer, signed buttons, press answered, bad token and forged button 401")


# ------------------------------------------------------------------------------------------
# Callback (webhook to another system)


def test_callback(ch: Channels, engine: Engine) -> None:
    t0 = time.time()
    body = json.dumps({"sender": "case-system-7", "message": QUESTION}).encode()
    assert post(f"{ch.rasa}/webhooks/callback/webhook", body, {"Content-Type": "application/json"})[0] == 200
    got = [c.body for c in ch.fake.wait("/callback", t0)]
    answer = next(m["custom"] for m in got if m.get("custom"))
    assert answer["kind"] == "answer" and {m["recipient_id"] for m in got} == {"case-system-7"}
    assert [c["id"] for c in answer["citations"]] == [c["id"] for c in expected(engine, QUESTION)["citations"]]
    REPORT["callback"] = f"{len(got)} message(s) posted to the callback URL with the machine-readable payload"
