"""The English reading in use: searched next to the originals, shown first to English readers
(labelled as an unofficial translation), and a document without a translation still works."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot import answers, config, corpus, evaluate, grounding, index, render, translations
from bot.conversation import Context
from bot.engine import Engine
from tests.fakes import FakeEncoder, copy_small_corpus
from tests.helpers import search_json


@pytest.fixture()
def mixed_settings(tmp_path: Path, settings: config.Settings) -> config.Settings:
    """Two documents: the Congress workshop report with its translation, the journal article
    without one (as a document added later would be); the real models, so the trained fusion
    and confidence apply as in production."""
    docs = copy_small_corpus(tmp_path / "documents", translated=("congress-ws4-report",))
    return dataclasses.replace(settings, documents_dir=docs, index_dir=tmp_path / "index",
                               guard_cache=tmp_path / "guard")


def test_an_english_question_matches_the_english_text(engine: Engine, idx: index.Index,
                                                      settings: config.Settings) -> None:
    """Only the English-reading rankings (no Chinese text, no glossary) find the paragraph."""
    only_en = dataclasses.replace(settings, rrf_weights={name: (0.0, 0.0) for name in settings.rrf_weights}
                                  | {"en_dense": (1.0, 0.0), "en_bm25": (1.0, 0.0), "en_extra": (1.0, 0.0)})
    q = engine.searcher.prepare("3D-printed firearms could undermine registration and licensing systems and ballistic databases")
    cands = engine.searcher.retrieve(q, None, only_en, learned=False)
    assert idx.row_passage(cands[0].row).id == "a-conf-234-11:26"
    assert {"en_dense", "en_bm25", "en_extra"} <= set(cands[0].ranks)
    # the result carries both texts and the best English sentence
    r = search_json(engine, "3D-printed firearms could undermine registration and licensing systems and ballistic databases")["results"][0]
    assert r["id"] == "a-conf-234-11:26" and r["text_en"] and r["text"] == idx.passage(r["id"]).text
    assert "ballistic databases" in r["highlights_en"][0]["text"]


def test_the_english_reading_improves_english_retrieval(engine: Engine, settings: config.Settings) -> None:
    with_en = evaluate.evaluate(engine, systems=("rrf",))["systems"]["rrf"]["languages"]
    off = Engine(dataclasses.replace(settings, reading_langs={"english": ()}))
    off.use_index(engine.index)
    without = evaluate.evaluate(off, systems=("rrf",))
    without_en = without["systems"]["rrf"]["languages"]
    assert with_en["en"]["mrr"] > without_en["en"]["mrr"]
    assert with_en["zh"]["mrr"] == pytest.approx(without_en["zh"]["mrr"])  # Chinese questions unchanged


@pytest.mark.slow
def test_a_document_without_translation_is_searched_and_quoted_in_the_original(
        mixed_settings: config.Settings) -> None:
    engine = Engine(mixed_settings)
    idx = engine.index
    assert idx.manifest["translated_documents"] == ["congress-ws4-report"]
    assert not any(p.text_en for p in idx.passages if p.doc_id == "ai-undress-study")

    reply = answers.answer(engine, "How do investigators trace people who spread AI-generated nude images?")
    a = reply.to_payload()
    assert a["kind"] == "answer" and a["lang"] == "en"
    p = a["passages"][0]
    assert p["doc_id"] == "ai-undress-study"
    assert p["shown"] == "original" and p["translation"] == "unavailable" and p["text_en"] == ""
    assert p["excerpt"] in p["text"]
    assert "(No English translation is available for this document; the original is quoted.)" in a["text"]
    # "show the original" is offered exactly when a quote is a translation
    assert ("/show_original" in {b["payload"] for b in a["buttons"]}) == any(
        e["shown"] == "translation" for e in a["passages"])
    assert grounding.problems(reply, engine) == []

    reply = answers.answer(engine, "What did the workshop say about artificial intelligence in criminal justice?")
    b = reply.to_payload()
    shown = {e["doc_id"]: e["shown"] for e in b["passages"]}
    assert shown.get("congress-ws4-report") == "translation"
    assert grounding.problems(reply, engine) == []


def test_translations_are_part_of_the_index_fingerprint(mixed_settings: config.Settings) -> None:
    index.ensure(mixed_settings, progress=False, encoder_factory=FakeEncoder)
    path = mixed_settings.documents_dir / "en" / "congress-ws4-report.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert index.status(mixed_settings)[0] == "stale"


def test_a_broken_translation_names_the_file_and_keeps_the_previous_index(mixed_settings: config.Settings) -> None:
    index.ensure(mixed_settings, progress=False, encoder_factory=FakeEncoder)
    (mixed_settings.documents_dir / "en" / "ai-undress-study.yml").write_text(
        "ai-undress-study:s1-1: [unclosed\n", encoding="utf-8")
    with pytest.raises(corpus.ParseError, match="ai-undress-study.yml"):
        index.build(mixed_settings, progress=False, encoder_factory=FakeEncoder)
    messages: list[str] = []
    engine = Engine(dataclasses.replace(mixed_settings, min_confidence=0.0), encoder_factory=FakeEncoder)
    engine.use_index(index.ensure(mixed_settings, progress=False, notify=messages.append, encoder_factory=FakeEncoder))
    assert any("ai-undress-study.yml" in m and "previous index" in m for m in messages)
    assert search_json(engine, "加密货币")["results"]


def test_english_answers_keep_the_label_on_every_channel(engine: Engine) -> None:
    a = answers.answer(engine, "What do the documents say about 3D-printed guns?")
    label = "Unofficial translation of the Chinese original."
    for channel in ("telegram", "slack", "botframework", "mattermost", "cmdline"):
        out = str(render.messages(a, channel))
        assert label.replace(".", "") in out.replace("\\\\", "").replace("\\", "").replace(".", ""), channel
        assert "Show original" in out, channel
    # the full paragraph of an English answer is the full translation, footnotes in English
    ctx = Context(lang="en", shown=["ctoc-trafficking-2021:33"])
    reply = answers.source(engine, ctx)
    full = reply.to_payload()
    p = full["passages"][0]
    assert p["shown"] == "translation" and p["excerpt"] == p["text_en"]
    note = p["footnotes"][0]
    assert note["shown"] == note["text_en"] and f"[{note['number']}] {note['text_en']}" in full["text"]
    assert grounding.problems(reply, engine) == []


def test_english_stemming_is_safe_from_several_threads() -> None:
    """The action server answers in a thread pool; a shared Snowball stemmer corrupted the words
    of concurrent requests (IndexError on the first questions after start-up)."""
    from concurrent.futures import ThreadPoolExecutor

    import snowballstemmer

    words = [f"{w}{i}ing" for i in range(3000) for w in ("organis", "generalis", "traffick")]
    expected = [snowballstemmer.stemmer("english").stemWord(w) for w in words]
    with ThreadPoolExecutor(8) as pool:   # distinct words, so the memo cache does not hide the race
        chunks = list(pool.map(lambda k: [translations.stem(w) for w in words[k::8]], range(8)))
    got: list[str] = [""] * len(words)
    for k, chunk in enumerate(chunks):
        got[k::8] = chunk
    assert got == expected
