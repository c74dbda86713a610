"""Query stage: what a question is before it is searched.

``prepare`` cleans a message (control characters and markup removed, length bounded), puts
Chinese into the documents' script (traditional characters and Cantonese function words,
``bot/script.py``), detects its language and analyses it for the rankers: the glossary concepts it names (an
English or everyday word mapped to the documents' Chinese terms), weighted BM25 terms, Chinese
character bigrams, English stems, and how much of it the glossary explains. The result is a
``Query``: every later stage reads it, none re-analyses the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bot import config, lang as lang_mod, language, script, translations
from bot.documents import Catalog


class EmptyQuery(ValueError):
    """The query has no searchable content."""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]{0,200}>")


@dataclass
class Query:
    """A cleaned query with its language, glossary expansion and the terms each ranker uses."""

    raw: str
    text: str                                   # cleaned, in the documents' script: what is searched
    lang: str                                   # en | zh | mixed (bot/lang.py)
    truncated: bool
    expansion: language.Expansion
    terms: dict[str, float]                     # BM25 over the original (jieba words, glossary terms)
    dense_text: str                             # what the embedding models see
    content_words: list[str] = field(default_factory=list)   # non-stopword query words
    uncovered_en: float = 0.0    # share of English content words no glossary term explains
    en_terms: dict[str, float] = field(default_factory=dict)  # English stems, for the English reading
    bigram_terms: dict[str, float] = field(default_factory=dict)  # Chinese character bigrams
    mixed_terms: dict[str, float] = field(default_factory=dict)   # Chinese words + English stems
    # words the glossary maps onto the documents' terms: everyday Chinese aliases (蛇头) and the
    # stems of matched English variants ("cops" → police); none of them counts as unknown
    glossary_words: frozenset[str] = frozenset()
    traditional: bool = False    # written in traditional characters (replies follow)
    doc_refs: frozenset[str] = frozenset()   # documents the question names ("the Kyoto report")

    @property
    def tokens(self) -> list[str]:
        return list(self.terms)

    @property
    def zh(self) -> bool:
        return self.lang == "zh"


_INTENT_SYNTAX = re.compile(r"^\s*/[\w.-]+\s*(?P<entities>\{.*\})?\s*$", re.S)


def spoken(text: str) -> str:
    """What a message says in words. Rasa reads ``/intent{"entity": "value"}`` as a chosen intent
    with entities (buttons send it; anyone can type it): the guard and the search must read the
    entity values as the user's words, not the intent name and JSON around them, or the syntax
    changes what they see. A ``/``-prefixed message Rasa cannot parse is read without the slash."""
    m = _INTENT_SYNTAX.match(text or "")
    if m is None:
        return re.sub(r"^\s*/+", "", text) if (text or "").lstrip().startswith("/") else text
    try:
        values = json.loads(m["entities"]) if m["entities"] else {}
    except ValueError:
        return re.sub(r"^\s*/+", "", text)
    items = values.values() if isinstance(values, dict) else values if isinstance(values, list) else [values]
    words = [str(v) for v in items if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    return " ".join(w for w in words if w.strip())


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


# a name that refers to a document as a document ("the Kyoto report", "那篇文章"), not a topic
_DOC_WORD = re.compile(r"paper|report|article|brief|summary|review|document|workshop|congress|symbol|/|"
                       r"文件|报告|文章|摘要|论文|大会|那篇|那份|这篇|这份", re.I)
_LEAD_IN = re.compile(r"(?:\b(?:in|from|of|per|according to|by|on)\s+)?(?:\b(?:the|that|this|a)\s+)?"
                      r"(?:\bun\s+)?$", re.I)


def content_of(text: str, catalog: Catalog | None) -> tuple[str, frozenset[str]]:
    """The question without the words that name a document ("... in the UN crime congress
    paper"), and the documents named. The name is a filter or prior for the search, not what
    the question is about; a name that is a topic too ("AI去衣") stays in the content."""
    if catalog is None:
        return text, frozenset()
    refs = catalog.references(text)
    spans = sorted({(s, e) for _, s, e in refs if _DOC_WORD.search(text[s:e])}, reverse=True)
    content = text
    for start, end in spans:
        lead = _LEAD_IN.search(content[:start])
        start = lead.start() if lead else start
        content = content[:start] + " " + content[end:]
    content = re.sub(r"\s+", " ", content).strip(" ,:;-–—，：；")
    return (content if re.search(r"\w", content) else text), frozenset(d for d, _, _ in refs)


def prepare(text: Any, settings: config.Settings, glossary: language.Glossary,
            catalog: Catalog | None = None) -> Query:
    """Clean, bound and analyse a query. Raises ``EmptyQuery`` when nothing is left.
    ``catalog``: the documents, to tell names of documents from the question's content."""
    raw, typed, truncated = clean_query(text, settings)
    clean = script.normalise(typed)
    lang = lang_mod.detect(clean)
    content, doc_refs = content_of(clean, catalog) if settings.strip_doc_names else (clean, frozenset())
    if catalog is not None and not settings.strip_doc_names:
        doc_refs = frozenset(catalog.named_in(clean))
    glossary.add_to_jieba()
    expansion = glossary.match(content)
    terms = language.weighted_terms(content, expansion, settings.expansion_weight, settings.synonym_weight)
    words = language.content_words(content)
    en_words = [w for w in words if re.fullmatch(r"[a-z][a-z\-']*", w)]
    explained = {v for t in expansion.english for e in t.en for v in re.split(r"[\s\-]+", e.lower())}
    uncovered = sum(1 for w in en_words if w not in explained) / len(en_words) if en_words else 0.0
    en_terms = _counts(translations.en_tokens(content))
    bigram_terms = _counts(language.bigrams(content if lang != "en" else " ".join(expansion.zh_terms)))
    glossary_words = frozenset({a for t in expansion.terms for a in t.zh_query}
                               | {st for t in expansion.english for e in t.en for st in translations.en_tokens(e)})
    mixed_terms = {t: w for t, w in terms.items() if language.has_cjk(t)}
    for stem, w in en_terms.items():
        mixed_terms[stem] = mixed_terms.get(stem, 0.0) + w
    return Query(raw, clean, lang, truncated, expansion, terms, content, words, uncovered, en_terms, bigram_terms,
                 mixed_terms, glossary_words, script.is_traditional(typed), doc_refs)
