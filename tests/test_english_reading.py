"""The English reading in use: searched next to the originals, shown first to English readers
(labelled as an unofficial translation), and a document without a translation still works."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from bot import answers, config, corpus, evaluate, grounding, index, render, search, translations


@pytest.fixture()
def mixed_settings(small_settings: config.Settings) -> config.Settings:
    """Two documents: the Congress workshop report with its translation, the journal article
    without one (as a document added later would be); the full model set, so the trained
    fusion and confidence apply as in production."""
    docs = small_settings.documents_dir
    root = config.settings().documents_dir
    shutil.copy(root / "ai-undress-study.txt", docs / "ai-undress-study.txt")
    (docs / "en").mkdir()
    shutil.copy(root / "en" / "congress-ws4-report.yml", docs / "en" / "congress-ws4-report.yml")
    shutil.copy(root / "headings_en.yml", docs / "headings_en.yml")
    return dataclasses.replace(small_settings, extra_models=config.settings().extra_models)


def test_an_english_question_matches_the_english_text(idx: index.Index, settings: config.Settings) -> None:
    """Only the English-reading rankings (no Chinese text, no glossary) find the paragraph."""
    only_en = dataclasses.replace(settings, weight_dense=0.0, weight_sentence=0.0, weight_bm25=0.0,
                                  weight_extra=0.0, weight_bigram=0.0, weight_en=1.0)
    q = search.prepare("3D-printed firearms could undermine registration and licensing systems and ballistic databases", only_en)
    cands = search.retrieve(q, idx, search.query_vectors(q, idx, only_en), None, only_en, model=False)
    assert idx.passages[idx.rows[cands[0].row]].id == "a-conf-234-11:26"
    assert {"en_dense", "en_bm25", "en_extra"} <= set(cands[0].ranks)
    # the result carries both texts and the best English sentence
    r = search.search("3D-printed firearms could undermine registration and licensing systems and ballistic databases", idx=idx)["results"][0]
    assert r["id"] == "a-conf-234-11:26" and r["text_en"] and r["text"] == idx.passage(r["id"]).text
    assert "ballistic databases" in r["highlights_en"][0]["text"]


def test_the_english_reading_improves_english_retrieval(idx: index.Index, settings: config.Settings) -> None:
    with_en = evaluate.evaluate(systems=("rrf",), settings=settings)["systems"]["rrf"]["languages"]
    without = evaluate.evaluate(systems=("rrf",), settings=dataclasses.replace(settings, search_english=False))
    without_en = without["systems"]["rrf"]["languages"]
    assert with_en["en"]["mrr"] > without_en["en"]["mrr"]
    assert with_en["zh"]["mrr"] == pytest.approx(without_en["zh"]["mrr"])  # Chinese questions unchanged


def test_a_document_without_translation_is_searched_and_quoted_in_the_original(
        mixed_settings: config.Settings) -> None:
    idx = index.ensure(mixed_settings, progress=False)
    assert idx.manifest["translated_documents"] == ["congress-ws4-report"]
    assert not any(p.text_en for p in idx.passages if p.doc_id == "ai-undress-study")

    a = answers.answer("How do investigators trace people who spread AI-generated nude images?", idx=idx)
    assert a["kind"] == "answer" and a["lang"] == "en"
    p = a["passages"][0]
    assert p["doc_id"] == "ai-undress-study"
    assert p["shown"] == "original" and p["translation"] == "unavailable" and p["text_en"] == ""
    assert p["excerpt"] in p["text"]
    assert "(No English translation is available for this document; the original is quoted.)" in a["text"]
    assert "/show_original" not in {b["payload"] for b in a["buttons"]}
    assert grounding.problems(a, idx) == []

    b = answers.answer("What did the workshop say about artificial intelligence in criminal justice?", idx=idx)
    shown = {e["doc_id"]: e["shown"] for e in b["passages"]}
    assert shown.get("congress-ws4-report") == "translation"
    assert grounding.problems(b, idx) == []


def test_translations_are_part_of_the_index_fingerprint(mixed_settings: config.Settings) -> None:
    index.ensure(mixed_settings, progress=False)
    path = mixed_settings.documents_dir / "en" / "congress-ws4-report.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert index.status(mixed_settings)[0] == "stale"


def test_a_broken_translation_names_the_file_and_keeps_the_previous_index(mixed_settings: config.Settings) -> None:
    index.ensure(mixed_settings, progress=False)
    (mixed_settings.documents_dir / "en" / "ai-undress-study.yml").write_text(
        "ai-undress-study:s1-1: [unclosed\n", encoding="utf-8")
    with pytest.raises(corpus.ParseError, match="ai-undress-study.yml"):
        index.build(mixed_settings, progress=False)
    messages: list[str] = []
    idx = index.ensure(mixed_settings, progress=False, notify=messages.append)
    assert any("ai-undress-study.yml" in m and "previous index" in m for m in messages)
    assert search.search("加密货币", idx=idx, settings=mixed_settings)["results"]


def test_english_answers_keep_the_label_on_every_channel(idx: index.Index) -> None:
    a = answers.answer("What do the documents say about 3D-printed guns?", idx=idx)
    label = "Unofficial translation of the Chinese original."
    for channel in ("telegram", "slack", "botframework", "mattermost", "cmdline"):
        out = str(render.messages(a, channel))
        assert label.replace(".", "") in out.replace("\\\\", "").replace("\\", "").replace(".", ""), channel
        assert "Show original" in out, channel
    # the full paragraph of an English answer is the full translation, footnotes in English
    ctx = answers.Context(lang="en", shown=["ctoc-trafficking-2021:33"])
    full = answers.source(ctx, idx=idx)
    p = full["passages"][0]
    assert p["shown"] == "translation" and p["excerpt"] == p["text_en"]
    note = p["footnotes"][0]
    assert note["shown"] == note["text_en"] and f"[{note['number']}] {note['text_en']}" in full["text"]
    assert grounding.problems(full, idx) == []


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
