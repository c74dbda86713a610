"""Search stage: hybrid retrieval (dense passages + dense sentences + BM25), fused, with a
confidence that turns into ``no_answer`` below the threshold chosen on the dev set.

``search()`` returns the JSON-ready dict the CLI prints and the Rasa action consumes::

    {"query", "lang", "status": "ok"|"no_answer", "confidence", "notice",
     "results": [{"id", "doc_id", "doc_title", "doc_symbol", "section", "paragraph",
                  "citation", "text", "text_en", "score", "highlights", "highlights_en",
                  "footnotes", ...}]}

``text_en`` is the passage's unofficial English translation ("" when its document has none).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

import numpy as np

from bot import cite, config, index as index_mod, language, ranker, translations
from bot.corpus import Passage


class EmptyQuery(ValueError):
    """The query has no searchable content."""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]{0,200}>")


@dataclass
class Query:
    """A cleaned query with its language, glossary expansion and BM25 tokens."""

    raw: str
    text: str
    lang: str
    truncated: bool
    expansion: language.Expansion
    terms: dict[str, float]
    dense_text: str
    content_words: list[str] = field(default_factory=list)   # non-stopword query words
    uncovered_en: float = 0.0    # share of English content words no glossary term explains
    en_terms: dict[str, float] = field(default_factory=dict)  # English stems, for the English reading
    # words the glossary maps onto the documents' terms: everyday Chinese aliases (蛇头) and the
    # stems of matched English variants ("cops" → police); none of them counts as unknown
    glossary_words: frozenset[str] = frozenset()

    @property
    def tokens(self) -> list[str]:
        return list(self.terms)


def clean_query(text: Any, settings: config.Settings) -> tuple[str, str, bool]:
    """``(raw, clean, truncated)``: control characters and tags removed, length bounded."""
    if text is None:
        raise EmptyQuery("empty query")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    raw = str(text)
    clean = _CONTROL.sub(" ", raw).replace("\ufffd", " ")
    clean = _TAG.sub(" ", clean)
    clean = re.sub(r"\s+", " ", clean).strip()
    truncated = len(clean) > settings.max_query_chars
    if truncated:
        clean = clean[: settings.max_query_chars]
    if not re.search(r"\w", clean):
        raise EmptyQuery("empty query")
    return raw, clean, truncated


def prepare(text: Any, settings: config.Settings | None = None) -> Query:
    """Clean, bound and analyse a query. Raises ``EmptyQuery`` when nothing is left."""
    settings = settings or config.settings()
    raw, clean, truncated = clean_query(text, settings)
    lang = language.detect_lang(clean)
    glossary = language.load_glossary(str(settings.glossary_path))
    glossary.add_to_jieba()
    expansion = glossary.match(clean)
    terms = language.weighted_terms(clean, expansion, settings.expansion_weight, settings.synonym_weight)
    words = language.content_words(clean)
    en_words = [w for w in words if re.fullmatch(r"[a-z][a-z\-']*", w)]
    explained = {v for t in expansion.english for e in t.en for v in re.split(r"[\s\-]+", e.lower())}
    uncovered = sum(1 for w in en_words if w not in explained) / len(en_words) if en_words else 0.0
    en_terms: dict[str, float] = {}
    for stem in translations.en_tokens(clean):
        en_terms[stem] = en_terms.get(stem, 0.0) + 1.0
    glossary_words = frozenset({a for t in expansion.terms for a in t.zh_query}
                               | {st for t in expansion.english for e in t.en for st in translations.en_tokens(e)})
    return Query(raw, clean, lang, truncated, expansion, terms, clean, words, uncovered, en_terms, glossary_words)


def mentioned_docs(text: str, idx: index_mod.Index) -> set[str]:
    """Documents the query names by symbol or alias ("A/CONF.234/11", "the IPIE brief")."""
    norm = language.normalise(text)
    found = set()
    for doc_id, meta in idx.documents.items():
        for name in [meta.get("symbol") or ""] + list(meta.get("aliases") or []):
            key = language.normalise(str(name))
            if len(key) >= 3 and key in norm:
                found.add(doc_id)
                break
    return found


def query_vectors(q: Query, idx: index_mod.Index, settings: config.Settings | None = None) -> np.ndarray:
    """The query's embedding with the primary model (one row)."""
    return idx.encoder.encode([q.dense_text])


@dataclass
class Candidate:
    """One searchable row with its raw scores, ranks, features and fused score."""

    row: int
    dense: float = 0.0
    sentence: float = 0.0
    best_sentence: int = -1
    bm25: float = 0.0
    extra: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)
    fused: float = 0.0
    raw: dict[str, float] = field(default_factory=dict)


def _top(scores: dict[int, float], limit: int) -> dict[int, int]:
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])[:limit]
    return {row: r for r, (row, _) in enumerate(ordered, start=1)}


def uses_english(q: Query, idx: index_mod.Index, settings: config.Settings) -> bool:
    """Whether this query is also matched against the English reading. Chinese queries use it
    only with a non-zero ``zh_weight_en`` (measured, it did not help them; docs/retrieval.md)."""
    return (settings.search_english and idx.en_dense is not None and bool(idx.has_en.any())
            and (q.lang != "zh" or settings.zh_weight_en > 0))


def retrieve(q: Query, idx: index_mod.Index, qv: np.ndarray, rows_allowed: set[int] | None = None,
             settings: config.Settings | None = None, model: ranker.Model | None | bool = None,
             extra_vectors: list[np.ndarray] | None = None) -> list[Candidate]:
    """Candidates from every ranker, scored exactly on all signals, fused and sorted.

    ``model``: the trained ranker (default: the one in ``data/ranker.json``); ``False``
    forces weighted reciprocal-rank fusion.
    """
    settings = settings or idx.settings
    if model is None:
        model = get_model(settings, idx)
    n = len(idx.rows)
    if n == 0:
        return []
    depth = min(n, settings.candidates)
    allowed = (lambda r: True) if rows_allowed is None else (lambda r: r in rows_allowed)
    search_depth = depth if rows_allowed is None else n

    lists: dict[str, dict[int, int]] = {}
    scores, ids = idx.dense.search(qv, search_depth)
    best: dict[int, float] = {}
    for qi in range(len(qv)):
        for r, v in zip(ids[qi], scores[qi]):
            if r >= 0 and allowed(int(r)) and v > best.get(int(r), -2.0):
                best[int(r)] = float(v)
    lists["dense"] = _top(best, depth)

    n_sent = idx.sentence_index.ntotal
    sent_best: dict[int, float] = {}
    if n_sent:
        s_scores, s_ids = idx.sentence_index.search(qv, min(n_sent, search_depth * 4))
        for sid, v in zip(s_ids.ravel(), s_scores.ravel()):
            if sid < 0:
                continue
            row = int(idx.sentence_rows[sid, 0])
            if allowed(row) and v > sent_best.get(row, -2.0):
                sent_best[row] = float(v)
    lists["sentence"] = _top(sent_best, depth)

    bm25_all = idx.bm25.scores(q.terms) if (idx.bm25 is not None and q.terms) else np.zeros(n, np.float32)
    order = np.argsort(-bm25_all)
    bm25_top: dict[int, float] = {}
    for row in order[: search_depth if rows_allowed is None else n]:
        row = int(row)
        if bm25_all[row] <= 0 or len(bm25_top) >= depth:
            break
        if allowed(row):
            bm25_top[row] = float(bm25_all[row])
    lists["bm25"] = _top(bm25_top, depth)

    bigram_all = np.zeros(n, np.float32)
    if idx.bigrams is not None:
        grams: dict[str, float] = {}
        for g in language.bigrams(q.text if q.lang != "en" else " ".join(q.expansion.zh_terms)):
            grams[g] = grams.get(g, 0.0) + 1.0
        bigram_all = idx.bigrams.scores(grams)
        b_order = np.argsort(-bigram_all)[:search_depth]
        lists["bigram"] = _top({int(r): float(bigram_all[r]) for r in b_order
                                if bigram_all[r] > 0 and allowed(int(r))}, depth)

    extra_vecs = []
    for k, (name, extra_index) in enumerate(idx.extra):
        ev = extra_vectors[k] if extra_vectors else idx.extra_encoder(name).encode([q.dense_text])
        extra_vecs.append((ev, extra_index))
        e_scores, e_ids = extra_index.search(ev, search_depth)
        lists["extra"] = _top({int(r): float(v) for r, v in zip(e_ids[0], e_scores[0]) if r >= 0 and allowed(int(r))},
                              depth)
        break  # the first extra model feeds the "extra" signal

    # the English reading: the same query against the translations, merged by passage row
    english = uses_english(q, idx, settings)
    en_bm25_all = np.zeros(n, np.float32)
    if english:
        has_en = idx.has_en
        en_scores, en_ids = idx.en_dense.search(qv, search_depth)
        lists["en_dense"] = _top({int(r): float(v) for r, v in zip(en_ids[0], en_scores[0])
                                  if r >= 0 and has_en[r] and allowed(int(r))}, depth)
        if idx.en_bm25 is not None and q.en_terms:
            en_bm25_all = idx.en_bm25.scores(q.en_terms)
            e_order = np.argsort(-en_bm25_all)[:search_depth]
            lists["en_bm25"] = _top({int(r): float(en_bm25_all[r]) for r in e_order
                                     if en_bm25_all[r] > 0 and allowed(int(r))}, depth)
        if extra_vecs and idx.en_extra:
            x_scores, x_ids = idx.en_extra[0].search(extra_vecs[0][0], search_depth)
            lists["en_extra"] = _top({int(r): float(v) for r, v in zip(x_ids[0], x_scores[0])
                                      if r >= 0 and has_en[r] and allowed(int(r))}, depth)

    rows = set()
    for ranking in lists.values():
        rows.update(ranking)
    named = mentioned_docs(q.text, idx)
    missing_rank = depth + 40
    cands = []
    row_list = sorted(rows)
    dense_sims = (idx.vectors("dense")[row_list] @ qv.T).max(axis=1)
    extra_sims = (idx.vectors("extra1")[row_list] @ extra_vecs[0][0][0]) if extra_vecs else None
    sent_matrix = idx.vectors("sentences")
    shift = imputation(model if model else None)
    if english:
        en_dense_sims = (idx.vectors("en_dense")[row_list] @ qv.T).max(axis=1)
        en_extra_sims = (idx.vectors("en_extra1")[row_list] @ extra_vecs[0][0][0]) if extra_vecs and idx.en_extra else None
        en_sent_matrix = idx.vectors("en_sentences")
    for k_row, row in enumerate(row_list):
        c = Candidate(row)
        c.dense = float(dense_sims[k_row])
        start, count = idx.sentence_span(row)
        if count:
            sims = (sent_matrix[start:start + count] @ qv.T).max(axis=1)
            k = int(np.argmax(sims))
            c.sentence, c.best_sentence = float(sims[k]), start + k
        c.bm25 = float(bm25_all[row])
        if extra_sims is not None:
            c.extra = float(extra_sims[k_row])
        c.ranks = {name: ranking[row] for name, ranking in lists.items() if row in ranking}
        p = idx.passages[idx.rows[row]]
        c.raw = {
            "extra_cos": c.extra, "dense_cos": c.dense, "sentence_cos": c.sentence, "bm25": c.bm25,
            "bigram": float(bigram_all[row]), "rank_bigram": c.ranks.get("bigram", missing_rank),
            "rank_extra": c.ranks.get("extra", missing_rank), "rank_dense": c.ranks.get("dense", missing_rank),
            "rank_sentence": c.ranks.get("sentence", missing_rank), "rank_bm25": c.ranks.get("bm25", missing_rank),
            "has_children": 1.0 if p.children else 0.0, "length": float(len(p.text)),
            "doc_named": 1.0 if p.doc_id in named else 0.0,
        }
        # English-reading signals; a passage without a translation (or a query that does not use
        # them) takes its original's values, shifted by the mean gap seen in training
        en = english and bool(idx.has_en[row])
        raw = c.raw
        if en:
            e_start, e_count = idx.sentence_span(row, en=True)
            en_sent = float((en_sent_matrix[e_start:e_start + e_count] @ qv.T).max()) if e_count else 0.0
        gap = shift if english else {}
        raw["en_dense_cos"] = float(en_dense_sims[k_row]) if en else c.dense + gap.get("en_dense_cos", 0.0)
        raw["en_sentence_cos"] = en_sent if en else c.sentence + gap.get("en_sentence_cos", 0.0)
        raw["en_extra_cos"] = (float(en_extra_sims[k_row]) if en and en_extra_sims is not None
                               else c.extra + gap.get("en_extra_cos", 0.0))
        raw["en_bm25"] = float(en_bm25_all[row]) if en else max(0.0, c.bm25 + gap.get("en_bm25", 0.0))
        raw["rank_en_dense"] = c.ranks.get("en_dense", missing_rank) if en else raw["rank_dense"]
        raw["rank_en_bm25"] = c.ranks.get("en_bm25", missing_rank) if en else raw["rank_bm25"]
        raw["rank_en_extra"] = c.ranks.get("en_extra", missing_rank) if en else raw["rank_extra"]
        cands.append(c)
    if not cands:
        return []
    zh = q.lang == "zh"
    if model:
        x = ranker.candidate_features([c.raw for c in cands], zh)
        for c, v in zip(cands, model.ranker.decision(x)):
            c.fused = float(v)
    else:
        weights = {
            "dense": settings.zh_weight_dense if zh else settings.weight_dense,
            "sentence": settings.zh_weight_sentence if zh else settings.weight_sentence,
            "bm25": settings.zh_weight_bm25 if zh else settings.weight_bm25,
            "extra": settings.zh_weight_extra if zh else settings.weight_extra,
            "bigram": settings.zh_weight_bigram if zh else settings.weight_bigram,
            "en_dense": settings.zh_weight_en if zh else settings.weight_en,
            "en_bm25": settings.zh_weight_en if zh else settings.weight_en,
            "en_extra": settings.zh_weight_en if zh else settings.weight_en,
        }
        for c in cands:
            c.fused = sum(weights[name] / (settings.rrf_k + r) for name, r in c.ranks.items())
            if c.raw["doc_named"]:
                c.fused += settings.doc_boost
    return sorted(cands, key=lambda c: -c.fused)


def confidence(q: Query, cands: list[Candidate], idx: index_mod.Index, settings: config.Settings | None = None,
               model: ranker.Model | None | bool = None) -> float:
    """Probability (0–1) that the documents answer the query (see docs/retrieval.md)."""
    if not cands:
        return 0.0
    settings = settings or idx.settings
    if model is None:
        model = get_model(settings, idx)
    if model:
        cover = coverage(q, cands[0], idx)
        x = ranker.query_features([c.raw for c in cands[:10]], cands[0].fused, cover, q.lang == "zh")
        return ranker.scaled_confidence(float(model.confidence.probability(x[None, :])[0]), cover, model.info)
    top = cands[0]
    semantic = max(top.dense, top.sentence)
    lexical = top.bm25 / (top.bm25 + 10.0)
    z = 12.0 * (semantic - 0.35) + 3.0 * lexical
    return 1.0 / (1.0 + math.exp(-z))


def threshold(settings: config.Settings, idx: index_mod.Index | None = None) -> float:
    """Confidence below which the answer is "not in the documents" (chosen on the dev set)."""
    if settings.min_confidence is not None:
        return settings.min_confidence
    model = get_model(settings, idx)
    if model is not None and "threshold" in model.info:
        return float(model.info["threshold"])
    return 0.5


def imputation(model: ranker.Model | None) -> dict[str, float]:
    """Mean gap between English-reading and original signals (English questions, training
    set): what a passage without a translation is assumed to score on its English reading."""
    return dict(model.info.get("en_imputation") or {}) if model else {}


def coverage(q: Query, top: Candidate, idx: index_mod.Index) -> dict[str, float]:
    """How much of the query the corpus and the top passage explain (for the confidence).

    The English-reading features need translations: where the top passage has none, its
    coverage is the original's shifted by the training gap; where some documents have none,
    the share of query words unknown to the English vocabulary cannot be told and takes its
    training mean."""
    vocab = idx.bm25.vocab if idx.bm25 is not None else {}
    zh_words = [w for w in q.content_words if language.has_cjk(w) and w not in q.glossary_words]
    oov = sum(1 for w in zh_words if w not in vocab) / len(zh_words) if zh_words else 0.0
    tokens = set(idx.tokens[top.row]) if top.row < len(idx.tokens) else set()
    total = sum(q.terms.values())
    covered = sum(w for t, w in q.terms.items() if t in tokens) / total if total else 0.0
    en_vocab = idx.en_bm25.vocab if idx.en_bm25 is not None else {}
    en_total = sum(q.en_terms.values())
    en_oov = (sum(w for t, w in q.en_terms.items() if t not in en_vocab and t not in q.glossary_words) / en_total
              if en_total and en_vocab else 0.0)
    en_top = set(idx.en_tokens[top.row]) if top.row < len(idx.en_tokens) else set()
    en_covered = sum(w for t, w in q.en_terms.items() if t in en_top) / en_total if en_total and en_top else 0.0
    if uses_english(q, idx, idx.settings) and not bool(idx.has_en.all()):
        shift = imputation(get_model(idx.settings, idx))
        if not bool(idx.has_en[top.row]):
            en_covered = min(1.0, max(0.0, covered + shift.get("en_top_coverage", 0.0)))
        en_oov = shift.get("en_oov_mean", en_oov)
    wants = answer_type(q.text)
    top_passage = idx.passages[idx.rows[top.row]]
    return {"glossary_terms": float(len(q.expansion.terms)), "uncovered_en": q.uncovered_en,
            "zh_oov": oov, "top_coverage": covered, "en_oov": en_oov, "en_top_coverage": en_covered,
            "asks_fact": 1.0 if wants else 0.0,
            "fact_missing": 1.0 if fact_missing(q.text, top_passage.text, top_passage.text_en, doc_years(idx)) else 0.0,
            "unknown_names": float(min(2, len(unknown_names(q.text, idx))))}


_MODEL: dict[str, ranker.Model | None] = {}


def get_model(settings: config.Settings, idx: index_mod.Index | None = None) -> ranker.Model | None:
    """The trained fusion model from ``data/ranker.json``; None if absent, disabled, or trained
    for other embedding models than the index uses (then RRF and a heuristic confidence apply)."""
    key = str(settings.ranker_path)
    if key not in _MODEL:
        _MODEL[key] = ranker.Model.load(settings.ranker_path) if settings.use_ranker else None
    model = _MODEL[key]
    if model is not None and idx is not None:
        models = [idx.manifest.get("model")] + list(idx.manifest.get("extra_models") or [])
        if model.info.get("models") and model.info["models"] != models:
            return None
    return model


# What a question asks for, and whether a passage states it. A question that names something
# the corpus never mentions, or asks for a figure or date its best passage does not state, is
# flagged as an "evidence gap"; its confidence is scaled down by a factor chosen on the dev set
# (docs/retrieval.md). The documents often discuss the topic of such a near-domain question
# ("the maximum fine under the EU AI Act") without giving the asked-for fact.
_NUMBER_Q = re.compile(r"\bhow (?:many|much|long)\b|percent|percentage|proportion|\bshare\b|\bnumber of\b|\brate\b|"
                       r"\bprice\b|\bcost\b|\bfines?\b|statistic|"
                       r"多少|比例|百分|数量|几成|占.{0,4}(?:多|几)|几\s*[年个名起张次项种岁倍份万千百枚条]|价格|罚金|罚款")
_DATE_Q = re.compile(r"\bwhen\b|\bwhat year\b|\bwhich year\b|何时|什么时候|哪一年|哪年|时间")
_NUMERAL = "[0-9０-９一二三四五六七八九十百千万亿两数几多]"
_NUMBER_FACT = re.compile(rf"[0-9０-９]|{_NUMERAL}+(?:名|个|起|张|倍|成|项|种|人|次|国|年)")
_DATE_FACT = re.compile(r"(?:19|20)[0-9]{2}|[0-9０-９]+\s*(?:年|月|日)")
_UNIT_Q = re.compile(r"(?:多少|几)\s*([名张起个份人次项枚倍岁国家条年])")
_MONEY_Q = re.compile(r"罚金|罚款|价格|多少钱|\bprices?\b|\bcosts?\b|\bfines?\b")
_MONEY = re.compile(r"[$€£¥]|美元|欧元|英镑|[0-9０-９一二三四五六七八九十百千万亿]\s*元|\b(?:dollars?|euros?|pounds?|yuan|usd|eur)\b")
_YEAR = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
_TITLE = re.compile(r"《([^》]{2,60})》|[“「\"]([^”」\"]{2,20})[”」\"]|(第[0-9一二三四五六七八九十百千零]+条)")
_EN_NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z][A-Za-z]*|[A-Z]{2,}[a-z]?|[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*)\b")
_EN_STOP = {"i", "what", "which", "who", "how", "when", "where", "why", "the", "and", "does", "do", "is", "are"}


def _spelt_out(word: str, hay: str) -> bool:
    """An acronym the corpus writes out in full ("ICSE": "International Child Sexual Exploitation")."""
    if not re.fullmatch(r"[A-Z]{3,6}", word):
        return False
    return bool(re.search(r"\b" + r"[a-z]*[\s-]+".join(word.lower()) + r"[a-z]*", hay))


@lru_cache(maxsize=4)
def _squeezed(hay: str) -> str:
    return re.sub(r"\s+", "", hay)


def answer_type(text: str) -> str:
    """``number``, ``date`` or ``""``: what kind of sentence best answers the question."""
    lowered = text.lower()
    if _NUMBER_Q.search(lowered):
        return "number"
    if _DATE_Q.search(lowered):
        return "date"
    return ""


def has_fact(text: str, kind: str) -> bool:
    """Whether a passage states the kind of fact a question asks for (a number, a date)."""
    return bool((_NUMBER_FACT if kind == "number" else _DATE_FACT).search(text))


def fact_missing(question: str, text: str, text_en: str = "", ignore_years: Iterable[str] = ()) -> bool:
    """Whether the passage lacks the fact the question asks for: no number or date at all, no
    count of the asked unit ("多少名" needs "…名"), no sum of money for a fine or price, or
    none of the years a fact question names (other than ``ignore_years``, the documents' own
    years: "the 2021 paper" names a document, not a fact)."""
    lowered = question.lower()
    kind = answer_type(question)
    if kind and not has_fact(text, kind):
        return True
    # a count of the asked unit; "几年" (how many years) is not answered by a calendar year
    if any(not re.search(f"(?<![0-9]){_NUMERAL}{{1,3}}\\s*[余多]?\\s*年(?!代)" if unit == "年" else
                         f"{_NUMERAL}\\s*[余多]?\\s*{unit}", text) for unit in _UNIT_Q.findall(question)):
        return True
    if _MONEY_Q.search(lowered) and not _MONEY.search(f"{text}\n{text_en.lower()}"):
        return True
    years = set(_YEAR.findall(question)) - set(ignore_years)
    return bool(kind and years) and not years & set(_YEAR.findall(text))


def doc_years(idx: index_mod.Index) -> set[str]:
    """The years of the documents' dates (catalog)."""
    return {str(meta.get("date") or "")[:4] for meta in idx.documents.values()} - {""}


def unknown_names(text: str, idx: index_mod.Index) -> tuple[str, ...]:
    """Names the question uses that the corpus never mentions: titles in 《》, and capitalised
    English words or acronyms other than the question's first word (e.g. "Budapest",
    "《未成年人网络保护条例》"). A name matches its inflected forms ("Venezuelan" ~ "Venezuela")."""
    return _unknown_names(text, idx.haystack())


@lru_cache(maxsize=256)
def _unknown_names(text: str, hay: str) -> tuple[str, ...]:
    squeezed = _squeezed(hay)
    missing = [t for t in (next(g for g in m.groups() if g) for m in _TITLE.finditer(text))
               if re.sub(r"\s+", "", t.lower()) not in squeezed]
    for m in _EN_NAME.finditer(text):
        words = m.group(0).split()
        if m.start() == len(text) - len(text.lstrip()) and len(words) == 1 and words[0].istitle():
            continue   # a capitalised first word is just the start of the sentence
        for word in words:
            key = re.sub(r"'s$", "", word.lower())
            # long names match their inflections ("Venezuelan" ~ "Venezuela"), short ones whole
            pattern = rf"\b{re.escape(key[:-2])}" if len(key) >= 8 else rf"\b{re.escape(key)}(?:s|es)?\b"
            if key not in _EN_STOP and not re.search(pattern, hay) and not _spelt_out(word, hay):
                missing.append(word)
    return tuple(missing)


def highlights(q_vec: np.ndarray, row: int, idx: index_mod.Index, q: Query, n: int = 1,
               en: bool = False) -> list[dict[str, Any]]:
    """The passage's best sentence(s) for the query, as character spans (``en``: in its English
    reading; empty when it has none)."""
    start, count = idx.sentence_span(row, en=en)
    if count == 0:
        return []
    p = idx.passages[idx.rows[row]]
    text = p.text_en if en else p.text
    sims = (idx.vectors("en_sentences" if en else "sentences")[start:start + count] @ q_vec.T).max(axis=1)
    sentence_rows = idx.en_sentence_rows if en else idx.sentence_rows
    if en:
        terms = set(q.en_terms)
    else:
        terms = {language.normalise(t) for t in set(q.expansion.zh_terms) | {t for t in q.tokens if len(t) > 1}}
    wants = answer_type(q.text)
    scored = []
    for k in range(count):
        _, s, e = (int(x) for x in sentence_rows[start + k])
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
    return [{"start": s, "end": e, "text": text[s:e], "score": round(sc, 4)} for sc, s, e in best]


def result_dict(p: Passage, idx: index_mod.Index, lang: str, score: float,
                hl: list[dict[str, Any]], topics: Iterable[str] = (),
                hl_en: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON shape of one result (also used to show a paragraph directly)."""
    meta = idx.documents.get(p.doc_id, {"id": p.doc_id})
    cite_lang = "zh" if lang == "zh" else "en"
    notes = []
    for fid in p.footnotes:
        note = idx.passage(fid)
        if note is not None:
            notes.append({"id": note.id, "number": fid.rsplit(":", 1)[-1].replace("fn", "").replace("reference", "ref "),
                          "text": note.text, "text_en": note.text_en})
    return {
        "id": p.id,
        "doc_id": p.doc_id,
        "doc_title": meta.get("title", ""),
        "doc_title_en": meta.get("title_en", ""),
        "doc_symbol": meta.get("symbol", ""),
        "section": cite.section_label(p.section, cite_lang),
        "section_path": p.section,
        "paragraph": p.label,
        "kind": p.kind,
        "page": p.page,
        "citation": cite.citation(p, meta, cite_lang),
        "text": p.text,
        "text_en": p.text_en,
        "score": round(float(score), 4),
        "highlights": hl,
        "highlights_en": hl_en or [],
        "footnotes": notes,
        "footnote_offsets": p.footnote_offsets,
        "topics": list(topics),
    }


_INDEX: index_mod.Index | None = None


def get_index(settings: config.Settings | None = None) -> index_mod.Index:
    """The process-wide index, loaded (or built) on first use."""
    global _INDEX
    if _INDEX is None:
        _INDEX = index_mod.ensure(settings)
    return _INDEX


def set_index(idx: index_mod.Index | None) -> None:
    global _INDEX
    _INDEX = idx


def search(query: Any, top_k: int | None = None, doc: str | None = None,
           idx: index_mod.Index | None = None, settings: config.Settings | None = None) -> dict[str, Any]:
    """Search the corpus. Raises ``EmptyQuery`` for an empty query; ``doc`` filters by document."""
    settings = settings or config.settings()
    idx = idx or get_index(settings)
    q = prepare(query, settings)
    top_k = max(1, min(int(top_k or settings.top_k), 50))
    allowed = None
    notice = ""
    if doc:
        doc_ids = {d for d, m in idx.documents.items()
                   if doc.lower() in {d.lower(), str(m.get("symbol", "")).lower(), str(m.get("file", "")).lower(),
                                      str(m.get("source", "")).lower()}}
        allowed = {r for r, pi in enumerate(idx.rows) if idx.passages[pi].doc_id in doc_ids}
        if not doc_ids:
            notice = f"unknown document {doc!r}; searched all documents"
            allowed = None
    if q.truncated:
        notice = (notice + "; " if notice else "") + f"query truncated to {settings.max_query_chars} characters"
    qv = query_vectors(q, idx, settings)
    cands = retrieve(q, idx, qv, allowed, settings)
    response: dict[str, Any] = {
        "query": q.text, "lang": q.lang, "status": "no_answer", "confidence": 0.0,
        "notice": notice, "topics": q.expansion.topics, "results": [],
    }
    if not cands:
        return response
    conf = confidence(q, cands, idx, settings)
    response["confidence"] = round(conf, 4)
    if conf < threshold(settings, idx):
        return response
    response["status"] = "ok"
    for c in cands[:top_k]:
        p = idx.passages[idx.rows[c.row]]
        hl = highlights(qv, c.row, idx, q, settings.highlight_sentences)
        hl_en = highlights(qv, c.row, idx, q, settings.highlight_sentences, en=True) if p.text_en else []
        response["results"].append(result_dict(p, idx, q.lang, c.fused, hl, idx.topics[c.row], hl_en))
    return response
