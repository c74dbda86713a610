"""Language stage: jieba tokens for BM25, spaCy sentences, and the glossary (language detection
itself is ``bot/lang.py``).

spaCy does the language work: a blank ``zh`` pipeline with the jieba segmenter gives tokens
and (with a sentencizer) sentence spans; PhraseMatchers over the bilingual glossary expand
English queries into the Chinese terms the documents use and tag paragraphs with topics.
The Chinese matcher runs on a character-segmented pipeline so that a glossary term matches
wherever it occurs, whatever jieba's word boundaries are (and regardless of the spaces the
PDF text sometimes has between Chinese and Latin characters).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from bot.lang import CJK as _CJK, detect, has_cjk  # noqa: F401  (has_cjk: part of this module's API)

_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"\w", re.UNICODE)
_LOCK = threading.Lock()

ZH_STOPWORDS = frozenset(
    """的 了 和 与 及 或 是 在 对 为 以 等 中 上 下 这 那 其 之 也 而 但 并 将 被 把 从 向 由 于 及其 有 没有
    我 你 他 她 它 我们 你们 他们 们 个 一个 一些 什么 怎么 怎样 如何 哪些 哪个 哪 吗 呢 吧 啊 么 说 讲 提到 提及
    文件 文档 关于 方面 问题 有关 相关 能 可以 会 要 该 此 各 所 些 又 还 都 就 很 更 最 多 少 请 告诉 一下 是否
    为什么 多少 有没有 哪里 谁 何 当 时 年 月 日 已 已经 通过 进行 使用 利用 以及 因为 所以 如果 虽然 即 指
    这些 那些 这种 这个 那个 本 第 给 让 使 用 着 过 来 去 到 后 前 内 外 里 人 中的 之中 这样 那样 怎么样""".split()
)
EN_STOPWORDS = frozenset(
    """a an the and or of to in on at for from by with without about into over under is are was were be been being
    do does did doing have has had having what which who whom whose when where why how that this these those there
    it its they them their i me my we our you your he she his her can could should would will shall may might must
    not no yes any some all each both more most other such than too very just also as if then so up out
    document documents say says said tell told show give explain describe mention mentioned paper papers text
    according please me us know question questions answer find list anything something thing things
    s t don doesn isn aren""".split()
)


def normalise(text: str) -> str:
    """Whitespace-free lower-case form (used for substring checks and gold matching)."""
    return re.sub(r"\s+", "", text).lower()


# --------------------------------------------------------------------------------------
# spaCy pipelines and jieba (loaded once, lazily)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def zh_nlp() -> Any:
    """Blank Chinese pipeline: jieba segmenter + sentencizer."""
    import spacy

    _jieba()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("sentencizer", config={"punct_chars": ["。", "！", "？", "!", "?", "；"]})
    return nlp


@lru_cache(maxsize=1)
def zh_chars() -> Any:
    """Blank Chinese pipeline with the character segmenter (for glossary matching)."""
    import spacy

    return spacy.blank("zh")


@lru_cache(maxsize=1)
def en_nlp() -> Any:
    """Blank English pipeline (tokens for glossary matching and sentences)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


_CLOSERS = "”’」』）)】》\"'"


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` over ``text``; a line break always ends a sentence."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        spans += [(offset + a, offset + b) for a, b in _line_sentences(line)]
        offset += len(line) + 1
    return spans


def _line_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans within one line (closing quotes stay with their sentence)."""
    if not text.strip():
        return []
    nlp = zh_nlp() if detect(text) != "en" else en_nlp()
    with _LOCK:
        doc = nlp(text)
    spans = [[s.start_char, s.end_char] for s in doc.sents]
    merged: list[list[int]] = []
    for start, end in spans:
        # move leading closing quotes to the previous sentence
        while start < end and text[start] in _CLOSERS and merged:
            merged[-1][1] = start + 1
            start += 1
        if start >= end:
            continue
        if merged and len(text[start:end].strip()) <= 2:  # stray fragment
            merged[-1][1] = end
            continue
        merged.append([start, end])
    out = []
    for start, end in merged:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end))
    return out


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def bigrams(text: str) -> list[str]:
    """Chinese character bigrams (robust to word-segmentation differences) plus Latin/digit words."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        out += [run[i:i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]
    out += [w.lower() for w in re.findall(r"[A-Za-z0-9]{2,}", text)]
    return out




def pos_tags(text: str) -> list[tuple[str, str]]:
    """jieba's words with part-of-speech tags (``ns`` place, ``nr`` person, ``nt`` organisation ...)."""
    _jieba()
    import jieba.posseg

    with _LOCK:
        return [(w.word, w.flag) for w in jieba.posseg.cut(text)]


def content_words(text: str) -> list[str]:
    """The query's words (jieba's precise cut), lower-cased, without stopwords and punctuation."""
    jieba = _jieba()
    with _LOCK:
        words = list(jieba.cut(text))
    out = []
    for w in words:
        w = w.strip().lower()
        if not w or not _WORD.search(w) or w in ZH_STOPWORDS or w in EN_STOPWORDS:
            continue
        if len(w) == 1 and not w.isdigit() and not _CJK.match(w):
            continue
        out.append(w)
    return out


def tokens(text: str, extra_words: Iterable[str] = ()) -> list[str]:
    """BM25 tokens: jieba search-mode words of the text, lower-cased, without stopwords."""
    jieba = _jieba()
    out: list[str] = []
    with _LOCK:
        pieces = list(jieba.cut_for_search(text))
    for tok in pieces:
        tok = tok.strip().lower()
        if not tok or not _WORD.search(tok):
            continue
        if tok in ZH_STOPWORDS or tok in EN_STOPWORDS:
            continue
        if len(tok) == 1 and not _CJK.match(tok) and not tok.isdigit():
            continue
        out.append(tok)
    return out


def weighted_terms(text: str, expansion: "Expansion | None" = None,
                   expansion_weight: float = 1.0, synonym_weight: float = 0.5) -> dict[str, float]:
    """BM25 query terms with weights: each query word (or glossary concept) counts about once.

    jieba's search mode splits a compound into overlapping sub-words (儿童性剥削 → 儿童, 剥削,
    儿童性, 性剥削, 儿童性剥削); they share the word's weight so long compounds do not
    outweigh short ones. Chinese terms of glossary entries matched in an English query, or
    through an everyday word the documents do not use (``zh_query``), carry
    ``expansion_weight`` per concept; synonyms of Chinese terms already in the query carry
    ``synonym_weight``.
    """
    jieba = _jieba()
    weights: dict[str, float] = {}

    def add(word: str, total: float) -> None:
        subs = tokens(word)
        if not subs:
            return
        for sub in subs:
            weights[sub] = weights.get(sub, 0.0) + total / len(subs)

    with _LOCK:
        words = list(jieba.cut(text))
    for word in words:
        add(word, 1.0)
    if expansion is not None:
        squeezed = re.sub(r"\s+", "", text).lower()
        for term in expansion.terms:
            # a concept named in English or in everyday words the documents do not use (蛇头)
            # counts like a query word; synonyms of a word the documents do use count less
            aliased = any(a.lower() in squeezed for a in term.zh_query) and not any(
                z.lower() in squeezed for z in term.zh)
            total = expansion_weight if term in expansion.english or aliased else synonym_weight
            variants = list(term.zh)
            for z in variants:
                add(z, total / max(1, len(variants)))
    return weights


# --------------------------------------------------------------------------------------
# Glossary


@dataclass(frozen=True)
class Term:
    """One glossary entry: English variants, Chinese variants (as the documents write them),
    topic, and Chinese words users say for it that the documents do not (``zh_query``:
    "蛇头" for 偷运者, "拐卖" for 贩运); those are recognised in questions only."""

    en: tuple[str, ...]
    zh: tuple[str, ...]
    topic: str
    zh_query: tuple[str, ...] = ()


@dataclass
class Expansion:
    """What the glossary found in a query: terms matched on the English or the Chinese side."""

    terms: list[Term] = field(default_factory=list)
    english: list[Term] = field(default_factory=list)

    @property
    def zh_terms(self) -> list[str]:
        seen: list[str] = []
        for term in self.terms:
            for z in term.zh:
                if z not in seen:
                    seen.append(z)
        return seen

    @property
    def topics(self) -> list[str]:
        return sorted({t.topic for t in self.terms})


class Glossary:
    """Bilingual EN↔ZH glossary with spaCy PhraseMatchers on both sides."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        data = data or {}
        self.topics: dict[str, str] = dict(data.get("topics") or {})
        self.terms: list[Term] = []
        for entry in data.get("terms") or []:
            en = tuple(str(x) for x in entry.get("en") or [] if str(x).strip())
            zh, zh_query = (tuple(re.sub(r"\s+", "", str(x)) for x in entry.get(key) or [] if str(x).strip())
                            for key in ("zh", "zh_query"))
            if en or zh:
                self.terms.append(Term(en, zh, str(entry.get("topic") or ""), zh_query))
        self.digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""
        self._en_matcher: Any = None
        self._zh_matcher: Any = None
        self._jieba_ready = False

    # matchers are built on first use: spaCy import and pattern tokenisation cost ~1 s
    def _build(self) -> None:
        from spacy.matcher import PhraseMatcher

        en, zh = en_nlp(), zh_chars()
        self._en_matcher = PhraseMatcher(en.vocab, attr="LOWER")
        self._zh_matcher = PhraseMatcher(zh.vocab, attr="ORTH")
        for i, term in enumerate(self.terms):
            if term.en:
                self._en_matcher.add(str(i), list(en.tokenizer.pipe(term.en)))
            if term.zh or term.zh_query:
                self._zh_matcher.add(str(i), list(zh.tokenizer.pipe([z.lower() for z in term.zh + term.zh_query])))

    def add_to_jieba(self) -> None:
        """Teach jieba the glossary's Chinese terms so BM25 tokens keep them whole."""
        if self._jieba_ready:
            return
        jieba = _jieba()
        with _LOCK:
            for term in self.terms:
                for z in term.zh + term.zh_query:
                    if len(z) >= 2 and _CJK.search(z):
                        jieba.add_word(z)
        self._jieba_ready = True

    def _matches(self, matcher: Any, doc: Any) -> list[Term]:
        found: list[Term] = []
        spans = [(s, e, int(doc.vocab.strings[mid])) for mid, s, e in matcher(doc)]
        # longest match wins where matches overlap ("dark web market" over "dark web")
        spans.sort(key=lambda x: (-(x[1] - x[0]), x[0]))
        taken: set[int] = set()
        for s, e, idx in spans:
            if taken.intersection(range(s, e)):
                continue
            taken.update(range(s, e))
            term = self.terms[idx]
            if term not in found:
                found.append(term)
        return found

    def match(self, text: str) -> Expansion:
        """Glossary terms in ``text`` (English and Chinese sides)."""
        if self._en_matcher is None:
            self._build()
        english: list[Term] = []
        found: list[Term] = []
        with _LOCK:
            if _LATIN.search(text):
                english = self._matches(self._en_matcher, en_nlp().make_doc(text))
                found += english
            if _CJK.search(text) or re.search(r"\d", text):
                zdoc = zh_chars().make_doc(re.sub(r"\s+", "", text).lower())
                found += [t for t in self._matches(self._zh_matcher, zdoc) if t not in found]
        return Expansion(found, english)

    def tag(self, text: str) -> list[str]:
        """Topics of a paragraph (from the Chinese terms it contains)."""
        return self.match(text).topics
