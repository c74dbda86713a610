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

What a build computed is kept for the next one in ``Settings.index_cache_dir``
(``models/index-cache/``): parsed documents (``corpus.ParsedCache``) and document embeddings
(``embeddings.DocumentVectors``). A build after a document was added parses and embeds only that
document; everything else (BM25, FAISS, the files) is rebuilt whole, which takes a second, so an
incremental build and one from nothing are the same code and give the same index. A long-running
process notices a replaced index (``Watch``) and loads it: no restart after ``bot add``.

Damaged files: the manifest records the size and SHA-256 of every other file of the index.
``status`` compares the sizes (a ``stat`` per file), ``Index.load`` the checksums too (about
15-30 ms for the 20 MB index, against about 270 ms to load it); a damaged index is "corrupt", named
by its file, and ``ensure`` rebuilds it.

One build at a time: a build holds an ``fcntl.flock`` on ``<index_dir>.lock`` (``models/index.lock``)
and writes its start time and expected duration there. Every other process or thread that
needs the index waits for it and then loads what it built (the state is checked again once
the lock is held), or, asked not to wait (a user's question), gets ``Rebuilding`` with the
seconds left at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from bot import cite, config, corpus as corpus_mod, embeddings, language, questions as questions_mod, readings as readings_mod, translations
from bot.documents import Catalog

INDEX_FORMAT = "7"


class IndexError_(RuntimeError):
    """The index is missing or unusable and cannot be (re)built."""


class Rebuilding(IndexError_):
    """Another process or thread is building the index right now (``ensure(wait=False)``)."""

    def __init__(self, seconds_left: int, lock: Path) -> None:
        super().__init__(f"the search index is being rebuilt (about {seconds_left} s left; lock {lock})")
        self.seconds_left = seconds_left


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


def _file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _file_list(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file of an index folder except the manifest (which lists them)."""
    return {p.name: {"size": p.stat().st_size, "sha256": _file_digest(p)}
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != "manifest.json"}


def _damaged(index_dir: Path, manifest: dict[str, Any], hashes: bool) -> str:
    """What is wrong with the files the manifest lists ("" if nothing): a missing file, another
    size, or (``hashes``) another checksum. Manifests from before checksums list none."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        return ""
    for name, meta in sorted(files.items()):
        path = index_dir / name
        try:
            size = path.stat().st_size
        except OSError:
            return f"index file missing: {path}"
        if size != meta.get("size"):
            return f"index file {path} is damaged ({size} bytes, expected {meta.get('size')})"
        if hashes and _file_digest(path) != meta.get("sha256"):
            return f"index file {path} is damaged (checksum mismatch)"
    return ""


def _fsync_tree(folder: Path) -> None:
    """Flush a finished index to disk before it replaces the old one."""
    for p in folder.iterdir():
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    if ctypes.get_errno() not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV, errno.EPERM):
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))
    return False


def _replace_dir(new: Path, target: Path) -> None:
    """Put the folder ``new`` in place of ``target``: swapped atomically where the system can
    (readers never see a missing or half-replaced index), else renamed aside and replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)   # ``new`` now holds the old index
        return
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


# ---- one build at a time ------------------------------------------------------------

def lock_path(settings: config.Settings) -> Path:
    """The build lock: ``<index_dir>.lock`` beside the index folder (``models/index.lock``)."""
    return settings.index_dir.with_name(settings.index_dir.name + ".lock")


def _last_build_seconds(settings: config.Settings) -> float:
    """How long the last build took (the manifest's ``build_seconds``), else the setting."""
    try:
        seconds = float(json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))["build_seconds"])
        return seconds if seconds > 0 else settings.index_build_seconds
    except (OSError, ValueError, KeyError, TypeError):
        return settings.index_build_seconds


def _write_lock_info(fd: int, info: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


def _seconds_left(settings: config.Settings, fd: int) -> int | None:
    """The holder's estimate of the seconds its build still needs; None unless it said it is
    building (it may only be checking the index). At least 5 s once a build overruns."""
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        info = {}
    if not isinstance(info, dict) or info.get("building") is not True:
        return None
    expected = float(info.get("expected_seconds") or settings.index_build_seconds)
    elapsed = max(0.0, time.time() - float(info.get("started") or time.time()))
    return max(5, int(round(expected - elapsed)))


def rebuilding(settings: config.Settings) -> int | None:
    """Seconds left of the index build another process or thread is running, None if none is."""
    path = lock_path(settings)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _seconds_left(settings, fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class BuildLock:
    """The held build lock; ``waited`` says whether another build had it first."""

    def __init__(self, fd: int, waited: bool, expected: float) -> None:
        self.fd, self.waited, self.expected = fd, waited, expected

    def building(self) -> None:
        """Tell waiting users a build is running, since when and for about how long."""
        _write_lock_info(self.fd, {"pid": os.getpid(), "started": time.time(), "building": True,
                                   "expected_seconds": self.expected})


@contextlib.contextmanager
def build_lock(settings: config.Settings, building: bool = True, wait: bool = True) -> Iterator[BuildLock]:
    """Hold the index build lock, waiting for whoever has it; ``wait=False``: raise
    ``Rebuilding`` as soon as the holder is building (only a holder checking the index is
    waited for). ``building=False``: only checking the index for now (``BuildLock.building``
    says when a build starts)."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if waited and wait else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                waited = True
                if not wait:
                    left = _seconds_left(settings, fd)
                    if left is not None:
                        raise Rebuilding(left, path) from None
                    time.sleep(0.1)
        try:
            lock = BuildLock(fd, waited, _last_build_seconds(settings))
            if building:
                lock.building()
            else:
                _write_lock_info(fd, {"pid": os.getpid(), "started": time.time(), "building": False})
            yield lock
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


EncoderFactory = Callable[[str], embeddings.Encoder]


def build(settings: config.Settings | None = None, progress: bool = True,
          encoder_factory: EncoderFactory | None = None) -> "Index":
    """Parse the corpus, build every reading and write a fresh index (atomically), holding the
    build lock (waiting for another build first).

    ``encoder_factory`` makes the encoder for a model name (default: the real model, using
    every core)."""
    settings = settings or config.settings()
    with build_lock(settings):
        return _build(settings, progress, encoder_factory)


def document_vectors(settings: config.Settings, names: list[str],
                     encoder_factory: EncoderFactory | None = None) -> list[embeddings.DocumentVectors]:
    """Each model's document embeddings, with what earlier builds computed
    (``Settings.index_cache_dir``; a test's fake encoders keep theirs apart from the real models')."""
    factory = encoder_factory or (lambda name: embeddings.Encoder(name, threads=os.cpu_count()))
    maker = "model" if encoder_factory is None else \
        f"{getattr(encoder_factory, '__module__', '')}.{getattr(encoder_factory, '__qualname__', type(encoder_factory).__qualname__)}"
    out = []
    for name in names:
        key = hashlib.sha256(f"{embeddings.model_fingerprint(name)}|{maker}".encode()).hexdigest()[:16]
        out.append(embeddings.DocumentVectors(name, settings.index_cache_dir / f"vectors-{key}.npz",
                                              lambda name=name: factory(name)))
    return out


def _build(settings: config.Settings, progress: bool, encoder_factory: EncoderFactory | None) -> "Index":
    """``build`` with the lock held."""
    say = readings_mod.say_to(progress)
    started = time.perf_counter()
    parts = fingerprint_parts(settings)
    parsed = corpus_mod.ParsedCache(settings.index_cache_dir / "documents")
    corp = corpus_mod.load_corpus(settings.documents_dir, cache=parsed)
    if corp.errors:
        raise corpus_mod.ParseError("; ".join(corp.errors))
    if not corp.documents:
        raise IndexError_(f"no documents found in {settings.documents_dir}")
    glossary = language.Glossary(settings.glossary_path)
    glossary.add_to_jieba()
    try:
        english = translations.load(settings.documents_dir, [d.id for d in corp.documents])
        sources = readings_mod.Sources(translations.headings(settings.documents_dir),
                                       questions_mod.load(settings.documents_dir, [d.id for d in corp.documents]),
                                       frozenset(d.id for d in corp.documents if d.english),
                                       lambda text: glossary.match(text).zh_terms)
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
    encoders = document_vectors(settings, names, encoder_factory)
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
        files = _file_list(tmp)
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
            "build_id": uuid.uuid4().hex,
            "build_seconds": round(time.perf_counter() - started, 2),
            "files": files,
        }
        _write_json(tmp / "manifest.json", manifest)
        _fsync_tree(tmp)
        _replace_dir(tmp, settings.index_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    for vectors in encoders:
        vectors.save()
    parsed.prune()
    embedded = sum(v.embedded for v in encoders)
    reused = sum(v.reused for v in encoders)
    say(f"Index written to {settings.index_dir} in {time.perf_counter() - started:.1f} s "
        f"({len(corp.documents) - parsed.hits} of {len(corp.documents)} documents parsed, "
        f"{embedded} texts embedded, {reused} embeddings reused).")
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
    def load(cls, index_dir: Path, settings: config.Settings | None = None, verify: bool = True) -> "Index":
        """Load a saved index; raises ``IndexError_`` with the reason if it is missing or corrupt
        (``verify``: a file whose size or checksum differs from the manifest's is corrupt)."""
        settings = settings or config.settings()
        try:
            manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
            damaged = _damaged(index_dir, manifest, hashes=True) if verify else ""
            if damaged:
                raise IndexError_(damaged)
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


def stamp(settings: config.Settings) -> tuple[int, int] | None:
    """What identifies the saved index: its manifest's inode and modification time. A build
    replaces the whole folder, so the stamp changes with every build (None: no index)."""
    try:
        st = (settings.index_dir / "manifest.json").stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


class Watch:
    """Tells a long-running process (the action server, the web server) that another process
    replaced the saved index (``bot add``, ``make index``), so that it loads the new one: an
    added document is searchable without a restart. Looks at most every ``every`` seconds
    (one ``stat``)."""

    def __init__(self, settings: config.Settings, every: float = 2.0) -> None:
        self.settings = settings
        self.every = every
        self._stamp: tuple[int, int] | None = None
        self._next = 0.0

    def mark(self) -> None:
        """Remember the index on disk now (call before loading it: a build finishing in between
        then shows as a change)."""
        self._stamp = stamp(self.settings)
        self._next = time.monotonic() + self.every

    def replaced(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.every
        current = stamp(self.settings)
        return current is not None and current != self._stamp


def diagnose(settings: config.Settings | None = None) -> tuple[str, dict[str, Any] | None, str]:
    """``status`` and what is wrong when it is "corrupt" (naming the damaged file). Sizes only:
    ``Index.load`` compares the checksums."""
    settings = settings or config.settings()
    path = settings.index_dir / "manifest.json"
    if not path.exists():
        return "missing", None, ""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return "corrupt", None, f"index file {path} is damaged ({type(exc).__name__})"
    damaged = _damaged(settings.index_dir, manifest, hashes=False)
    if damaged:
        return "corrupt", manifest, damaged
    # an index from before the file checksums is rebuilt once, so that it can be checked from then on
    current = fingerprint(fingerprint_parts(settings)) == manifest.get("fingerprint") and "files" in manifest
    return ("current" if current else "stale"), manifest, ""


def status(settings: config.Settings | None = None) -> tuple[str, dict[str, Any] | None]:
    """``("current"|"stale"|"missing"|"corrupt", manifest)`` for the saved index."""
    state, manifest, _ = diagnose(settings)
    return state, manifest


def ensure(settings: config.Settings | None = None, rebuild: bool = False, progress: bool = True,
           notify: Callable[[str], None] | None = None, encoder_factory: EncoderFactory | None = None,
           wait: bool = True) -> Index:
    """Load the index, building it first if it is missing, stale or corrupt.

    If the corpus changed but cannot be parsed (a broken new file), the previous index is
    loaded and the problem reported through ``notify``; only with no usable index at all
    does this raise. Exactly one build runs at a time (``build_lock``): a caller that finds
    another build running waits for it and loads its result, or with ``wait=False`` gets
    ``Rebuilding`` (the seconds left) at once.
    """
    settings = settings or config.settings()
    notify = notify or readings_mod.say_to(progress)
    state, _, problem = diagnose(settings)
    if state == "current" and not rebuild:
        try:
            return Index.load(settings.index_dir, settings)
        except IndexError_ as exc:
            state, problem = "corrupt", str(exc)
    with build_lock(settings, building=False, wait=wait) as lock:
        if lock.waited or not rebuild:
            # whoever held the lock may just have built it: check again instead of building twice
            state, _, problem = diagnose(settings)
            if state == "current":
                try:
                    return Index.load(settings.index_dir, settings)
                except IndexError_ as exc:
                    state, problem = "corrupt", str(exc)
        if state == "missing":
            notify("No search index yet: building it now (one-off, about a minute) ...")
        elif state == "stale" and not rebuild:
            notify("Documents, model or glossary changed: rebuilding the search index ...")
        elif state == "corrupt":
            notify(f"The saved index is damaged ({problem}): rebuilding it ...")
        lock.building()
        try:
            return _build(settings, progress, encoder_factory)
        except corpus_mod.ParseError as exc:
            if state in ("stale", "current"):
                notify(f"Could not rebuild the index: {exc}. Using the previous index.")
                return Index.load(settings.index_dir, settings)
            raise IndexError_(f"cannot build the index: {exc}") from exc
