"""Search stage: candidates from every ranker, fused, with a confidence that turns into
``no_answer`` below the threshold chosen on the question sets.

``Searcher.search`` returns a ``SearchResult`` of typed ``Hit``s: the passage, its fused score,
every ranker's raw score and which rankers found it, and the best sentence(s) as spans of the
original and of the English reading. Citations and reply text are made later, from the hits
(``bot/answers.py``); ``SearchResult.to_dict`` is the CLI's JSON form.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from bot import cite, config, evidence, fusion, language, rankers as rankers_mod, translations
from bot.corpus import Passage
from bot.fusion import Candidate
from bot.index import Index
from bot.query import EmptyQuery, Query, prepare  # noqa: F401  (EmptyQuery: part of this stage's API)


@dataclass(frozen=True)
class Span:
    """A highlighted sentence: character offsets into the text it was found in."""

    start: int
    end: int
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text, "score": self.score}


@dataclass(frozen=True)
class Hit:
    """One passage the search returns."""

    passage: Passage
    row: int
    score: float                                     # fused score
    signals: dict[str, float]                        # every ranker's raw score and rank
    found_by: tuple[str, ...]                        # listed rankers that had it in their top list
    highlights: tuple[Span, ...] = ()                # best sentence(s) of the original
    highlights_en: tuple[Span, ...] = ()             # ... of the English reading
    topics: tuple[str, ...] = ()


@dataclass
class SearchResult:
    """The search's answer to one query."""

    query: Query
    status: str                                      # ok | no_answer
    confidence: float
    notice: str = ""
    hits: list[Hit] = field(default_factory=list)
    # declined for a missing fact (a year, figure, kind of body) although the closest passage is
    # on the question's subject: that passage, so the reply can say what the documents do give
    near: Hit | None = None

    @property
    def topics(self) -> list[str]:
        return self.query.expansion.topics

    def to_dict(self, idx: Index) -> dict[str, Any]:
        """The JSON the CLI prints (``python -m bot search --json``)."""
        lang = "zh" if self.query.lang == "zh" else "en"
        results = []
        for h in self.hits:
            p = h.passage
            meta = idx.catalog.meta(p.doc_id)
            notes = [{"id": n.id, "number": cite.note_label(n.id), "text": n.text, "text_en": n.text_en}
                     for n in idx.footnotes(p)]
            results.append({
                "id": p.id, "doc_id": p.doc_id, "doc_title": meta.get("title", ""),
                "doc_title_en": meta.get("title_en", ""), "doc_symbol": meta.get("symbol", ""),
                "section": cite.section_label(p.section, lang), "section_path": p.section, "paragraph": p.label,
                "kind": p.kind, "page": p.page,
                "citation": idx.citation(p, lang),
                "text": p.text, "text_en": p.text_en, "score": round(float(h.score), 4),
                "highlights": [s.to_dict() for s in h.highlights],
                "highlights_en": [s.to_dict() for s in h.highlights_en],
                "footnotes": notes, "footnote_offsets": p.footnote_offsets, "topics": list(h.topics),
            })
        return {"query": self.query.text, "lang": self.query.lang, "status": self.status,
                "confidence": round(self.confidence, 4), "notice": self.notice, "topics": self.topics,
                "results": results}


@dataclass
class Ranked:
    """The fused candidates of a query and the confidence that the documents answer it."""

    candidates: list[Candidate]
    confidence: float


Encode = Callable[[int, str], np.ndarray]   # (model number, text) → query vector(s)


class Searcher:
    """Hybrid search over one index with the configured rankers and the fusion model."""

    def __init__(self, idx: Index, settings: config.Settings, glossary: language.Glossary, encode: Encode,
                 model: fusion.Model | None) -> None:
        self.idx = idx
        self.settings = settings
        self.glossary = glossary
        self.encode = encode
        self.model = model
        self.rankers = rankers_mod.configured(settings)
        self.features = fusion.feature_names(self.rankers)

    # ---- the stages ------------------------------------------------------------------

    def prepare(self, text: Any) -> Query:
        return prepare(text, self.settings, self.glossary, self.idx.catalog)

    def context(self, q: Query, allowed: set[int] | None = None,
                settings: config.Settings | None = None) -> rankers_mod.SearchContext:
        settings = settings or self.settings
        n = len(self.idx.rows)
        depth = min(n, settings.candidates)
        vectors: dict[int, np.ndarray] = {}

        def vector(model: int) -> np.ndarray:
            if model not in vectors:
                vectors[model] = self.encode(model, q.dense_text)
            return vectors[model]

        return rankers_mod.SearchContext(q, self.idx, settings, vector, allowed, depth,
                                         depth if allowed is None else n)

    def retrieve(self, q: Query, allowed: set[int] | None = None, settings: config.Settings | None = None,
                 learned: bool = True, ctx: rankers_mod.SearchContext | None = None) -> list[Candidate]:
        """Candidates from every listed ranker, scored exactly on every signal, fused and sorted.

        ``learned=False`` (or no trained model) fuses by weighted reciprocal rank."""
        settings = settings or self.settings
        ctx = ctx or self.context(q, allowed, settings)
        if not self.idx.rows:
            return []
        model = self.model if learned else None
        active = [r for r in self.rankers if r.active(ctx)]
        rankings = {r.name: r.run(ctx) for r in active}
        rows: set[int] = set()
        for ranking in rankings.values():
            rows.update(ranking.ranks)
        if not rows:
            return []
        row_list = sorted(rows)
        exact = {name: ranking.exact(row_list) for name, ranking in rankings.items()}
        named = q.doc_refs
        missing = ctx.depth + 40
        shift = model.imputation() if model else {}
        asked = evidence.Asked.of(q.text)
        searched = {name: reading for name, reading in self.idx.readings.items()
                    if name != "original" and ctx.reading(name) is not None}
        ranker_readings = {r.name: ctx.reading(r.reading) for r in self.rankers}
        # every signal as a column over the candidate rows, then one dict per candidate
        rows_at = np.array(row_list, np.int64)
        n = len(row_list)
        cols: dict[str, np.ndarray] = {}
        for name, reading in searched.items():
            cols[f"has_{name}"] = reading.has[rows_at].astype(np.float64)
        for r in self.rankers:
            reading = ranker_readings[r.name]
            has = reading.has[rows_at] if reading is not None else np.zeros(n, bool)
            ranking = rankings.get(r.name)
            own_rank = (np.array([ranking.ranks.get(row, missing) for row in row_list], np.int64)
                        if ranking is not None else np.full(n, missing, np.int64))
            value, rank = np.zeros(n, np.float64), own_rank
            if r.name in exact:
                value = np.asarray(exact[r.name], np.float64)
            else:
                has = np.zeros(n, bool)
            if r.fallback is not None and not has.all():
                # a row without this reading (or a query it is not searched for) takes its
                # counterpart's value, shifted by the mean gap seen in training when searched
                base = rankers_mod.RANKERS[r.fallback]
                gap = shift.get(r.raw_key, 0.0) if reading is not None else 0.0
                fill = cols[base.raw_key] + gap
                if r.kind == "lexical":
                    fill = np.maximum(0.0, fill)
                value = np.where(has, value, fill)
                rank = np.where(has, rank, cols[f"rank_{base.name}"])
            else:
                value, rank = np.where(has, value, 0.0), np.where(has, rank, own_rank)
            cols[r.raw_key] = value
            cols[f"rank_{r.name}"] = rank
        keys = list(cols)
        columns = [cols[key].tolist() for key in keys]
        cands = []
        for k, row in enumerate(row_list):
            c = Candidate(row)
            c.ranks = {name: ranking.ranks[row] for name, ranking in rankings.items() if row in ranking.ranks}
            raw = c.raw
            raw.update(zip(keys, (column[k] for column in columns)))
            p = self.idx.row_passage(row)
            raw["has_children"] = 1.0 if p.children else 0.0
            raw["length"] = float(len(p.text))
            raw["doc_named"] = 1.0 if p.doc_id in named else 0.0
            raw["kind_note"] = 1.0 if p.kind in ("footnote", "reference") else 0.0
            raw["kind_matter"] = 1.0 if p.kind in ("front", "back", "credits", "keywords") else 0.0
            raw["kind_caption"] = 1.0 if p.kind == "caption" else 0.0
            raw.update(asked.matches(p.text, p.text_en))
            cands.append(c)
        if model:
            x = fusion.candidate_features([c.raw for c in cands], q.zh, self.rankers, model.ranker.names)
            for c, v in zip(cands, model.ranker.decision(x)):
                c.fused = float(v)
        else:
            fusion.rrf(cands, settings.rrf_weights, q.zh, settings.rrf_k, settings.doc_boost)
        return sorted(cands, key=lambda c: -c.fused)

    def rank(self, q: Query, allowed: set[int] | None = None, settings: config.Settings | None = None,
             learned: bool = True, ctx: rankers_mod.SearchContext | None = None) -> Ranked:
        """The candidates and the confidence, as the search answers."""
        cands = self.retrieve(q, allowed, settings, learned, ctx)
        return Ranked(cands, self.confidence(q, cands, learned))

    def english(self, q: Query, settings: config.Settings | None = None) -> bool:
        """Whether the English reading is searched for this query."""
        return self.context(q, settings=settings).reading("english") is not None

    def coverage(self, q: Query, top: Candidate) -> dict[str, float]:
        return evidence.coverage(q, top.row, self.idx, self.english(q),
                                 self.model.imputation() if self.model else {})

    def confidence(self, q: Query, cands: list[Candidate], learned: bool = True) -> float:
        """Probability (0–1) that the documents answer the query (see docs/retrieval.md)."""
        if not cands:
            return 0.0
        model = self.model if learned else None
        if model:
            cover = self.coverage(q, cands[0])
            x = fusion.query_features([c.raw for c in cands[:10]], cands[0].fused, cover, q.zh,
                                      model.confidence.names)
            return fusion.scaled_confidence(float(model.confidence.probability(x[None, :])[0]), cover, model.info)
        top = cands[0]
        semantic = max(top.raw["dense_cos"], top.raw["sentence_cos"])
        lexical = top.raw["bm25"] / (top.raw["bm25"] + 10.0)
        z = 12.0 * (semantic - 0.35) + 3.0 * lexical
        return 1.0 / (1.0 + math.exp(-z))

    def threshold(self) -> float:
        """Confidence below which the answer is "not in the documents" (chosen on the dev set)."""
        if self.settings.min_confidence is not None:
            return self.settings.min_confidence
        if self.model is not None and "threshold" in self.model.info:
            return float(self.model.info["threshold"])
        return 0.5

    def highlights(self, q: Query, ctx: rankers_mod.SearchContext, row: int, n: int = 1,
                   reading_name: str = "original") -> tuple[Span, ...]:
        """The passage's best sentence(s) for the query, as character spans of the reading's
        text (empty when the row has no such reading)."""
        reading = self.idx.readings.get(reading_name)
        if reading is None:
            return ()
        start, count = reading.sentence_span(row)
        if count == 0:
            return ()
        en = reading_name == "english"
        p = self.idx.row_passage(row)
        text = reading.source_text(p)
        sims = (reading.sentence_matrix(0)[start:start + count] @ ctx.vector(0).T).max(axis=1)
        if en:
            terms = set(q.en_terms)
        else:
            terms = {language.normalise(t) for t in set(q.expansion.zh_terms) | {t for t in q.tokens if len(t) > 1}}
        wants = evidence.answer_type(q.text)
        scored = []
        for k in range(count):
            _, s, e = (int(x) for x in reading.sentence_rows[start + k])
            if en:
                overlap = len(terms & set(translations.en_tokens(text[s:e])))
            else:
                sentence = language.normalise(text[s:e])
                overlap = sum(1 for t in terms if t in sentence)
            bonus = 0.05 * min(overlap, 4)
            if wants == "number" and re.search(r"\d", text[s:e]):
                bonus += 0.1 + (0.05 if "%" in text[s:e] or "％" in text[s:e] else 0.0)
            elif wants == "date" and re.search(r"\d{4}\s*年|\b(19|20)\d{2}\b", text[s:e]):
                bonus += 0.1
            scored.append((float(sims[k]) + bonus, s, e))
        scored.sort(key=lambda x: -x[0])
        best = sorted(scored[:n], key=lambda x: x[1])
        return tuple(Span(s, e, text[s:e], round(sc, 4)) for sc, s, e in best)

    def near_miss(self, q: Query, ctx: rankers_mod.SearchContext, top: Candidate) -> Hit | None:
        """The closest passage of a declined question when what is missing is the asked-for fact
        (a date, figure, kind of institution) and not the subject: no unknown names, and most of
        the question's words are in the passage (``settings.near_coverage``)."""
        cover = self.coverage(q, top)
        if not (cover["fact_missing"] or cover["type_missing"]):
            return None
        if cover["unknown_names"] or cover["zh_unknown_proper"]:
            return None
        if max(cover["top_coverage"], cover["en_top_coverage"]) < self.settings.near_coverage:
            return None
        p = self.idx.row_passage(top.row)
        hl = self.highlights(q, ctx, top.row, 1)
        hl_en = self.highlights(q, ctx, top.row, 1, "english") if p.text_en else ()
        return Hit(p, top.row, top.fused, dict(top.raw), tuple(top.ranks), hl, hl_en, tuple(self.idx.topics[top.row]))

    def rows_of(self, doc: str | None) -> tuple[set[int] | None, str]:
        """The rows of the document ``doc`` refers to, and a notice when it refers to none."""
        if not doc:
            return None, ""
        doc_id = self.idx.catalog.resolve(doc)
        if doc_id is None:
            return None, f"unknown document {doc!r}; searched all documents"
        return {r for r, pi in enumerate(self.idx.rows) if self.idx.passages[pi].doc_id == doc_id}, ""

    def search(self, query: Any, top_k: int | None = None, doc: str | None = None,
               prefer: frozenset[str] = frozenset()) -> SearchResult:
        """Search the corpus. Raises ``EmptyQuery`` for an empty query; ``doc`` filters by document;
        ``prefer``: documents the conversation just discussed, weighed as if the question named them."""
        settings = self.settings
        q = self.prepare(query)
        if prefer and not q.doc_refs:
            q = dataclasses.replace(q, doc_refs=frozenset(prefer))
        top_k = max(1, min(int(top_k or settings.top_k), 50))
        allowed, notice = self.rows_of(doc)
        if q.truncated:
            notice = (notice + "; " if notice else "") + f"query truncated to {settings.max_query_chars} characters"
        ctx = self.context(q, allowed)
        ranked = self.rank(q, allowed, ctx=ctx)
        cands = ranked.candidates
        result = SearchResult(q, "no_answer", 0.0, notice)
        if not cands:
            return result
        result.confidence = ranked.confidence
        if result.confidence < self.threshold():
            result.near = self.near_miss(q, ctx, cands[0])
            return result
        result.status = "ok"
        for c in cands[:top_k]:
            p = self.idx.row_passage(c.row)
            hl = self.highlights(q, ctx, c.row, settings.highlight_sentences)
            hl_en = self.highlights(q, ctx, c.row, settings.highlight_sentences, "english") if p.text_en else ()
            result.hits.append(Hit(p, c.row, c.fused, dict(c.raw), tuple(c.ranks), hl, hl_en,
                                   tuple(self.idx.topics[c.row])))
        return result


def passages_of(hits: Sequence[Hit]) -> list[Passage]:
    return [h.passage for h in hits]
