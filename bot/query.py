"""Query stage: what a question is before it is searched.

``prepare`` cleans a message (control characters and markup removed, length bounded),
detects its language and analyses it for the rankers: the glossary concepts it names (an
English or everyday word mapped to the documents' Chinese terms), weighted BM25 terms, Chinese
character bigrams, English stems, and how much of it the glossary explains. The result is a
``Query``: every later stage reads it, none re-analyses the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot import config, lang as lang_mod, language, translations


class EmptyQuery(ValueError):
    """The query has no searchable content."""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]{0,200}>")


@dataclass
class Query:
    """A cleaned query with its language, glossary expansion and the terms each ranker uses."""

    raw: str
    text: str
    lang: str                                   # en | zh | mixed (bot/lang.py)
    truncated: bool
    expansion: language.Expansion
    terms: dict[str, float]                     # BM25 over the original (jieba words, glossary terms)
    dense_text: str                             # what the embedding models see
    content_words: list[str] = field(default_factory=list)   # non-stopword query words
    uncovered_en: float = 0.0    # share of English content words no glossary term explains
    en_terms: dict[str, float] = field(default_factory=dict)  # English stems, for the English reading
    bigram_terms: dict[str, float] = field(default_factory=dict)  # Chinese character bigrams
    # words the glossary maps onto the documents' terms: everyday Chinese aliases (蛇头) and the
    # stems of matched English variants ("cops" → police); none of them counts as unknown
    glossary_words: frozenset[str] = frozenset()

    @property
    def tokens(self) -> list[str]:
        return list(self.terms)

    @property
    def zh(self) -> bool:
        return self.lang == "zh"


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


def _counts(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        out[item] = out.get(item, 0.0) + 1.0
    return out


def prepare(text: Any, settings: config.Settings, glossary: language.Glossary) -> Query:
    """Clean, bound and analyse a query. Raises ``EmptyQuery`` when nothing is left."""
    raw, clean, truncated = clean_query(text, settings)
    lang = lang_mod.detect(clean)
    glossary.add_to_jieba()
    expansion = glossary.match(clean)
    terms = language.weighted_terms(clean, expansion, settings.expansion_weight, settings.synonym_weight)
    words = language.content_words(clean)
    en_words = [w for w in words if re.fullmatch(r"[a-z][a-z\-']*", w)]
    explained = {v for t in expansion.english for e in t.en for v in re.split(r"[\s\-]+", e.lower())}
    uncovered = sum(1 for w in en_words if w not in explained) / len(en_words) if en_words else 0.0
    en_terms = _counts(translations.en_tokens(clean))
    bigram_terms = _counts(language.bigrams(clean if lang != "en" else " ".join(expansion.zh_terms)))
    glossary_words = frozenset({a for t in expansion.terms for a in t.zh_query}
                               | {st for t in expansion.english for e in t.en for st in translations.en_tokens(e)})
    return Query(raw, clean, lang, truncated, expansion, terms, clean, words, uncovered, en_terms, bigram_terms,
                 glossary_words)
