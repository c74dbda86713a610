"""Readings: the texts a searchable passage can be found by, each with its own indexes.

A reading maps every searchable passage (a *row*) to one text, or to none: the ``original``
reading is the passage as published ("innermost heading：text"); the ``english`` reading its
unofficial English translation (``data/documents/en/``), which rows without a translation
lack; the ``questions`` reading the everyday questions the passage answers
(``data/documents/questions/``, one per line). A reading owns what is built from its texts
and saves and loads it:

* one vector per row and embedding model (FAISS inner product over normalised vectors; zero
  vectors for rows without text),
* one vector per sentence (for the questions reading: per question) with the first
  ``sentence_models`` models (best-sentence matching and highlights),
* lexical indexes (BM25 over tokens; the original also over Chinese character bigrams).

Rankers (``bot/rankers.py``) score rows through a reading; adding a reading is one subclass
here plus its name in ``Settings.readings``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from dataclasses import dataclass, field

from bot import config, corpus as corpus_mod, language, translations

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class Sources:
    """What readings are made from besides the passages: English section headings
    (``{doc: {heading: English}}``), the per-passage question lists (``{passage: [q]}``) and the
    documents written in English (their own text is their English reading)."""

    headings: dict[str, dict[str, str]] = field(default_factory=dict)
    questions: dict[str, list[str]] = field(default_factory=dict)
    english: frozenset[str] = frozenset()
    # the Chinese glossary terms of an English text (``Glossary.match(...).zh_terms``): what an
    # English document's passage is also found by in Chinese questions' BM25 (None: not used)
    zh_terms: Callable[[str], list[str]] | None = None


# --------------------------------------------------------------------------------------
# building blocks: BM25 and FAISS


class LexicalIndex:
    """BM25 over tokens: rank-bm25's Okapi statistics held as a sparse term matrix.

    ``BM25Okapi`` computes idf (with its epsilon floor), document lengths and term
    frequencies; the matrix of per-term BM25 contributions lets a query with weighted terms
    be scored with one sparse product instead of a Python loop over documents.
    """

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        from rank_bm25 import BM25Okapi
        from scipy.sparse import csr_matrix

        self.okapi = BM25Okapi([d or ["∅"] for d in docs], k1=k1, b=b)
        self.vocab = {w: i for i, w in enumerate(self.okapi.idf)}
        ok = self.okapi
        rows, cols, vals = [], [], []
        for r, (freqs, dl) in enumerate(zip(ok.doc_freqs, ok.doc_len)):
            norm = ok.k1 * (1 - ok.b + ok.b * dl / ok.avgdl)
            for word, tf in freqs.items():
                rows.append(r)
                cols.append(self.vocab[word])
                vals.append(ok.idf[word] * tf * (ok.k1 + 1) / (tf + norm))
        self.matrix = csr_matrix((np.array(vals, np.float32), (rows, cols)),
                                 shape=(len(docs), max(1, len(self.vocab)))).tocsc()

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every document for weighted query terms (unknown terms score 0)."""
        cols = [(self.vocab[t], w) for t, w in terms.items() if t in self.vocab]
        if not cols:
            return np.zeros(self.matrix.shape[0], np.float32)
        idx = [c for c, _ in cols]
        weights = np.array([w for _, w in cols], np.float32)
        return np.asarray(self.matrix[:, idx] @ weights).ravel()


def make_faiss_index(vectors: np.ndarray, settings: config.Settings) -> Any:
    """Exact inner-product index for small corpora; HNSW above ``flat_index_max`` vectors."""
    import faiss

    n, dim = vectors.shape
    if n > settings.flat_index_max:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = settings.hnsw_ef_search
    else:
        index = faiss.IndexFlatIP(dim)
    if n:
        index.add(vectors)
    return index


def matrix_view(faiss_index: Any) -> np.ndarray:
    """The stored vectors of a flat or HNSW-flat index as a numpy view (no copy)."""
    import faiss

    flat = faiss_index
    if isinstance(faiss_index, faiss.IndexHNSW):
        flat = faiss.downcast_index(faiss_index.storage)
    n, d = flat.ntotal, flat.d
    if n == 0:
        return np.zeros((0, d), np.float32)
    if hasattr(flat, "get_xb"):
        return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)
    return flat.reconstruct_n(0, n)


class ReadingError(RuntimeError):
    """A saved reading is missing, damaged or does not fit the index."""


# --------------------------------------------------------------------------------------
# readings


class Reading:
    """One text per searchable row, and what is built from it (see the module docstring)."""

    name: ClassVar[str] = ""
    lexicons: ClassVar[tuple[str, ...]] = ("tokens",)   # lexical indexes this reading has
    sentence_models: ClassVar[int] = 1                  # the first N models embed each sentence

    def __init__(self) -> None:
        self.has = np.zeros(0, bool)                    # rows that have this reading
        self.words: dict[str, list[list[str]]] = {}     # lexicon → tokens per row
        self.lexical: dict[str, LexicalIndex | None] = {}
        self.passage_vectors: list[Any] = []            # per model: FAISS index over rows
        self.sentence_vectors: list[Any] = []           # per model: FAISS index over sentences
        self.sentence_rows = np.zeros((0, 3), np.int64) # [row, start, end] per sentence
        self._sent_start = np.zeros(0, np.int64)
        self._sent_count = np.zeros(0, np.int64)
        self._matrices: dict[str, np.ndarray] = {}

    # ---- what the reading is (subclasses) ------------------------------------------

    def text(self, p: corpus_mod.Passage, sources: Sources) -> str:
        """What the embedding models see for a row ("" when the row has no such reading)."""
        raise NotImplementedError

    def sentence_source(self, p: corpus_mod.Passage, sources: Sources) -> str:
        """The text split into sentences (highlights are spans of it)."""
        raise NotImplementedError

    def tokens(self, p: corpus_mod.Passage, text: str, sources: Sources) -> dict[str, list[str]]:
        """Lexical tokens per lexicon for a row whose reading is ``text``."""
        raise NotImplementedError

    def source_text(self, p: corpus_mod.Passage) -> str:
        """The passage text this reading quotes (highlight offsets refer to it)."""
        return self.sentence_source(p, Sources())

    # ---- build, save, load -----------------------------------------------------------

    def build(self, passages: list[corpus_mod.Passage], encoders: list[Any], settings: config.Settings,
              sources: Sources, progress: bool, say: Progress) -> None:
        """Compute this reading for ``passages`` (the searchable rows) with every model."""
        texts = [self.text(p, sources) for p in passages]
        rows = [r for r, t in enumerate(texts) if t]
        self.has = np.zeros(len(passages), bool)
        self.has[rows] = True
        per_row = [self.tokens(p, t, sources) if t else {} for p, t in zip(passages, texts)]
        self.words = {name: [tok.get(name, []) for tok in per_row] for name in self.lexicons}
        sentence_rows: list[list[int]] = []
        sentence_texts: list[str] = []
        for r in rows:
            source = self.sentence_source(passages[r], sources)
            for start, end in language.sentences(source):
                sentence_rows.append([r, start, end])
                sentence_texts.append(source[start:end])
        self.sentence_rows = np.array(sentence_rows, dtype=np.int64).reshape(-1, 3)
        present = [texts[r] for r in rows]
        self.passage_vectors, self.sentence_vectors = [], []
        for k, encoder in enumerate(encoders):
            if k:
                say(f"Embedding the {self.name} reading with {encoder.name} ...")
            batch = 32 if k == 0 else 8
            vecs = encoder.encode(present, batch_size=batch, progress=progress, query=False) if present else None
            dim = encoder.dim if vecs is None else vecs.shape[1]
            full = np.zeros((len(passages), dim), np.float32)
            if vecs is not None:
                full[rows] = vecs
            self.passage_vectors.append(make_faiss_index(full, settings))
            if k < self.sentence_models:
                sent = (encoder.encode(sentence_texts, batch_size=batch, progress=progress, query=False)
                        if sentence_texts else np.zeros((0, dim), np.float32))
                self.sentence_vectors.append(make_faiss_index(sent, settings))
        self._finish()

    def save(self, folder: Path) -> None:
        import faiss

        for k, vectors in enumerate(self.passage_vectors):
            faiss.write_index(vectors, str(folder / f"{self.name}-passages-{k}.faiss"))
        for k, vectors in enumerate(self.sentence_vectors):
            faiss.write_index(vectors, str(folder / f"{self.name}-sentences-{k}.faiss"))
        data = {"rows": [int(r) for r in np.flatnonzero(self.has)], "n": int(len(self.has)),
                "sentences": self.sentence_rows.tolist(), "lexicons": self.words}
        (folder / f"{self.name}.json").write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                                                  encoding="utf-8")

    def load(self, folder: Path, n_rows: int, n_models: int) -> None:
        """Read what ``save`` wrote; raises ``ReadingError`` with the reason."""
        import faiss

        try:
            data = json.loads((folder / f"{self.name}.json").read_text(encoding="utf-8"))
            self.passage_vectors = [faiss.read_index(str(folder / f"{self.name}-passages-{k}.faiss"))
                                    for k in range(n_models)]
            self.sentence_vectors = [faiss.read_index(str(folder / f"{self.name}-sentences-{k}.faiss"))
                                     for k in range(min(n_models, self.sentence_models))]
        except FileNotFoundError as exc:
            raise ReadingError(f"index file missing: {exc.filename}") from exc
        except (ValueError, KeyError, RuntimeError, UnicodeDecodeError) as exc:
            raise ReadingError(f"{self.name} reading is corrupt ({type(exc).__name__}: {exc})") from exc
        self.has = np.zeros(n_rows, bool)
        self.has[list(data.get("rows") or [])] = True
        self.sentence_rows = np.array(data.get("sentences") or [], dtype=np.int64).reshape(-1, 3)
        self.words = {name: list((data.get("lexicons") or {}).get(name) or [[] for _ in range(n_rows)])
                      for name in self.lexicons}
        if (data.get("n") != n_rows or any(v.ntotal != n_rows for v in self.passage_vectors)
                or any(v.ntotal != len(self.sentence_rows) for v in self.sentence_vectors)
                or any(len(w) != n_rows for w in self.words.values())):
            raise ReadingError(f"the {self.name} reading is inconsistent (vector counts do not match)")
        self._finish()

    def _finish(self) -> None:
        self.lexical = {name: (LexicalIndex(words) if any(words) else None) for name, words in self.words.items()}
        n = len(self.has)
        counts = (np.bincount(self.sentence_rows[:, 0], minlength=n) if len(self.sentence_rows)
                  else np.zeros(n, np.int64))
        self._sent_count = counts
        self._sent_start = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n else counts
        self._matrices = {}

    # ---- query side --------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return bool(self.has.any())

    def matrix(self, model: int) -> np.ndarray:
        """All row vectors of one model as a (zero-copy) matrix."""
        key = f"passages-{model}"
        if key not in self._matrices:
            self._matrices[key] = matrix_view(self.passage_vectors[model])
        return self._matrices[key]

    def sentence_matrix(self, model: int = 0) -> np.ndarray:
        key = f"sentences-{model}"
        if key not in self._matrices:
            self._matrices[key] = matrix_view(self.sentence_vectors[model])
        return self._matrices[key]

    def sentence_span(self, row: int) -> tuple[int, int]:
        """First sentence id and count of a row (a row's sentences are contiguous)."""
        return int(self._sent_start[row]), int(self._sent_count[row])

    def vocabulary(self, lexicon: str = "tokens") -> dict[str, int]:
        index = self.lexical.get(lexicon)
        return index.vocab if index is not None else {}


def _heading(p: corpus_mod.Passage) -> str:
    return p.section[-1]["title"] if p.section else ""


class Original(Reading):
    """The passage as published: "innermost heading：text"; BM25 over jieba words of the text
    and heading, and over Chinese character bigrams of the text."""

    name = "original"
    lexicons = ("tokens", "bigrams")

    def text(self, p: corpus_mod.Passage, sources: Sources) -> str:
        heading = _heading(p)
        if not heading:
            return p.text
        # an English document's text is its English reading's too: the same text, embedded once
        return f"{heading}: {p.text}" if p.doc_id in sources.english else f"{heading}：{p.text}"

    def sentence_source(self, p: corpus_mod.Passage, sources: Sources) -> str:
        return p.text

    def tokens(self, p: corpus_mod.Passage, text: str, sources: Sources) -> dict[str, list[str]]:
        words, bigrams = language.tokens(p.text + " " + _heading(p)), language.bigrams(p.text)
        if p.doc_id in sources.english and sources.zh_terms is not None:
            # an English passage has no Chinese words: its glossary terms' Chinese names stand in
            # for them, so Chinese questions find it by their words too, not by the models alone
            for term in sources.zh_terms(text):
                words += language.tokens(term)
                bigrams += language.bigrams(term)
        return {"tokens": words, "bigrams": bigrams}


class English(Reading):
    """The passage in English: the unofficial translation, "English heading: translation", or
    for a document written in English its own text, "heading: text"; BM25 over Snowball stems.
    Rows of other documents without a translation have none."""

    name = "english"

    def text(self, p: corpus_mod.Passage, sources: Sources) -> str:
        if p.doc_id in sources.english:
            heading = _heading(p)
            return f"{heading}: {p.text}" if heading else p.text
        if not p.text_en:
            return ""
        heading = sources.headings.get(p.doc_id, {}).get(_heading(p), "")
        return f"{heading}: {p.text_en}" if heading else p.text_en

    def sentence_source(self, p: corpus_mod.Passage, sources: Sources) -> str:
        return p.text if p.doc_id in sources.english else p.text_en

    def tokens(self, p: corpus_mod.Passage, text: str, sources: Sources) -> dict[str, list[str]]:
        return {"tokens": translations.en_tokens(text)}


class Questions(Reading):
    """The everyday questions the passage answers (``bot/questions.py``), one per line, in both
    languages: each question is a "sentence" embedded by every model; BM25 over jieba words of
    the Chinese ones and Snowball stems of the English ones. Rows without a list have none."""

    name = "questions"
    sentence_models = 2

    def text(self, p: corpus_mod.Passage, sources: Sources) -> str:
        return "\n".join(sources.questions.get(p.id, []))

    def sentence_source(self, p: corpus_mod.Passage, sources: Sources) -> str:
        return self.text(p, sources)

    def tokens(self, p: corpus_mod.Passage, text: str, sources: Sources) -> dict[str, list[str]]:
        words: list[str] = []
        for line in text.split("\n"):
            words += language.tokens(line) if language.has_cjk(line) else translations.en_tokens(line)
        return {"tokens": words}


READINGS: dict[str, type[Reading]] = {cls.name: cls for cls in (Original, English, Questions)}


def say_to(progress: bool) -> Progress:
    """Tell the person at the terminal (``progress``), or else the log (the action server's)."""
    def say(message: str) -> None:
        if progress and sys.stderr.isatty():
            print(message, file=sys.stderr, flush=True)
        else:
            log.warning("search index: %s", message)
    return say
