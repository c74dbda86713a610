"""Retrieval quality on the dev question set: a regression guard, not the measurement itself
(``make eval`` prints the full table; docs/retrieval.md records it)."""

from __future__ import annotations

import pytest

from bot import evaluate
from bot.engine import Engine


@pytest.fixture(scope="module")
def report(engine: Engine) -> dict:
    return evaluate.evaluate(engine, systems=("full",))


def test_the_right_paragraph_is_in_the_top_five(report: dict) -> None:
    langs = report["systems"]["full"]["languages"]
    assert langs["en"]["recall@5"] >= 0.92
    assert langs["zh"]["recall@5"] >= 0.92
    assert langs["all"]["mrr"] >= 0.78


def test_off_corpus_questions_are_declined_and_answerable_ones_are_not(report: dict) -> None:
    full = report["systems"]["full"]
    assert full["off_corpus_declined"] >= 0.6
    assert full["answerable_declined"] <= 0.03


def test_hybrid_beats_each_single_ranker_and_the_chunk_baseline(engine: Engine) -> None:
    rep = evaluate.evaluate(engine, systems=("full", "dense", "bm25", "baseline"))
    mrr = {name: res["languages"]["all"]["mrr"] for name, res in rep["systems"].items()}
    # the margin: the hybrid clearly ahead of its best part (BM25 over the original and the question lists)
    assert mrr["full"] > max(mrr["dense"], mrr["bm25"], mrr["baseline"]) + 0.04
