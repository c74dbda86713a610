"""The e5 gate (``Settings.extra_gate``): the search embeds the query with the extra model only
when the cheaper signals leave the answer open, and with the gate off (the default) it always
does. Behaviour only, never timing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bot import config, rankers
from bot.engine import Engine
from bot.fusion import Candidate
from bot.search import Searcher


def test_every_extra_model_ranker_has_a_primary_model_proxy_listed_before_it() -> None:
    order = list(rankers.RANKERS)
    for r in rankers.RANKERS.values():
        if r.extra_model:
            assert r.proxy is not None
            proxy = rankers.RANKERS[r.proxy]
            assert not proxy.extra_model and proxy.reading == r.reading
            assert order.index(r.proxy) < order.index(r.name)   # its value exists when r's is imputed


def _cands(firsts: int, lead: float) -> list[Candidate]:
    top = Candidate(0, ranks={f"r{k}": 1 for k in range(firsts)} | {"other": 3}, fused=2.0 + lead)
    return [top, Candidate(1, ranks={"other": 1}, fused=2.0)]


def test_a_ranking_is_settled_only_when_the_signals_agree_lead_and_are_confident() -> None:
    s = config.Settings()
    assert Searcher.settled(_cands(s.extra_gate_agree, s.extra_gate_margin), 0.9, s)
    assert not Searcher.settled(_cands(s.extra_gate_agree - 1, s.extra_gate_margin + 5), 0.9, s)   # disagree
    assert not Searcher.settled(_cands(s.extra_gate_agree + 3, s.extra_gate_margin / 2), 0.9, s)   # close call
    assert not Searcher.settled(_cands(s.extra_gate_agree, s.extra_gate_margin), s.extra_gate_confidence / 2, s)
    assert not Searcher.settled([], 1.0, s)


class Counting:
    """The engine's query encoder, counting calls per model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls = [0, 0]

    def __call__(self, model: int, text: str) -> np.ndarray:
        self.calls[model] += 1
        return self.engine.encode(model, text)


def _searcher(engine: Engine, gate: bool) -> tuple[Searcher, Counting]:
    counting = Counting(engine)
    settings = dataclasses.replace(engine.settings, extra_gate=gate)
    return Searcher(engine.index, settings, engine.glossary, counting, engine.model), counting


@pytest.mark.parametrize("question, runs_e5", [
    # the primary model's passage and sentence rankings, BM25 and the question reading all put
    # the same paragraph first, far ahead: e5 is not needed
    ("What is PhotoDNA?", False),
    ("人贩子如何通过手机远程监视和控制受害人？", False),
    # the cheaper rankings disagree on the first paragraph, or it barely leads: e5 decides
    ("How are criminals using cryptocurrency?", True),
    ("What is the capital of Australia?", True),
])
def test_the_gate_runs_e5_only_where_the_cheaper_signals_leave_the_answer_open(
        engine: Engine, question: str, runs_e5: bool) -> None:
    searcher, counting = _searcher(engine, gate=True)
    ranked = searcher.rank(searcher.prepare(question))
    assert ranked.extra is runs_e5
    assert counting.calls[1] == (1 if runs_e5 else 0)
    assert counting.calls[0] == 1          # the primary model's vector: once, shared by its rankers
    if not runs_e5:                        # the answer the gate keeps is the one e5 would confirm
        full, _ = _searcher(engine, gate=False)
        assert ranked.candidates[0].row == full.rank(full.prepare(question)).candidates[0].row


def test_without_the_gate_every_search_embeds_with_e5(engine: Engine) -> None:
    searcher, counting = _searcher(engine, gate=False)
    ranked = searcher.rank(searcher.prepare("What is PhotoDNA?"))
    assert ranked.extra and counting.calls == [1, 1]
    assert all("extra_cos" in c.raw and "q_extra_cos" in c.raw for c in ranked.candidates)
