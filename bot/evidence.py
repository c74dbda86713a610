"""Evidence: what a question asks for, and whether the corpus and the best passage state it.

The confidence model (``bot/fusion.py``) reads ``coverage``: how much of the question the
glossary, the corpus vocabulary and the top passage explain, whether the question asks for a
figure or date the passage does not state, and whether it names something the corpus never
mentions. A question with such an evidence gap has its confidence scaled down by a factor
chosen by cross-validation (docs/retrieval.md).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from bot import language

if TYPE_CHECKING:  # pragma: no cover - typing only
    from bot.index import Index
    from bot.query import Query

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


@lru_cache(maxsize=256)
def unknown_names(text: str, hay: str) -> tuple[str, ...]:
    """Names the question uses that the corpus (``hay``: ``Index.haystack()``) never mentions:
    titles in 《》, and capitalised English words or acronyms other than the question's first
    word (e.g. "Budapest", "《未成年人网络保护条例》"). A name matches its inflected forms
    ("Venezuelan" ~ "Venezuela")."""
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


def coverage(q: "Query", top_row: int, idx: "Index", english: bool, imputation: dict[str, float]) -> dict[str, float]:
    """How much of the query the corpus and the top passage explain (for the confidence).

    ``english``: the English reading was searched for this query. The English-reading features
    need translations: where the top passage has none, its coverage is the original's shifted
    by the training gap (``imputation``); where some documents have none, the share of query
    words unknown to the English vocabulary cannot be told and takes its training mean."""
    original = idx.readings["original"]
    en_reading = idx.readings.get("english")
    vocab = original.vocabulary()
    zh_words = [w for w in q.content_words if language.has_cjk(w) and w not in q.glossary_words]
    oov = sum(1 for w in zh_words if w not in vocab) / len(zh_words) if zh_words else 0.0
    words = original.words["tokens"]
    tokens = set(words[top_row]) if top_row < len(words) else set()
    total = sum(q.terms.values())
    covered = sum(w for t, w in q.terms.items() if t in tokens) / total if total else 0.0
    en_vocab = en_reading.vocabulary() if en_reading is not None else {}
    en_total = sum(q.en_terms.values())
    en_oov = (sum(w for t, w in q.en_terms.items() if t not in en_vocab and t not in q.glossary_words) / en_total
              if en_total and en_vocab else 0.0)
    en_words = en_reading.words["tokens"] if en_reading is not None else []
    en_top = set(en_words[top_row]) if top_row < len(en_words) else set()
    en_covered = sum(w for t, w in q.en_terms.items() if t in en_top) / en_total if en_total and en_top else 0.0
    if english and en_reading is not None:
        if not bool(en_reading.has[top_row]):
            en_covered = min(1.0, max(0.0, covered + imputation.get("en_top_coverage", 0.0)))
        if set(idx.catalog) - set(idx.manifest.get("translated_documents") or []):
            en_oov = imputation.get("en_oov_mean", en_oov)   # some documents have no English words at all
    wants = answer_type(q.text)
    top_passage = idx.row_passage(top_row)
    return {"glossary_terms": float(len(q.expansion.terms)), "uncovered_en": q.uncovered_en,
            "zh_oov": oov, "top_coverage": covered, "en_oov": en_oov, "en_top_coverage": en_covered,
            "asks_fact": 1.0 if wants else 0.0,
            "fact_missing": 1.0 if fact_missing(q.text, top_passage.text, top_passage.text_en,
                                                idx.catalog.years()) else 0.0,
            "unknown_names": float(min(2, len(unknown_names(q.text, idx.haystack()))))}
