"""Grounding: every answer of the evaluation runs quotes corpus text and cites real paragraphs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bot import answers, evaluate, grounding, index, safety

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


def test_every_reply_of_the_evaluation_runs_is_grounded(idx: index.Index) -> None:
    kinds: dict[str, int] = {}
    failures = []
    for text, history in _eval_messages():
        reply = safety.handle(text, answers.Context(), history=history, idx=idx)
        kinds[reply["kind"]] = kinds.get(reply["kind"], 0) + 1
        found = grounding.problems(reply, idx)
        if found:
            failures.append((text[:60], found[:2]))
    assert not failures, failures[:5]
    assert kinds.get("answer", 0) > 300 and kinds.get("refusal", 0) > 300 and kinds.get("support", 0) > 100


def test_pages_full_paragraphs_and_paragraph_numbers_are_grounded(idx: index.Index) -> None:
    ctx = answers.Context(lang="en")
    first = answers.answer("How do traffickers use cryptocurrency?", idx=idx)
    ctx.last_query, ctx.offset, ctx.shown = "How do traffickers use cryptocurrency?", 2, [p["id"] for p in first["passages"]]
    replies = [first, answers.more(ctx, idx=idx), answers.source(ctx, idx=idx),
               answers.paragraph("show paragraph 26 of A/CONF.234/11", "en", idx=idx),
               answers.paragraph("A/CONF.234/11 第82段", "zh", idx=idx)]
    for reply in replies:
        assert reply["kind"] == "answer"
        assert grounding.problems(reply, idx) == []


def test_the_check_catches_invented_text_wrong_ids_and_edited_quotes(idx: index.Index) -> None:
    good = answers.answer("What do the documents say about 3D-printed guns?", idx=idx)
    assert grounding.problems(good, idx) == []

    invented = copy.deepcopy(good)
    invented["text"] = invented["text"].replace("\n\n", "\n\nMost 3D-printed guns explode on first use.\n\n", 1)
    assert any("unsourced" in p for p in grounding.problems(invented, idx))

    wrong_id = copy.deepcopy(good)
    wrong_id["citations"][0]["id"] = wrong_id["passages"][0]["id"] = "a-conf-234-11:999"
    assert any("not in the corpus" in p for p in grounding.problems(wrong_id, idx))

    edited = copy.deepcopy(good)
    excerpt = edited["passages"][0]["excerpt"]
    edited["text"] = edited["text"].replace(excerpt[5:15], "3D打印枪支是合法的", 1)
    assert grounding.problems(edited, idx)

    no_disclaimer = copy.deepcopy(good)
    no_disclaimer["text"] = no_disclaimer["text"][: -len(no_disclaimer["disclaimer"])]
    assert grounding.problems(no_disclaimer, idx)

    # the English text is the stored translation, and always labelled as unofficial
    unlabelled = copy.deepcopy(good)
    unlabelled["text"] = unlabelled["text"].replace("(Unofficial translation of the Chinese original.)\n", "", 1)
    assert any("translation note" in p for p in grounding.problems(unlabelled, idx))
    relabelled = copy.deepcopy(good)
    relabelled["passages"][0]["translation_note"] = "Official translation."
    assert any("not labelled as unofficial" in p for p in grounding.problems(relabelled, idx))
    retranslated = copy.deepcopy(good)
    retranslated["passages"][0]["text_en"] = "3D-printed guns are legal everywhere."
    assert any("stored translation" in p for p in grounding.problems(retranslated, idx))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_refusals_and_referrals_cite_nothing(lang: str) -> None:
    for reply in (safety.refusal(lang, "firearms"), safety.support(lang, "child_exploitation")):
        assert reply["citations"] == [] and reply["passages"] == []
        assert grounding.problems(reply) == []
