"""An English UN document added as a PDF (``python -m bot add``): read, parsed with its paragraph
numbers and footnotes, indexed incrementally, searched by English and by Chinese questions and
quoted in English with its symbol and paragraph, with the real models.

The document is the Crime Congress background paper A/CONF.234/11 as an English UN document
(``tests/office.py``: ``english_document`` from its unofficial translation, then LibreOffice),
added to a corpus of the other four documents in a temporary folder; the index cache of
``make index`` is copied in, so only the new document is embedded."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from bot import adding, answers, config, corpus, grounding, index
from bot.engine import Engine
from tests import office

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(office.soffice() is None, reason="LibreOffice is not installed (make office)")]

DOC = "a-conf-234-11"


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[config.Settings, str, str]]:
    """(settings of the corpus with the English PDF added, stdout of `bot add`, its stderr)."""
    tmp = tmp_path_factory.mktemp("english-document")
    source = office.english_document(DOC)
    fodt = tmp / f"{DOC}-en.fodt"
    fodt.write_text(office.fodt(source, header=str(source.meta["symbol"])), encoding="utf-8")
    pdf = office.convert(fodt, "pdf", tmp)
    real = config.settings()
    docs = tmp / "documents"
    shutil.copytree(real.documents_dir, docs)
    for path in (docs / f"{DOC}.txt", docs / "en" / f"{DOC}.yml", docs / "questions" / f"{DOC}.yml"):
        path.unlink()
    catalog = yaml.safe_load((docs / "catalog.yml").read_text(encoding="utf-8"))
    catalog["documents"] = [e for e in catalog["documents"] if e["id"] != DOC]
    (docs / "catalog.yml").write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("BOT_DOCUMENTS_DIR", "BOT_INDEX_DIR", "BOT_GUARD_CACHE")}
    os.environ.update(BOT_DOCUMENTS_DIR=str(docs), BOT_INDEX_DIR=str(tmp / "index"), BOT_GUARD_CACHE=str(tmp / "guard"))
    try:
        settings = config.settings()
        if real.index_cache_dir.is_dir():
            shutil.copytree(real.index_cache_dir, settings.index_cache_dir)
        index.build(settings, progress=False)      # the four documents, from the cache
        out, err = io.StringIO(), io.StringIO()
        assert adding.main([str(pdf)], out=out, err=err) == 0, err.getvalue()
        yield settings, out.getvalue(), err.getvalue()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def engine(added: tuple[config.Settings, str, str]) -> Engine:
    return Engine(added[0])


def test_the_pdf_is_added_with_its_structure_and_indexed(added: tuple[config.Settings, str, str], engine: Engine) -> None:
    settings, out, _ = added
    assert "A/CONF.234/11" in out and "language en" in out and "searchable now" in out
    assert index.status(settings)[0] == "current"
    doc_id = f"{DOC}-en"
    assert doc_id in engine.index.documents
    source = office.english_document(DOC)
    want = {p.id.split(":", 1)[1] for p in source.passages if p.kind in (corpus.BODY, corpus.FOOTNOTE)}
    got = {p.id.split(":", 1)[1] for p in engine.index.passages if p.doc_id == doc_id
           and p.kind in (corpus.BODY, corpus.FOOTNOTE)}
    assert want == got, (sorted(want - got), sorted(got - want))   # every paragraph, sub-item and footnote
    by_pos = {p.id.split(":", 1)[1]: p for p in engine.index.passages if p.doc_id == doc_id}
    overlaps = [office.overlap(p.text, by_pos[p.id.split(":", 1)[1]].text) for p in source.passages
                if p.kind in (corpus.BODY, corpus.FOOTNOTE)]
    assert min(overlaps) > 0.95 and sum(overlaps) / len(overlaps) > 0.99
    para = engine.index.passage(f"{doc_id}:26")
    assert para is not None and para.number == 26 and para.page and "3D" in para.text


def _top(engine: Engine, question: str, doc: str | None = None) -> tuple[dict[str, object], dict[str, object]]:
    reply = answers.answer(engine, question, doc=doc)
    payload = reply.to_payload()
    assert payload["kind"] == "answer", payload.get("text")
    assert grounding.problems(reply, engine) == []
    return payload, payload["passages"][0]   # type: ignore[index]


def test_an_english_question_is_answered_from_the_english_document(engine: Engine) -> None:
    payload, p = _top(engine, "What does the Congress paper say about 3D-printed guns?")
    assert p["doc_id"] == f"{DOC}-en"
    assert p["shown"] == "original" and p["translation"] == ""   # English: no translation label
    assert "(No English translation" not in str(payload["text"]) and "Unofficial translation" not in str(payload["text"])
    assert "A/CONF.234/11" in str(p["citation"]) and "para" in str(p["citation"])


def test_a_chinese_question_on_the_english_document_quotes_it_in_english(engine: Engine) -> None:
    """Asked about the document by its symbol (the widget's "in this document" follow-up does the same).
    Unrestricted, Chinese questions rank the Chinese documents' paragraphs first (measured in
    bench/add_bench.py; docs/performance.md)."""
    payload, p = _top(engine, "3D打印枪支有什么风险？", doc="A/CONF.234/11")
    assert payload["lang"] == "zh"
    assert p["doc_id"] == f"{DOC}-en"
    assert str(p["excerpt"]).strip("…") in str(p["text"]) and "3D" in str(p["text"])
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in str(p["excerpt"]))   # quoted in English, as written
    assert "A/CONF.234/11" in str(p["citation"]) and "第" in str(p["citation"])   # a Chinese citation: its paragraph
    assert "Additive manufacturing" in str(p["citation"]) and "II.C.3" in str(p["citation"])   # its own section
