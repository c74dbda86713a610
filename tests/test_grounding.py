"""Grounding: every answer of the evaluation runs quotes corpus text and cites real paragraphs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bot import answers, evaluate, grounding, render, safety
from bot.conversation import Context
from bot.engine import Engine
from bot.reply import Reply

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "eval"


def _eval_messages() -> list[tuple[str, list[str]]]:
    """Every message of the evaluation runs: dev questions and all safety sets (with history)."""
    out = [(q["question"], []) for q in evaluate.load_questions(EVAL / "dev-questions.json")]
    for path in [EVAL / "safety.jsonl", *sorted(EVAL.glob("safety-redteam-*.jsonl"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                out.append((item["text"], item.get("history") or []))
    return out


def test_every_reply_of_the_evaluation_runs_is_grounded(engine: Engine) -> None:
    kinds: dict[str, int] = {}
    failures = []
    for text, history in _eval_messages():
        reply = safety.handle(engine, text, Context(), history=history)
        kinds[reply.kind] = kinds.get(reply.kind, 0) + 1
        found = grounding.problems(reply, engine)
        if found:
            failures.append((text[:60], found[:2]))
    assert not failures, failures[:5]
    assert kinds.get("answer", 0) > 300 and kinds.get("refusal", 0) > 300 and kinds.get("support", 0) > 100


def test_pages_full_paragraphs_and_paragraph_numbers_are_grounded(engine: Engine) -> None:
    ctx = Context(lang="en")
    first = answers.answer(engine, "How do traffickers use cryptocurrency?")
    ctx.last_query, ctx.offset, ctx.shown = "How do traffickers use cryptocurrency?", 2, [q.id for q in first.quotes]
    replies = [first, answers.more(engine, ctx), answers.source(engine, ctx),
               answers.paragraph(engine, "show paragraph 26 of A/CONF.234/11", "en"),
               answers.paragraph(engine, "A/CONF.234/11 第82段", "zh")]
    for reply in replies:
        assert reply.kind == "answer"
        assert grounding.problems(reply, engine) == []


def _answer(engine: Engine) -> Reply:
    """An English answer quoting translations (the small corpus: the Congress workshop report)."""
    reply = answers.answer(engine, "cryptocurrency darknet")
    assert reply.kind == "answer" and reply.quotes[0].shown == "translation"
    return reply


def test_the_check_catches_invented_text_wrong_ids_and_edited_quotes(small_engine: Engine) -> None:
    engine = small_engine
    good = _answer(engine)
    assert grounding.problems(good, engine) == []

    invented = dataclasses.replace(good, text=good.text.replace("\n\n", "\n\nMost 3D-printed guns explode.\n\n", 1))
    assert any("unsourced" in p for p in grounding.problems(invented, engine))

    q0 = good.quotes[0]
    fake = dataclasses.replace(q0.passage, id="congress-ws4-report:999")
    wrong_id = dataclasses.replace(good, quotes=[dataclasses.replace(q0, passage=fake), *good.quotes[1:]],
                                   citations=[dataclasses.replace(good.citations[0], id=fake.id), *good.citations[1:]])
    assert any("not in the corpus" in p for p in grounding.problems(wrong_id, engine))

    edited_passage = dataclasses.replace(q0.passage, text_en=q0.passage.text_en.replace(q0.excerpt[5:15], "legal", 1))
    edited = dataclasses.replace(good, quotes=[dataclasses.replace(q0, passage=edited_passage), *good.quotes[1:]])
    assert any("stored translation" in p for p in grounding.problems(edited, engine))

    no_disclaimer = dataclasses.replace(good, disclaimer="")
    assert any("disclaimer" in p for p in grounding.problems(no_disclaimer, engine))

    # the English text is the stored translation, and always labelled as unofficial
    relabelled = dataclasses.replace(good, quotes=[dataclasses.replace(q0, translation_note="Official translation."),
                                                   *good.quotes[1:]])
    relabelled.text = render.web_text(relabelled)
    assert any("not labelled as unofficial" in p for p in grounding.problems(relabelled, engine))
    unlabelled = dataclasses.replace(good, text=good.text.replace(f"({q0.translation_note})\n", "", 1))
    assert any("unsourced" in p for p in grounding.problems(unlabelled, engine))

    wrong_source = dataclasses.replace(good, quotes=[dataclasses.replace(q0, citation="A/RES/1 (invented), para. 1"),
                                                     *good.quotes[1:]])
    wrong_source.text = render.web_text(wrong_source)
    assert any("source line" in p for p in grounding.problems(wrong_source, engine))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_refusals_and_referrals_cite_nothing(small_engine: Engine, lang: str) -> None:
    for reply in (safety.refusal(small_engine.texts, lang, "firearms"),
                  safety.support(small_engine.texts, lang, "child_exploitation")):
        assert reply.citations == [] and reply.quotes == []
        assert grounding.problems(reply, small_engine) == []
