"""Index lifecycle: fingerprint, rebuild on change, missing/corrupt files (checksums), broken new
documents, one build at a time."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from bot import config, corpus, index, readings
from bot.engine import Engine
from tests.fakes import FakeEncoder
from tests.helpers import search_json


def _ensure(settings: config.Settings, **kwargs: object) -> index.Index:
    return index.ensure(settings, progress=False, encoder_factory=FakeEncoder, **kwargs)  # type: ignore[arg-type]


def _search(settings: config.Settings, idx: index.Index, text: str) -> dict[str, object]:
    engine = Engine(dataclasses.replace(settings, min_confidence=0.0), encoder_factory=FakeEncoder)
    engine.use_index(idx)
    return search_json(engine, text)


def test_missing_index_is_built_on_first_use_with_a_message(small_settings: config.Settings) -> None:
    messages: list[str] = []
    assert index.status(small_settings)[0] == "missing"
    idx = _ensure(small_settings, notify=messages.append)
    assert messages and "building" in messages[0]
    assert index.status(small_settings)[0] == "current"
    assert idx.manifest["faiss"] == "IndexFlatIP"
    for name in ("manifest.json", "passages.json", "search.json", "original.json", "original-passages-0.faiss",
                 "original-sentences-0.faiss", "english.json", "english-passages-0.faiss"):
        assert (small_settings.index_dir / name).is_file()
    assert not list(small_settings.index_dir.glob("*.pkl"))


def test_index_rebuilds_only_when_something_changed(small_settings: config.Settings) -> None:
    _ensure(small_settings)
    built = json.loads((small_settings.index_dir / "manifest.json").read_text())["built_at"]
    _ensure(small_settings)  # unchanged: loaded, not rebuilt
    assert json.loads((small_settings.index_dir / "manifest.json").read_text())["built_at"] == built
    # a new document changes the corpus fingerprint
    (small_settings.documents_dir / "note.md").write_text("# Note\n\nDrones carry contraband into prisons.\n",
                                                          encoding="utf-8")
    assert index.status(small_settings)[0] == "stale"
    idx = _ensure(small_settings)
    assert "note" in idx.documents
    # another model is another fingerprint
    other = dataclasses.replace(small_settings, embedding_model="some/other-model")
    assert index.fingerprint(index.fingerprint_parts(other)) != idx.manifest["fingerprint"]


def test_broken_new_file_keeps_the_previous_index_usable(small_settings: config.Settings) -> None:
    _ensure(small_settings)
    (small_settings.documents_dir / "scan.txt").write_bytes(b"%PDF-1.7\x00\x01\x02binary")
    with pytest.raises(corpus.ParseError, match="scan.txt"):
        index.build(small_settings, progress=False, encoder_factory=FakeEncoder)
    messages: list[str] = []
    idx = _ensure(small_settings, notify=messages.append)
    assert any("scan.txt" in m and "previous index" in m for m in messages)
    resp = _search(small_settings, idx, "加密货币")
    assert resp["results"] and resp["results"][0]["doc_id"] == "congress-ws4-report"


@pytest.mark.chaos
def test_corrupt_index_is_rebuilt(small_settings: config.Settings) -> None:
    _ensure(small_settings)
    (small_settings.index_dir / "original-passages-0.faiss").write_bytes(b"garbage")
    messages: list[str] = []
    idx = _ensure(small_settings, notify=messages.append)
    assert any("rebuild" in m for m in messages)
    assert idx.readings["original"].passage_vectors[0].ntotal == len(idx.rows)


@pytest.mark.chaos
def test_missing_index_file_is_logged_and_rebuilt(small_settings: config.Settings,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """What the action server does when a file of its index was deleted: a clear log line, a
    rebuild, and answers as before."""
    _ensure(small_settings)
    (small_settings.index_dir / "original-sentences-0.faiss").unlink()
    with caplog.at_level("WARNING", logger="bot.readings"):
        idx = index.ensure(small_settings, encoder_factory=FakeEncoder)  # no terminal: the message goes to the log
    assert any("original-sentences-0.faiss" in r.getMessage() and "rebuilding" in r.getMessage() for r in caplog.records)
    assert (small_settings.index_dir / "original-sentences-0.faiss").is_file()
    assert _search(small_settings, idx, "加密货币")["results"]


def test_large_collections_switch_to_hnsw(settings: config.Settings) -> None:
    import numpy as np

    small = dataclasses.replace(settings, flat_index_max=100)
    vecs = np.random.default_rng(0).standard_normal((300, 16)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    built = readings.make_faiss_index(vecs, small)
    assert type(built).__name__ == "IndexHNSWFlat"
    scores, ids = built.search(vecs[:5], 1)
    assert list(ids[:, 0]) == [0, 1, 2, 3, 4]


def test_lexical_index_matches_rank_bm25() -> None:
    import numpy as np

    docs = [["加密货币", "洗钱"], ["暗网", "枪支", "枪支"], ["加密货币", "暗网"], ["人工智能"]]
    lex = readings.LexicalIndex(docs)
    expected = lex.okapi.get_scores(["暗网", "枪支"])
    assert np.allclose(lex.scores({"暗网": 1.0, "枪支": 1.0}), expected, atol=1e-5)
    assert np.allclose(lex.scores({"暗网": 0.5}), 0.5 * lex.okapi.get_scores(["暗网"]), atol=1e-5)


# --------------------------------------------------------------------------------------
# damaged files: checksums in the manifest (#19 finding 4)

@pytest.mark.chaos
def test_truncated_index_file_is_corrupt_naming_it_and_rebuilt(small_settings: config.Settings) -> None:
    first = _ensure(small_settings)
    damaged = small_settings.index_dir / "english-passages-0.faiss"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])   # a disk full, a killed copy
    assert index.status(small_settings)[0] == "corrupt"
    messages: list[str] = []
    idx = _ensure(small_settings, notify=messages.append)
    assert any("english-passages-0.faiss" in m and "rebuild" in m for m in messages), messages
    assert idx.manifest["build_id"] != first.manifest["build_id"]
    assert index.status(small_settings)[0] == "current"
    assert idx.readings["english"].passage_vectors[0].ntotal == len(idx.rows)


@pytest.mark.chaos
def test_a_file_changed_in_place_fails_its_checksum_and_is_rebuilt(small_settings: config.Settings) -> None:
    """Same size, other bytes (vectors overwritten): only the checksum tells, at load."""
    first = _ensure(small_settings)
    damaged = small_settings.index_dir / "original-passages-0.faiss"
    data = bytearray(damaged.read_bytes())
    data[-200:-100] = bytes(100)
    damaged.write_bytes(bytes(data))
    assert {name: meta["size"] for name, meta in first.manifest["files"].items()}["original-passages-0.faiss"] \
        == len(data)
    with pytest.raises(index.IndexError_, match="original-passages-0.faiss.*checksum"):
        index.Index.load(small_settings.index_dir, small_settings)
    messages: list[str] = []
    idx = _ensure(small_settings, notify=messages.append)
    assert any("original-passages-0.faiss" in m and "rebuild" in m for m in messages), messages
    assert idx.manifest["build_id"] != first.manifest["build_id"]
    index.Index.load(small_settings.index_dir, small_settings)   # verified


def test_manifest_lists_every_index_file_with_size_and_checksum(small_settings: config.Settings) -> None:
    idx = _ensure(small_settings)
    files = idx.manifest["files"]
    on_disk = {p.name for p in small_settings.index_dir.iterdir()} - {"manifest.json"}
    assert set(files) == on_disk
    for name, meta in files.items():
        data = (small_settings.index_dir / name).read_bytes()
        assert meta == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert idx.manifest["build_seconds"] > 0


# --------------------------------------------------------------------------------------
# one build at a time, across threads and processes

class _CountingFactory:
    """FakeEncoder, counting the encoders made (one per model per build) and slow enough
    for two builds to overlap."""

    def __init__(self, counter: Path | None = None) -> None:
        self.made = 0
        self.counter = counter
        self.lock = threading.Lock()

    def __call__(self, name: str) -> FakeEncoder:
        with self.lock:
            self.made += 1
        if self.counter is not None:
            with open(self.counter, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {name}\n")
        time.sleep(0.5)
        return FakeEncoder(name)


@pytest.mark.chaos
def test_concurrent_ensure_in_threads_builds_once(small_settings: config.Settings) -> None:
    factory = _CountingFactory()
    start = threading.Barrier(3)
    results: list[index.Index] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(index.ensure(small_settings, progress=False, encoder_factory=factory))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 3
    assert factory.made == len(index.models(small_settings))   # one build's encoders
    assert len({r.manifest["build_id"] for r in results}) == 1


def _ensure_in_process(settings: config.Settings, counter: str) -> str:
    idx = index.ensure(settings, progress=False, encoder_factory=_CountingFactory(Path(counter)))
    return str(idx.manifest.get("build_id"))


@pytest.mark.chaos
def test_concurrent_ensure_in_processes_builds_once(small_settings: config.Settings, tmp_path: Path) -> None:
    """Two workers starting on a damaged index: one rebuilds, the other waits and loads it."""
    _ensure(small_settings)
    (small_settings.index_dir / "search.json").write_text("{", encoding="utf-8")
    counter = tmp_path / "encoders.txt"
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        ids = list(pool.map(_ensure_in_process, [small_settings] * 2, [str(counter)] * 2))
    made = counter.read_text(encoding="utf-8").splitlines()
    assert len(made) == len(index.models(small_settings)), made   # one process built, once
    assert ids[0] == ids[1] and ids[0] != "None"
    assert index.status(small_settings)[0] == "current"


# ---- incremental builds: parsed documents and document embeddings kept between builds ----------

NOTE = ("# Drones over prisons\n\nDrones carry contraband into prisons at night, the drone note says.\n\n"
        "Prison staff track each drone with radio detectors.\n")


class _Recording(FakeEncoder):
    """FakeEncoder that records the texts it embeds (into the list its factory hands it)."""

    def __init__(self, name: str, seen: list[str]) -> None:
        super().__init__(name)
        self.seen = seen

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False, query: bool = True):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().encode(texts, batch_size, progress, query)


def _recording_factory(seen: list[str]):  # type: ignore[no-untyped-def]
    def factory(name: str) -> FakeEncoder:
        return _Recording(name, seen)
    return factory


def _matrices(idx: index.Index) -> dict[str, object]:
    import numpy as np

    out: dict[str, object] = {}
    for name, reading in idx.readings.items():
        for k in range(len(reading.passage_vectors)):
            out[f"{name}-{k}"] = np.array(reading.matrix(k))
        for k in range(len(reading.sentence_vectors)):
            out[f"{name}-s{k}"] = np.array(reading.sentence_matrix(k))
    return out


def test_adding_a_document_parses_and_embeds_only_that_document(small_settings: config.Settings, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    seen: list[str] = []
    factory = _recording_factory(seen)
    index.build(small_settings, progress=False, encoder_factory=factory)
    assert len(seen) > 500   # the first build embeds every passage, sentence and question
    parsed: list[str] = []
    real_parse = corpus.parse_document
    monkeypatch.setattr(corpus, "parse_document", lambda meta, text: parsed.append(meta["id"]) or real_parse(meta, text))
    seen.clear()
    (small_settings.documents_dir / "drones.md").write_text(NOTE, encoding="utf-8")
    idx = index.build(small_settings, progress=False, encoder_factory=factory)
    assert parsed == ["drones"]                       # the two documents already indexed are not read again
    assert seen and all("drone" in t.lower() for t in seen), seen   # only the new document's texts are embedded
    assert "drones" in idx.documents
    # ... and the index is the one a build from nothing makes
    monkeypatch.setattr(corpus, "parse_document", real_parse)
    fresh = index.build(dataclasses.replace(small_settings, index_dir=tmp_path / "fresh"), progress=False,
                        encoder_factory=factory)
    assert [p.to_dict() for p in idx.passages] == [p.to_dict() for p in fresh.passages]
    a, b = _matrices(idx), _matrices(fresh)
    assert a.keys() == b.keys()
    for key in a:
        assert np.allclose(a[key], b[key]), key   # type: ignore[arg-type]
    # nothing changed: nothing parsed, nothing embedded
    parsed.clear(), seen.clear()
    monkeypatch.setattr(corpus, "parse_document", lambda meta, text: parsed.append(meta["id"]) or real_parse(meta, text))
    index.build(small_settings, progress=False, encoder_factory=factory)
    assert parsed == [] and seen == []


def test_an_edited_document_is_parsed_again(small_settings: config.Settings) -> None:
    seen: list[str] = []
    factory = _recording_factory(seen)
    (small_settings.documents_dir / "drones.md").write_text(NOTE, encoding="utf-8")
    first = index.build(small_settings, progress=False, encoder_factory=factory)
    assert "night" in " ".join(p.text for p in first.passages if p.doc_id == "drones")
    seen.clear()
    (small_settings.documents_dir / "drones.md").write_text(NOTE.replace("at night", "by day"), encoding="utf-8")
    idx = index.build(small_settings, progress=False, encoder_factory=factory)
    text = " ".join(p.text for p in idx.passages if p.doc_id == "drones")
    assert "by day" in text and "night" not in text
    assert seen and all("by day" in t or "drone" in t.lower() for t in seen)


def test_a_damaged_embedding_cache_costs_a_re_embedding_not_a_failure(small_settings: config.Settings) -> None:
    seen: list[str] = []
    factory = _recording_factory(seen)
    index.build(small_settings, progress=False, encoder_factory=factory)
    first = len(seen)
    caches = sorted(small_settings.index_cache_dir.glob("vectors-*.npz"))
    assert caches
    for path in caches:
        path.write_bytes(b"PK\x03\x04 not really a zip")
    for path in (small_settings.index_cache_dir / "documents").glob("*.json"):
        path.write_text("{", encoding="utf-8")
    seen.clear()
    idx = index.build(small_settings, progress=False, encoder_factory=factory)
    assert len(seen) == first and index.status(small_settings)[0] == "current"
    assert idx.manifest["searchable"] > 0


def test_a_running_engine_answers_from_an_index_another_process_replaced(small_settings: config.Settings) -> None:
    engine = Engine(dataclasses.replace(small_settings, min_confidence=0.0), encoder_factory=FakeEncoder)
    engine.use_index(_ensure(small_settings))
    engine._index_watch.every = 0.0   # look at every request (2 s by default)
    engine._index_watch.mark()
    assert "drones" not in engine.index.documents
    (small_settings.documents_dir / "drones.md").write_text(NOTE, encoding="utf-8")
    index.build(small_settings, progress=False, encoder_factory=FakeEncoder)   # `python -m bot add`, elsewhere
    result = search_json(engine, "drones carry contraband into prisons")
    assert result["results"][0]["doc_id"] == "drones"   # type: ignore[index]
