"""Index stage: parse the corpus, build every reading's indexes, save and load them.

Layout of ``models/index/`` (JSON + FAISS files, no pickle):

- ``manifest.json``  fingerprint parts, models, sizes, document metadata, parse warnings
- ``passages.json``  every passage of every kind (for citations, footnotes, the viewer)
- ``search.json``    searchable rows → passage, glossary topics per row
- ``<reading>.json``, ``<reading>-passages-<k>.faiss``, ``<reading>-sentences.faiss``: each
  reading's tokens, sentence spans and vectors (``bot/readings.py``; model ``k`` of
  ``manifest["models"]``)

A fingerprint of corpus + parser version + models + glossary + translations + index format
decides whether the saved index is current; it is rebuilt only when one of them changed. A
build writes to a temporary folder and replaces the old index only when complete, so a failed
build (say, a new file that cannot be parsed) leaves the previous index usable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bot import cite, config, corpus as corpus_mod, embeddings, language, questions as questions_mod, readings as readings_mod, translations
from bot.documents import Catalog

INDEX_FORMAT = "7"


class IndexError_(RuntimeError):
    """The index is missing or unusable and cannot be (re)built."""


def models(settings: config.Settings) -> list[str]:
    """The embedding models an index is built with: the primary one, then the extra ones."""
    return [settings.embedding_model, *settings.extra_models]


def fingerprint_parts(settings: config.Settings) -> dict[str, str]:
    glossary = settings.glossary_path
    return {
        "corpus": corpus_mod.corpus_fingerprint(settings.documents_dir),
        "parser": corpus_mod.PARSER_VERSION,
        "model": embeddings.model_fingerprint(settings.embedding_model),
        "extra_models": json.dumps([embeddings.model_fingerprint(m) for m in settings.extra_models]),
        "glossary": hashlib.sha256(glossary.read_bytes()).hexdigest() if glossary.exists() else "",
        "translations": translations.fingerprint(settings.documents_dir),
        "questions": questions_mod.fingerprint(settings.documents_dir),
        "readings": ",".join(settings.readings),
        "kinds": ",".join(settings.search_kinds),
        "format": INDEX_FORMAT,
    }


def fingerprint(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


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


EncoderFactory = Callable[[str], embeddings.Encoder]


def build(settings: config.Settings | None = None, progress: bool = True,
          encoder_factory: EncoderFactory | None = None) -> "Index":
    """Parse the corpus, build every reading and write a fresh index (atomically).

    ``encoder_factory`` makes the encoder for a model name (default: the real model, using
    every core)."""
    settings = settings or config.settings()
    say = readings_mod.say_to(progress)
    started = time.perf_counter()
    parts = fingerprint_parts(settings)
    corp = corpus_mod.load_corpus(settings.documents_dir)
    if corp.errors:
        raise corpus_mod.ParseError("; ".join(corp.errors))
    if not corp.documents:
        raise IndexError_(f"no documents found in {settings.documents_dir}")
    glossary = language.Glossary(settings.glossary_path)
    glossary.add_to_jieba()
    try:
        english = translations.load(settings.documents_dir, [d.id for d in corp.documents])
        sources = readings_mod.Sources(translations.headings(settings.documents_dir),
                                       questions_mod.load(settings.documents_dir, [d.id for d in corp.documents]))
    except (translations.TranslationError, questions_mod.QuestionsError) as exc:
        raise corpus_mod.ParseError(str(exc)) from exc

    all_passages = corp.passages()
    for p in all_passages:
        p.text_en = english.get(p.id, "")
    searchable = [i for i, p in enumerate(all_passages) if p.kind in settings.search_kinds]
    rows = [all_passages[i] for i in searchable]
    names = models(settings)
    say(f"Indexing {len(corp.documents)} documents, {len(searchable)} searchable passages "
        f"({len(all_passages)} in all) with {', '.join(names)} ...")
    factory = encoder_factory or (lambda name: embeddings.Encoder(name, threads=os.cpu_count()))
    encoders = [factory(name) for name in names]
    built: dict[str, readings_mod.Reading] = {}
    for name in settings.readings:
        reading = readings_mod.READINGS[name]()
        reading.build(rows, encoders, settings, sources, progress, say)
        built[name] = reading
        if name != "original":
            say(f"{name} reading: {int(reading.has.sum())} of {len(rows)} searchable passages")

    tmp = Path(tempfile.mkdtemp(prefix=".index-", dir=settings.index_dir.parent if settings.index_dir.parent.exists() else None))
    try:
        for reading in built.values():
            reading.save(tmp)
        _write_json(tmp / "passages.json", [p.to_dict() for p in all_passages])
        _write_json(tmp / "search.json", {"rows": searchable, "topics": [glossary.tag(p.text) for p in rows]})
        translated = built["english"].has if "english" in built else None
        manifest = {
            "format": INDEX_FORMAT,
            "fingerprint": fingerprint(parts),
            "parts": parts,
            "model": settings.embedding_model,
            "extra_models": list(settings.extra_models),
            "models": names,
            "readings": list(built),
            "dim": int(encoders[0].dim),
            "passages": len(all_passages),
            "searchable": len(searchable),
            "sentences": int(len(built["original"].sentence_rows)) if "original" in built else 0,
            "translated": int(translated.sum()) if translated is not None else 0,
            "translated_documents": sorted({rows[r].doc_id for r in range(len(rows))
                                            if translated is not None and translated[r]}),
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
    say(f"Index written to {settings.index_dir} in {time.perf_counter() - started:.1f} s.")
    return Index.load(settings.index_dir, settings)


@dataclass
class Index:
    """A loaded index: every passage, the searchable rows, their readings and the catalog."""

    settings: config.Settings
    manifest: dict[str, Any]
    passages: list[corpus_mod.Passage]
    rows: list[int]                                  # searchable row → index into ``passages``
    topics: list[list[str]]
    readings: dict[str, readings_mod.Reading]
    catalog: Catalog
    headings_en: dict[str, dict[str, str]] = field(default_factory=dict)   # doc → {heading: English}
    by_id: dict[str, int] = field(default_factory=dict)
    row_of: dict[int, int] = field(default_factory=dict)
    _haystack: str = ""

    @classmethod
    def load(cls, index_dir: Path, settings: config.Settings | None = None) -> "Index":
        """Load a saved index; raises ``IndexError_`` with the reason if it is missing or corrupt."""
        settings = settings or config.settings()
        try:
            manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
            passages = [corpus_mod.Passage.from_dict(d) for d in
                        json.loads((index_dir / "passages.json").read_text(encoding="utf-8"))]
            search = json.loads((index_dir / "search.json").read_text(encoding="utf-8"))
            rows = list(search["rows"])
            loaded: dict[str, readings_mod.Reading] = {}
            for name in manifest.get("readings") or []:
                reading = readings_mod.READINGS[name]()
                reading.load(index_dir, len(rows), len(manifest.get("models") or []))
                loaded[name] = reading
        except FileNotFoundError as exc:
            raise IndexError_(f"index file missing: {exc.filename}") from exc
        except readings_mod.ReadingError as exc:
            raise IndexError_(f"index in {index_dir}: {exc}") from exc
        except (ValueError, KeyError, RuntimeError, UnicodeDecodeError) as exc:
            raise IndexError_(f"index in {index_dir} is corrupt ({type(exc).__name__}: {exc})") from exc
        if "original" not in loaded:
            raise IndexError_(f"index in {index_dir} has no original reading")
        try:
            headings = translations.headings(settings.documents_dir)
        except translations.TranslationError:
            headings = {}   # English citations then show the original headings
        return cls(
            settings=settings, manifest=manifest, passages=passages, rows=rows,
            topics=search.get("topics") or [[] for _ in rows], readings=loaded,
            catalog=Catalog.from_list(manifest.get("documents") or []), headings_en=headings,
            by_id={p.id: i for i, p in enumerate(passages)},
            row_of={pi: r for r, pi in enumerate(rows)},
        )

    @property
    def models(self) -> list[str]:
        return list(self.manifest.get("models") or [])

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.catalog.documents

    def passage(self, pid: str) -> corpus_mod.Passage | None:
        i = self.by_id.get(pid)
        return self.passages[i] if i is not None else None

    def row_passage(self, row: int) -> corpus_mod.Passage:
        return self.passages[self.rows[row]]

    def citation(self, p: corpus_mod.Passage, lang: str) -> str:
        """The citation line of a passage in ``lang`` (``bot/cite.py``); a footnote names the
        paragraph that cites it."""
        cited = ""
        if p.kind == corpus_mod.FOOTNOTE and p.cited_by:
            by = self.passage(p.cited_by[0])
            cited = cite.paragraph_label(by, lang) if by is not None else ""
        return cite.citation(p, self.catalog.meta(p.doc_id), "zh" if lang == "zh" else "en",
                             self.headings_en.get(p.doc_id), cited)

    def footnotes(self, p: corpus_mod.Passage) -> list[corpus_mod.Passage]:
        """The footnotes (and reference-list entries) a passage cites, in order."""
        return [n for n in (self.passage(fid) for fid in p.footnotes) if n is not None]

    def haystack(self) -> str:
        """Every passage of every kind (footnotes and references too), original and English
        reading, plus document titles and symbols, lower-cased: to tell whether the corpus
        mentions a name at all."""
        if not self._haystack:
            parts = [f"{p.text}\n{p.text_en}" for p in self.passages]
            for meta in self.catalog.values():
                parts += [str(meta.get(k) or "") for k in ("title", "title_en", "short_en", "short_zh", "symbol", "issuing_body", "place")]
                parts += [str(a) for a in (meta.get("aliases") or []) + (meta.get("authors") or [])]
            self._haystack = "\n".join(parts).lower()
        return self._haystack


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
           notify: Callable[[str], None] | None = None, encoder_factory: EncoderFactory | None = None) -> Index:
    """Load the index, building it first if it is missing, stale or corrupt.

    If the corpus changed but cannot be parsed (a broken new file), the previous index is
    loaded and the problem reported through ``notify``; only with no usable index at all
    does this raise.
    """
    settings = settings or config.settings()
    notify = notify or readings_mod.say_to(progress)
    state, _ = status(settings)
    if state == "current" and not rebuild:
        try:
            return Index.load(settings.index_dir, settings)
        except IndexError_ as exc:
            notify(f"The saved index cannot be loaded ({exc}); rebuilding it.")
            state = "corrupt"
    if state == "missing":
        notify("No search index yet: building it now (one-off, about a minute) ...")
    elif state == "stale" and not rebuild:
        notify("Documents, model or glossary changed: rebuilding the search index ...")
    elif state == "corrupt":
        notify("The saved index is damaged: rebuilding it ...")
    try:
        return build(settings, progress=progress, encoder_factory=encoder_factory)
    except corpus_mod.ParseError as exc:
        if state in ("stale", "current"):
            notify(f"Could not rebuild the index: {exc}. Using the previous index.")
            return Index.load(settings.index_dir, settings)
        raise IndexError_(f"cannot build the index: {exc}") from exc
