"""Answers users read: quoted passage, citation line per passage, disclaimer, paging, languages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import dialogue, answers, index, lang, safety
from bot.conversation import Context
from bot.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD_KEYS = {"kind", "lang", "text", "citations", "passages", "disclaimer", "buttons"}
CITATION_KEYS = {"id", "doc_id", "doc_title", "doc_symbol", "section", "paragraph", "citation"}


def test_english_answer_quotes_cites_and_disclaims(engine: Engine, idx: index.Index) -> None:
    a = answers.answer(engine, "What do the documents say about 3D-printed guns?").to_payload()
    assert PAYLOAD_KEYS <= set(a) and a["kind"] == "answer" and a["lang"] == "en"
    assert a["text"].startswith("Here is what the documents say:")
    assert len(a["passages"]) == 2 and len(a["citations"]) == 2
    assert CITATION_KEYS <= set(a["citations"][0])
    for c in a["citations"]:
        assert f"Source: {c['citation']}" in a["text"]
    first = a["citations"][0]
    assert first["doc_symbol"] == "A/CONF.234/11"
    assert "§II.C.3 Additive manufacturing" in first["citation"]
    assert a["disclaimer"] and a["text"].rstrip().endswith(a["disclaimer"])
    assert "not legal advice" in a["disclaimer"] and "2026" in a["disclaimer"]
    # English first: the unofficial translation is quoted, labelled, and its best sentence marked
    for p in a["passages"]:
        assert p["shown"] == "translation" and p["translation"] == "unofficial"
        assert p["text_en"] == idx.passage(p["id"]).text_en and p["text"] == idx.passage(p["id"]).text
        assert p["excerpt"] in p["text_en"]
    assert a["text"].count("(Unofficial translation of the Chinese original.)") == 2
    marked = re.findall(r"\*\*(.+?)\*\*", a["text"])
    assert marked and any(m in p["text_en"] for m in marked for p in a["passages"])
    assert not re.search(r"[\u4e00-\u9fff]", a["text"]), "the English reply quotes no Chinese"
    assert {b["payload"] for b in a["buttons"]} >= {"/more_results", "/show_original", '/feedback{"rating": "up"}'}


def test_chinese_answer_uses_chinese_templates(engine: Engine, idx: index.Index) -> None:
    a = answers.answer(engine, "人贩子是怎样利用加密货币转移非法收益的？").to_payload()
    assert a["lang"] == "zh" and a["text"].startswith("文件中的相关内容如下：")
    assert "出处：" in a["text"] and "段" in a["citations"][0]["citation"]
    assert "不构成法律意见" in a["disclaimer"]
    # Chinese readers get the original, unlabelled; the payload still carries the English text
    for p in a["passages"]:
        assert p["shown"] == "original" and p["translation"] == "" and p["excerpt"] in p["text"]
        assert p["text_en"]
    assert "translation" not in a["text"].lower() and "/show_original" not in {b["payload"] for b in a["buttons"]}


def test_show_original_gives_the_chinese_text_of_what_was_shown(engine: Engine, idx: index.Index) -> None:
    first = answers.answer(engine, "What do the documents say about 3D-printed guns?").to_payload()
    ctx = Context(lang="en", last_query=first["query"], shown=[p["id"] for p in first["passages"]])
    a = answers.original(engine, ctx).to_payload()
    assert a["kind"] == "answer" and a["text"].startswith("The original text (Chinese), as published:")
    assert [p["id"] for p in a["passages"]] == ctx.shown
    for p in a["passages"]:
        assert p["shown"] == "original" and p["excerpt"] == p["text"] == idx.passage(p["id"]).text
        assert p["text"] in a["text"].replace("> ", "")
    assert "Source: " in a["text"] and a["text"].endswith(a["disclaimer"])
    assert answers.original(engine, Context(lang="en")).to_payload()["kind"] == "info"


def test_quotes_are_corpus_text(engine: Engine, idx: index.Index) -> None:
    a = answers.answer(engine, "How do offenders groom children online?").to_payload()
    for p in a["passages"]:
        assert idx.passage(p["id"]).text == p["text"]
        assert p["excerpt"] in p["text_en"]


def test_long_paragraphs_are_trimmed_around_the_best_sentence(engine: Engine, idx: index.Index) -> None:
    a = answers.answer(engine, "根据洛卡德交换原理，侦查人员怎样追踪传播AI伪造裸照的嫌疑人？").to_payload()
    long = [p for p in a["passages"] if len(p["text"]) > 300]
    assert long, "the article's paragraphs are long"
    p = long[0]
    assert p["truncated"] and len(p["excerpt"]) < len(p["text"])
    assert any(h["text"] in p["excerpt"] for h in p["highlights"])
    assert "/show_source" in {b["payload"] for b in a["buttons"]}


def test_more_pages_through_the_results_and_ends_honestly(engine: Engine, idx: index.Index) -> None:
    first = answers.answer(engine, "cryptocurrency").to_payload()
    ctx = Context(lang="en", last_query=first["query"], offset=first["next_offset"])
    second = answers.more(engine, ctx).to_payload()
    assert second["kind"] == "answer" and second["text"].startswith("More from the documents (passages 3–4")
    assert not {p["id"] for p in first["passages"]} & {p["id"] for p in second["passages"]}
    ctx.offset = 50
    assert answers.more(engine, ctx).to_payload()["text"].startswith("That was everything")
    assert answers.more(engine, Context(lang="zh")).to_payload()["kind"] == "info"


def test_paragraph_and_its_sub_item_are_not_both_shown(engine: Engine, idx: index.Index) -> None:
    a = answers.answer(engine, "What should member states put into law about digital files for making firearms?").to_payload()
    ids = [p["id"] for p in a["passages"]]
    assert not ("a-conf-234-11:82" in ids and "a-conf-234-11:82-e" in ids)


def test_off_corpus_is_an_honest_no_answer_with_suggestions(engine: Engine, idx: index.Index) -> None:
    for q, lang in (("What is the capital of Australia?", "en"), ("今天上海的天气怎么样？", "zh")):
        a = answers.answer(engine, q).to_payload()
        assert a["kind"] == "no_answer" and a["lang"] == lang
        assert a["citations"] == [] and a["passages"] == []
        assert a["suggestions"] and len(a["buttons"]) == len(a["suggestions"])
        assert "Source" not in a["text"] and "出处" not in a["text"]


@pytest.mark.parametrize("text,expected", [
    ("show paragraph 26 of A/CONF.234/11", "a-conf-234-11:26"),
    ("A/CONF.234/11 第82(e)段", "a-conf-234-11:82-e"),
    ("open para 13 of the trafficking working group paper", "ctoc-trafficking-2021:13"),
])
def test_paragraphs_open_by_number(engine: Engine, idx: index.Index, text: str, expected: str) -> None:
    a = answers.paragraph(engine, text, lang.reply_lang(text)).to_payload()
    assert [p["id"] for p in a["passages"]] == [expected]
    p = a["passages"][0]
    assert p["excerpt"] == (p["text_en"] if p["shown"] == "translation" else p["text"])  # in full
    assert p["shown"] == ("original" if lang.reply_lang(text) == "zh" else "translation")


def test_paragraph_without_a_document_uses_the_last_one_shown_or_asks(engine: Engine, idx: index.Index) -> None:
    ctx = Context(lang="en", shown=["ctoc-trafficking-2021:32"])
    a = answers.paragraph(engine, "show paragraph 33", "en", ctx=ctx).to_payload()
    assert [p["id"] for p in a["passages"]] == ["ctoc-trafficking-2021:33"]
    ask = answers.paragraph(engine, "show paragraph 33", "en").to_payload()
    assert ask["kind"] == "info" and "Which document" in ask["text"]
    missing = answers.paragraph(engine, "paragraph 99 of A/CONF.234/11", "en").to_payload()
    assert "could not find paragraph 99" in missing["text"]


def test_full_paragraph_of_the_last_answer_with_footnotes(engine: Engine, idx: index.Index) -> None:
    ctx = Context(lang="en", shown=["ctoc-trafficking-2021:33"])
    a = answers.source(engine, ctx).to_payload()
    assert a["passages"][0]["text"] in a["text"].replace("> ", "").replace("**", "") or a["passages"][0]["excerpt"]
    assert "[42]" in a["text"]  # its footnote


def test_document_filter_reanswers_the_last_question(engine: Engine, idx: index.Index) -> None:
    ctx = Context(lang="en", last_query="How is cryptocurrency used to launder money?")
    reply, doc_id = answers.filter_reply(engine, "only in the trafficking working group paper", None, ctx)
    a = reply.to_payload()
    assert doc_id == "ctoc-trafficking-2021"
    assert a["kind"] == "answer" and {c["doc_id"] for c in a["citations"]} == {"ctoc-trafficking-2021"}
    cleared, none = answers.filter_reply(engine, "all documents again", None, ctx)
    assert none is None and cleared.kind == "answer"


def test_documents_and_topics(engine: Engine, idx: index.Index) -> None:
    d = answers.documents(engine, "en").to_payload()
    assert len(d["documents"]) == 5 and "A/CONF.234/11" in d["text"]
    t = answers.topics(engine, "zh").to_payload()
    assert t["kind"] == "info" and "3D打印枪支" in t["text"] and t["buttons"]


def test_non_questions_get_a_prompt_not_a_search(engine: Engine, idx: index.Index) -> None:
    for text in ("ok", "??", "👍🏽", "..."):
        assert dialogue.respond(engine, text, Context(lang="en")).to_payload()["kind"] == "info"
        # also in a conversation with a topic: "ok" is no follow-up question
        ctx = Context(lang="en", topic="What is PhotoDNA?", last_query="What is PhotoDNA?")
        assert dialogue.respond(engine, text, ctx).to_payload()["kind"] == "info"


def test_refusal_and_support_replies(small_engine: Engine) -> None:
    engine = small_engine
    r = safety.refusal(engine.texts, "en", "firearms").to_payload()
    assert r["kind"] == "refusal" and r["citations"] == []
    assert "3D-printed" in r["text"] and r["buttons"][0]["payload"].endswith("?")
    s = safety.support(engine.texts, "zh", "intimate_images").to_payload()
    assert s["kind"] == "support" and "110" in s["text"] and "StopNCII" in s["text"]
    assert any(x["id"] == "takeitdown" for x in s["resources"])


def test_cli_ask_returns_the_action_payload(engine: Engine, idx: index.Index) -> None:
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "What percentage of dark web weapons listings are firearms?"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["kind"] == "answer" and CITATION_KEYS <= set(payload["citations"][0])
    batch = subprocess.run([sys.executable, "-m", "bot", "ask", "--batch", "-"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300, input="What is PhotoDNA?\n明天会下雨吗？\n")
    kinds = [json.loads(line)["kind"] for line in batch.stdout.splitlines()]
    assert kinds == ["answer", "no_answer"]
