"""Rankers: each maps a query to scores over the searchable rows, through one reading.

A ranker gives two things for a query (``Ranking``): its own top list (row → rank, over the
rows the search may return) and, for any candidate row the fusion looks at, its exact score.
Three kinds cover every signal the search uses:

* ``Dense``: cosine similarity of the query and a row's vector (one embedding model),
* ``Sentences``: the similarity of the row's best sentence (primary model),
* ``Lexical``: BM25 of the query's terms of one kind (words, character bigrams, English stems).

``RANKERS`` names every ranker the fusion knows, each bound to a reading and, for dense ones, a
model; ``Settings.rankers`` says which run. Adding a signal is one line there (and a class here
if it is a new kind); ``bot/fusion.py`` derives its features from the declaration.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

import numpy as np

from bot import config, readings as readings_mod

if TYPE_CHECKING:  # pragma: no cover - typing only
    from bot.index import Index
    from bot.query import Query


@dataclass
class SearchContext:
    """One query against one index: its vectors per model, the rows it may return, depths."""

    query: "Query"
    index: "Index"
    settings: config.Settings
    vector: Callable[[int], np.ndarray]          # model number → query vector(s), shape (k, dim)
    allowed: set[int] | None = None              # rows a document filter leaves (None: all)
    depth: int = 50                              # candidates per ranker
    search_depth: int = 50                       # how deep to look before filtering
    def allows(self, row: int) -> bool:
        return self.allowed is None or row in self.allowed

    def reading(self, name: str) -> readings_mod.Reading | None:
        """The reading if the index has it and it is searched for this query's language."""
        reading = self.index.readings.get(name)
        if reading is None or not reading.available:
            return None
        langs = self.settings.reading_langs.get(name)
        return reading if langs is None or self.query.lang in langs else None


def top(scores: dict[int, float], limit: int) -> dict[int, int]:
    """Rows by descending score (ties in insertion order) → 1-based rank, the first ``limit``."""
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])[:limit]
    return {row: r for r, (row, _) in enumerate(ordered, start=1)}


@dataclass
class Ranking:
    """What one ranker says about a query."""

    ranks: dict[int, int]                        # its top rows → rank (empty: it keeps no list)
    exact: Callable[[list[int]], np.ndarray]     # exact scores of candidate rows


@dataclass(frozen=True)
class Ranker:
    """A named signal over one reading (see the module docstring).

    ``features``: how the fusion turns the score into features: ``cos`` (the similarity),
    ``gap`` (to the best candidate), ``rel`` (share of the best score), ``abs`` (score/(score+10)),
    ``rr`` (reciprocal rank). ``fallback``: the ranker whose value a row without this reading
    takes (shifted by the mean gap measured in training)."""

    name: str
    reading: str
    features: tuple[str, ...]
    listed: bool = True            # keeps a top list (candidates come from listed rankers only)
    fallback: str | None = None
    kind: ClassVar[str] = ""

    @property
    def extra_model(self) -> bool:
        """Whether it needs an extra embedding model's query vector (model 1 and up)."""
        return int(getattr(self, "model", 0)) > 0

    @functools.cached_property
    def raw_key(self) -> str:
        """The name of its score among a candidate's raw signals."""
        return f"{self.name}_cos" if self.kind in ("dense", "sentences") else self.name

    def active(self, ctx: SearchContext) -> bool:
        return ctx.reading(self.reading) is not None

    def run(self, ctx: SearchContext) -> Ranking:
        raise NotImplementedError


@dataclass(frozen=True)
class Dense(Ranker):
    """Cosine similarity of the query and each row's vector from model ``model``. The primary
    model (0) may embed a query as several vectors; a row scores its best match."""

    model: int = 0
    kind: ClassVar[str] = "dense"

    def active(self, ctx: SearchContext) -> bool:
        return super().active(ctx) and self.model < len(ctx.index.models)

    def run(self, ctx: SearchContext) -> Ranking:
        reading = ctx.reading(self.reading)
        assert reading is not None
        qv = ctx.vector(self.model)
        scores, ids = reading.passage_vectors[self.model].search(qv, ctx.search_depth)
        best: dict[int, float] = {}
        for qi in range(len(qv)):
            for r, v in zip(ids[qi], scores[qi]):
                row = int(r)
                if row >= 0 and reading.has[row] and ctx.allows(row) and v > best.get(row, -2.0):
                    best[row] = float(v)
        matrix = reading.matrix(self.model)

        def exact(rows: list[int]) -> np.ndarray:
            if self.model == 0:
                return (matrix[rows] @ qv.T).max(axis=1)
            return matrix[rows] @ qv[0]

        return Ranking(top(best, ctx.depth) if self.listed else {}, exact)


@dataclass(frozen=True)
class Sentences(Ranker):
    """The similarity of each row's best sentence with model ``model`` (for the questions
    reading: its best-matching question)."""

    model: int = 0
    kind: ClassVar[str] = "sentences"

    def active(self, ctx: SearchContext) -> bool:
        reading = ctx.reading(self.reading)
        return reading is not None and self.model < min(len(ctx.index.models), len(reading.sentence_vectors))

    def run(self, ctx: SearchContext) -> Ranking:
        reading = ctx.reading(self.reading)
        assert reading is not None
        qv = ctx.vector(self.model)
        best: dict[int, float] = {}
        vectors = reading.sentence_vectors[self.model]
        n_sent = vectors.ntotal
        if self.listed and n_sent:
            s_scores, s_ids = vectors.search(qv, min(n_sent, ctx.search_depth * 4))
            for sid, v in zip(s_ids.ravel(), s_scores.ravel()):
                if sid < 0:
                    continue
                row = int(reading.sentence_rows[sid, 0])
                if ctx.allows(row) and v > best.get(row, -2.0):
                    best[row] = float(v)
        matrix = reading.sentence_matrix(self.model)

        def exact(rows: list[int]) -> np.ndarray:
            # one small product per row: a single product over all candidates' sentences is
            # faster alone but wakes OpenBLAS's threads, which under load cost the action server
            # 7 ms more CPU a message (docs/performance.md, issue #22)
            out = np.zeros(len(rows), np.float64)
            for k, row in enumerate(rows):
                start, count = reading.sentence_span(row)
                if count:
                    out[k] = float((matrix[start:start + count] @ qv.T).max(axis=1).max())
            return out

        return Ranking(top(best, ctx.depth) if self.listed else {}, exact)


@dataclass(frozen=True)
class Lexical(Ranker):
    """BM25 of the query's ``terms`` (an attribute of ``Query``) over lexicon ``lexicon``."""

    lexicon: str = "tokens"
    terms: str = "terms"
    kind: ClassVar[str] = "lexical"

    def run(self, ctx: SearchContext) -> Ranking:
        reading = ctx.reading(self.reading)
        assert reading is not None
        index = reading.lexical.get(self.lexicon)
        terms: dict[str, float] = getattr(ctx.query, self.terms)
        n = len(ctx.index.rows)
        scores = index.scores(terms) if (index is not None and terms) else np.zeros(n, np.float32)
        ranks: dict[int, int] = {}
        if self.listed and index is not None:
            order = np.argsort(-scores)[:ctx.search_depth]
            ranks = top({int(r): float(scores[r]) for r in order if scores[r] > 0 and ctx.allows(int(r))}, ctx.depth)
        return Ranking(ranks, lambda rows: scores[rows])


# Every ranker the search knows. The order is the order of the reciprocal-rank sums.
RANKERS: dict[str, Ranker] = {r.name: r for r in (
    Dense("dense", "original", ("cos", "gap", "rr"), model=0),
    Sentences("sentence", "original", ("cos", "gap", "rr")),
    Lexical("bm25", "original", ("rel", "abs", "rr"), lexicon="tokens", terms="terms"),
    Lexical("bigram", "original", ("rel", "rr"), lexicon="bigrams", terms="bigram_terms"),
    Dense("extra", "original", ("cos", "gap", "rr"), model=1),
    Dense("en_dense", "english", ("cos", "gap", "rr"), fallback="dense", model=0),
    Lexical("en_bm25", "english", ("rel", "abs", "rr"), fallback="bm25", lexicon="tokens", terms="en_terms"),
    Dense("en_extra", "english", ("cos", "gap", "rr"), fallback="extra", model=1),
    Sentences("en_sentence", "english", ("cos", "gap"), listed=False, fallback="sentence"),
    Sentences("q_sentence", "questions", ("cos", "gap", "rr"), fallback="sentence", model=0),
    Sentences("q_extra", "questions", ("cos", "gap", "rr"), fallback="extra", model=1),
    Lexical("q_bm25", "questions", ("rel", "abs", "rr"), fallback="bm25", lexicon="tokens", terms="mixed_terms"),
)}


def configured(settings: config.Settings) -> list[Ranker]:
    """The rankers ``settings`` turns on, in ``RANKERS`` order."""
    unknown = set(settings.rankers) - set(RANKERS)
    if unknown:
        raise ValueError(f"unknown rankers in settings: {', '.join(sorted(unknown))}")
    return [r for name, r in RANKERS.items() if name in settings.rankers]
