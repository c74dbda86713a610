"""Index stage: embed passages and sentences, build FAISS + BM25 data, save and load them.

Layout of ``models/index/`` (JSON + FAISS files, no pickle):

- ``manifest.json``  fingerprint parts, model, sizes, document metadata, parse errors
- ``passages.json``  every passage of every kind (for citations, footnotes, the viewer)
- ``search.json``    searchable rows → passage, BM25 tokens, sentence spans, topics
- ``passages.faiss`` one normalised vector per searchable passage (inner product = cosine)
- ``sentences.faiss`` one vector per sentence of the searchable passages
- ``passages-<k>.faiss`` the same passages embedded with each extra model
- ``*-en*.faiss``    the same for the English reading (data/documents/en/); zero vectors for
  passages without a translation

A fingerprint of corpus + parser version + model + glossary + index format decides whether
the saved index is current; it is rebuilt only when one of them changed. A build writes to
a temporary folder and replaces the old index only when complete, so a failed build (say, a
new file that cannot be parsed) leaves the previous index usable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bot import config, corpus as corpus_mod, embeddings, language, translations

INDEX_FORMAT = "6"
log = logging.getLogger(__name__)


class IndexError_(RuntimeError):
    """The index is missing or unusable and cannot be (re)built."""


def fingerprint_parts(settings: config.Settings) -> dict[str, str]:
    glossary = settings.glossary_path
    return {
        "corpus": corpus_mod.corpus_fingerprint(settings.documents_dir),
        "parser": corpus_mod.PARSER_VERSION,
        "model": embeddings.model_fingerprint(settings.embedding_model),
        "extra_models": json.dumps([embeddings.model_fingerprint(m) for m in settings.extra_models]),
        "glossary": hashlib.sha256(glossary.read_bytes()).hexdigest() if glossary.exists() else "",
        "translations": translations.fingerprint(settings.documents_dir),
        "format": INDEX_FORMAT,
    }


def fingerprint(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def embed_text(p: corpus_mod.Passage) -> str:
    """What the dense model sees for a passage: its innermost heading, then the text."""
    heading = p.section[-1]["title"] if p.section else ""
    return f"{heading}：{p.text}" if heading else p.text


def embed_text_en(p: corpus_mod.Passage, headings: dict[str, dict[str, str]]) -> str:
    """The same for the English reading: the heading's English rendering, then the translation."""
    heading = p.section[-1]["title"] if p.section else ""
    heading = headings.get(p.doc_id, {}).get(heading, "")
    return f"{heading}: {p.text_en}" if heading else p.text_en


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


def _say(progress: bool, message: str) -> None:
    """Tell the person at the terminal (``progress``), or else the log (the action server's)."""
    if progress and sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)
    else:
        log.warning("search index: %s", message)


def build(settings: config.Settings | None = None, progress: bool = True,
          encoder: embeddings.Encoder | None = None) -> "Index":
    """Parse the corpus, embed it and write a fresh index (atomically)."""
    settings = settings or config.settings()
    started = time.perf_counter()
    parts = fingerprint_parts(settings)
    corp = corpus_mod.load_corpus(settings.documents_dir)
    if corp.errors:
        raise corpus_mod.ParseError("; ".join(corp.errors))
    if not corp.documents:
        raise IndexError_(f"no documents found in {settings.documents_dir}")
    glossary = language.load_glossary(str(settings.glossary_path))
    glossary.add_to_jieba()
    try:
        english = translations.load(settings.documents_dir, [d.id for d in corp.documents])
        headings = translations.headings(settings.documents_dir)
    except translations.TranslationError as exc:
        raise corpus_mod.ParseError(str(exc)) from exc

    all_passages = corp.passages()
    for p in all_passages:
        p.text_en = english.get(p.id, "")
    searchable = [i for i, p in enumerate(all_passages) if p.kind in settings.search_kinds]
    _say(progress, f"Indexing {len(corp.documents)} documents, {len(searchable)} searchable passages "
                   f"({len(all_passages)} in all) with {settings.embedding_model} ...")
    tokens = [language.tokens(all_passages[i].text + " " + (all_passages[i].section[-1]["title"] if all_passages[i].section else ""))
              for i in searchable]
    topics = [glossary.tag(all_passages[i].text) for i in searchable]
    sentence_rows: list[list[int]] = []
    sentence_texts: list[str] = []
    for row, i in enumerate(searchable):
        text = all_passages[i].text
        for start, end in language.sentences(text):
            sentence_rows.append([row, start, end])
            sentence_texts.append(text[start:end])

    # the English reading: rows without a translation get no tokens and zero vectors
    en_rows = [r for r, i in enumerate(searchable) if all_passages[i].text_en]
    en_tokens = [translations.en_tokens(embed_text_en(all_passages[i], headings)) if all_passages[i].text_en else []
                 for i in searchable]
    en_sentence_rows: list[list[int]] = []
    en_sentence_texts: list[str] = []
    for row in en_rows:
        text = all_passages[searchable[row]].text_en
        for start, end in language.sentences(text):
            en_sentence_rows.append([row, start, end])
            en_sentence_texts.append(text[start:end])
    if en_rows:
        _say(progress, f"English reading: {len(en_rows)} of {len(searchable)} searchable passages translated")

    encoder = encoder or embeddings.Encoder(settings.embedding_model, threads=os.cpu_count())
    texts = [embed_text(all_passages[i]) for i in searchable]
    en_texts = [embed_text_en(all_passages[searchable[r]], headings) for r in en_rows]
    passage_vecs = encoder.encode(texts, progress=progress, query=False)
    sentence_vecs = encoder.encode(sentence_texts, progress=progress, query=False)
    en_passage_vecs = _scatter(encoder.encode(en_texts, progress=progress, query=False) if en_rows else None,
                               en_rows, len(searchable), passage_vecs.shape[1])
    en_sentence_vecs = (encoder.encode(en_sentence_texts, progress=progress, query=False) if en_sentence_texts
                        else np.zeros((0, passage_vecs.shape[1]), np.float32))
    extra_vecs, en_extra_vecs = [], []
    for name in settings.extra_models:
        _say(progress, f"Embedding passages with {name} ...")
        extra = embeddings.Encoder(name, threads=os.cpu_count())
        extra_vecs.append(extra.encode(texts, batch_size=8, progress=progress, query=False))
        en_extra_vecs.append(_scatter(extra.encode(en_texts, batch_size=8, progress=progress, query=False) if en_rows else None,
                                      en_rows, len(searchable), extra_vecs[-1].shape[1]))

    tmp = Path(tempfile.mkdtemp(prefix=".index-", dir=settings.index_dir.parent if settings.index_dir.parent.exists() else None))
    try:
        import faiss

        faiss.write_index(make_faiss_index(passage_vecs, settings), str(tmp / "passages.faiss"))
        faiss.write_index(make_faiss_index(sentence_vecs, settings), str(tmp / "sentences.faiss"))
        for k, vecs in enumerate(extra_vecs, start=1):
            faiss.write_index(make_faiss_index(vecs, settings), str(tmp / f"passages-{k}.faiss"))
        faiss.write_index(make_faiss_index(en_passage_vecs, settings), str(tmp / "passages-en.faiss"))
        faiss.write_index(make_faiss_index(en_sentence_vecs, settings), str(tmp / "sentences-en.faiss"))
        for k, vecs in enumerate(en_extra_vecs, start=1):
            faiss.write_index(make_faiss_index(vecs, settings), str(tmp / f"passages-en-{k}.faiss"))
        _write_json(tmp / "passages.json", [p.to_dict() for p in all_passages])
        _write_json(tmp / "search.json", {
            "rows": searchable, "tokens": tokens, "topics": topics, "sentences": sentence_rows,
            "bigrams": [language.bigrams(all_passages[i].text) for i in searchable],
            "en_rows": en_rows, "en_tokens": en_tokens, "en_sentences": en_sentence_rows,
        })
        manifest = {
            "format": INDEX_FORMAT,
            "fingerprint": fingerprint(parts),
            "parts": parts,
            "model": settings.embedding_model,
            "extra_models": list(settings.extra_models),
            "dim": int(passage_vecs.shape[1]),
            "passages": len(all_passages),
            "searchable": len(searchable),
            "sentences": len(sentence_texts),
            "translated": len(en_rows),
            "translated_documents": sorted({all_passages[searchable[r]].doc_id for r in en_rows}),
            "faiss": "IndexHNSWFlat" if len(searchable) > settings.flat_index_max else "IndexFlatIP",
            "documents": [d.meta for d in corp.documents],
            "warnings": {d.id: d.warnings for d in corp.documents if d.warnings},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - started, 2),
        }
        _write_json(tmp / "manifest.json", manifest)
        _replace_dir(tmp, settings.index_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _say(progress, f"Index written to {settings.index_dir} in {time.perf_counter() - started:.1f} s.")
    return Index.load(settings.index_dir, settings, encoder=encoder)


def _scatter(vectors: np.ndarray | None, rows: list[int], n: int, dim: int) -> np.ndarray:
    """One vector per searchable row: ``vectors`` at ``rows``, zeros elsewhere (no translation)."""
    out = np.zeros((n, dim), np.float32)
    if vectors is not None and len(rows):
        out[rows] = vectors
    return out


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _replace_dir(new: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _matrix_view(faiss_index: Any) -> np.ndarray:
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


class LexicalIndex:
    """BM25 over jieba tokens: rank-bm25's Okapi statistics held as a sparse term matrix.

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


@dataclass
class Index:
    """A loaded index: passages, FAISS indexes, BM25, and the (lazily loaded) encoder."""

    settings: config.Settings
    manifest: dict[str, Any]
    passages: list[corpus_mod.Passage]
    rows: list[int]
    tokens: list[list[str]]
    topics: list[list[str]]
    sentence_rows: np.ndarray
    dense: Any
    sentence_index: Any
    bm25: Any
    extra: list[tuple[str, Any]] = field(default_factory=list)   # (model name, passage index)
    bigrams: Any = None                                           # BM25 over character bigrams
    # the English reading (rows without a translation have no tokens and zero vectors)
    has_en: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    en_tokens: list[list[str]] = field(default_factory=list)
    en_bm25: Any = None
    en_dense: Any = None
    en_sentence_index: Any = None
    en_sentence_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    en_extra: list[Any] = field(default_factory=list)
    by_id: dict[str, int] = field(default_factory=dict)
    row_of: dict[int, int] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    _encoder: embeddings.Encoder | None = None
    _extra_encoders: dict[str, embeddings.Encoder] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _matrices: dict[str, np.ndarray] = field(default_factory=dict)
    _sent_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _sent_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _en_sent_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _en_sent_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _haystack: str = ""

    def haystack(self) -> str:
        """Every passage of every kind (footnotes and references too), original and English
        reading, plus document titles and symbols, lower-cased: to tell whether the corpus
        mentions a name at all."""
        if not self._haystack:
            parts = [f"{p.text}\n{p.text_en}" for p in self.passages]
            for meta in self.documents.values():
                parts += [str(meta.get(k) or "") for k in ("title", "title_en", "short_en", "short_zh", "symbol", "issuing_body", "place")]
                parts += [str(a) for a in (meta.get("aliases") or []) + (meta.get("authors") or [])]
            self._haystack = "\n".join(parts).lower()
        return self._haystack

    @classmethod
    def load(cls, index_dir: Path, settings: config.Settings | None = None,
             encoder: embeddings.Encoder | None = None) -> "Index":
        """Load a saved index; raises ``IndexError_`` with the reason if it is missing or corrupt."""
        import faiss

        settings = settings or config.settings()
        try:
            manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
            passages = [corpus_mod.Passage.from_dict(d) for d in
                        json.loads((index_dir / "passages.json").read_text(encoding="utf-8"))]
            search = json.loads((index_dir / "search.json").read_text(encoding="utf-8"))
            dense = faiss.read_index(str(index_dir / "passages.faiss"))
            sentence_index = faiss.read_index(str(index_dir / "sentences.faiss"))
            extra = [(name, faiss.read_index(str(index_dir / f"passages-{k}.faiss")))
                     for k, name in enumerate(manifest.get("extra_models") or [], start=1)]
            en_dense = faiss.read_index(str(index_dir / "passages-en.faiss"))
            en_sentence_index = faiss.read_index(str(index_dir / "sentences-en.faiss"))
            en_extra = [faiss.read_index(str(index_dir / f"passages-en-{k}.faiss"))
                        for k, _ in enumerate(manifest.get("extra_models") or [], start=1)]
        except FileNotFoundError as exc:
            raise IndexError_(f"index file missing: {exc.filename}") from exc
        except (ValueError, KeyError, RuntimeError, UnicodeDecodeError) as exc:
            raise IndexError_(f"index in {index_dir} is corrupt ({type(exc).__name__}: {exc})") from exc
        rows = list(search["rows"])
        en_sentences = search.get("en_sentences") or []
        if (dense.ntotal != len(rows) or sentence_index.ntotal != len(search["sentences"])
                or any(x.ntotal != len(rows) for _, x in extra)
                or en_dense.ntotal != len(rows) or any(x.ntotal != len(rows) for x in en_extra)
                or en_sentence_index.ntotal != len(en_sentences) or len(search.get("en_tokens") or []) != len(rows)):
            raise IndexError_(f"index in {index_dir} is inconsistent (vector counts do not match)")
        tokens = search["tokens"]
        bm25 = LexicalIndex(tokens) if tokens else None
        bigram_index = LexicalIndex(search["bigrams"]) if search.get("bigrams") else None
        index = cls(
            settings=settings, manifest=manifest, passages=passages, rows=rows, tokens=tokens,
            topics=search.get("topics") or [[] for _ in rows],
            sentence_rows=np.array(search["sentences"], dtype=np.int64).reshape(-1, 3),
            dense=dense, sentence_index=sentence_index, bm25=bm25, _encoder=encoder, extra=extra,
            bigrams=bigram_index, en_tokens=search["en_tokens"], en_dense=en_dense,
            en_sentence_index=en_sentence_index, en_extra=en_extra,
            en_sentence_rows=np.array(en_sentences, dtype=np.int64).reshape(-1, 3),
        )
        index.has_en = np.zeros(len(rows), bool)
        index.has_en[list(search.get("en_rows") or [])] = True
        index.en_bm25 = LexicalIndex(index.en_tokens) if any(index.en_tokens) else None
        index.by_id = {p.id: i for i, p in enumerate(passages)}
        index.row_of = {pi: r for r, pi in enumerate(rows)}
        index.documents = {d["id"]: d for d in manifest.get("documents", [])}
        counts = np.bincount(index.sentence_rows[:, 0], minlength=len(rows)) if len(index.sentence_rows) else np.zeros(len(rows), np.int64)
        index._sent_count = counts
        index._sent_start = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(rows) else counts
        en_counts = (np.bincount(index.en_sentence_rows[:, 0], minlength=len(rows)) if len(index.en_sentence_rows)
                     else np.zeros(len(rows), np.int64))
        index._en_sent_count = en_counts
        index._en_sent_start = np.concatenate([[0], np.cumsum(en_counts)[:-1]]) if len(rows) else en_counts
        return index

    @property
    def encoder(self) -> embeddings.Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = embeddings.Encoder(self.manifest.get("model") or self.settings.embedding_model)
            return self._encoder

    def extra_encoder(self, name: str) -> embeddings.Encoder:
        with self._lock:
            enc = self._extra_encoders.get(name)
            if enc is None:
                enc = self._extra_encoders[name] = embeddings.Encoder(name)
            return enc

    def passage(self, pid: str) -> corpus_mod.Passage | None:
        i = self.by_id.get(pid)
        return self.passages[i] if i is not None else None

    def vectors(self, which: str) -> np.ndarray:
        """All vectors of ``dense``, ``sentences`` or ``extra<k>`` as a (zero-copy) matrix."""
        cached = self._matrices.get(which)
        if cached is None:
            if which == "dense":
                faiss_index = self.dense
            elif which == "sentences":
                faiss_index = self.sentence_index
            elif which == "en_dense":
                faiss_index = self.en_dense
            elif which == "en_sentences":
                faiss_index = self.en_sentence_index
            elif which.startswith("en_extra"):
                faiss_index = self.en_extra[int(which[8:]) - 1]
            else:
                faiss_index = self.extra[int(which[5:]) - 1][1]
            cached = self._matrices[which] = _matrix_view(faiss_index)
        return cached

    def sentence_span(self, row: int, en: bool = False) -> tuple[int, int]:
        """First sentence id and count of searchable row ``row`` (sentences are contiguous);
        ``en``: of its English reading."""
        if en:
            return int(self._en_sent_start[row]), int(self._en_sent_count[row])
        return int(self._sent_start[row]), int(self._sent_count[row])


def status(settings: config.Settings | None = None) -> tuple[str, dict[str, Any] | None]:
    """``("current"|"stale"|"missing"|"corrupt", manifest)`` for the saved index."""
    settings = settings or config.settings()
    path = settings.index_dir / "manifest.json"
    if not path.exists():
        return "missing", None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return "corrupt", None
    current = fingerprint(fingerprint_parts(settings)) == manifest.get("fingerprint")
    return ("current" if current else "stale"), manifest


def ensure(settings: config.Settings | None = None, rebuild: bool = False, progress: bool = True,
           notify: Callable[[str], None] | None = None) -> Index:
    """Load the index, building it first if it is missing, stale or corrupt.

    If the corpus changed but cannot be parsed (a broken new file), the previous index is
    loaded and the problem reported through ``notify``; only with no usable index at all
    does this raise.
    """
    settings = settings or config.settings()
    notify = notify or (lambda m: _say(progress, m))
    state, _ = status(settings)
    if state == "current" and not rebuild:
        try:
            return Index.load(settings.index_dir, settings)
        except IndexError_ as exc:
            notify(f"The saved index cannot be loaded ({exc}); rebuilding it.")
            state = "corrupt"
    if state == "missing":
        notify("No search index yet: building it now (one-off, under a minute) ...")
    elif state == "stale" and not rebuild:
        notify("Documents, model or glossary changed: rebuilding the search index ...")
    elif state == "corrupt":
        notify("The saved index is damaged: rebuilding it ...")
    try:
        return build(settings, progress=progress)
    except corpus_mod.ParseError as exc:
        if state in ("stale", "current"):
            notify(f"Could not rebuild the index: {exc}. Using the previous index.")
            return Index.load(settings.index_dir, settings)
        raise IndexError_(f"cannot build the index: {exc}") from exc
