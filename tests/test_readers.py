"""Reader stage (bot/readers.py) and ``python -m bot add`` (bot/adding.py).

The format tests build Word and PDF versions of the project's own text documents with
LibreOffice (tests/office.py; ``make office`` installs it) and check that they give the same
passages, paragraph numbers, sub-items, sections and footnotes as the text versions, with the
character overlap of every passage reported. They skip with a reason when soffice is missing.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from bot import adding, corpus, readers
from tests import office
from tests.fakes import copy_small_corpus

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "data" / "documents"
EN_DOC = ROOT / "tests" / "documents" / "en-expert-meeting.md"

needs_office = pytest.mark.skipif(office.soffice() is None,
                                  reason="LibreOffice (soffice) not installed: run `make office`")


def _blank_pdf() -> bytes:
    """A valid one-page PDF with no text layer (what a scan without OCR looks like to us)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length 18 >>\nstream\n0 0 m 100 100 l S\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --------------------------------------------------------------------------------------
# text, HTML, errors (no LibreOffice needed)


def test_text_files_read_unchanged() -> None:
    for path in sorted(DOCS.glob("*.txt")):
        doc = readers.read(path)
        assert doc.text == corpus.read_text(path) and doc.format == "text" and doc.language == "zh"


def test_english_text_document_parses_like_a_un_document() -> None:
    doc = corpus.load_document(EN_DOC, {})
    assert doc.meta["language"] == "en"
    body = {p.id.split(":")[1]: p for p in doc.passages if p.kind == corpus.BODY}
    assert [k for k in body if "-" not in k] == [str(n) for n in range(1, 13)]
    assert {"5-a", "5-b", "5-c", "11-a", "11-c"} <= set(body)
    assert body["4"].section == [{"num": "II", "title": "Summary of the discussions"},
                                 {"num": "A", "title": "Preservation and production of data"}]
    assert body["1"].footnotes == ["en-expert-meeting:fn1"] and body["12"].footnotes == ["en-expert-meeting:fn5"]
    fn1 = doc.passages[[p.id for p in doc.passages].index("en-expert-meeting:fn1")]
    assert fn1.text.startswith("See General Assembly resolution") and fn1.cited_by == ["en-expert-meeting:1"]
    found = readers.read(EN_DOC).found
    assert found["symbol"] == "A/CONF.300/5" and found["date"] == "2025-03-14"
    assert found["title"] == "Expert meeting on digital evidence in criminal proceedings"


def test_html_headings_paragraphs_lists_and_footnotes(tmp_path: Path) -> None:
    page = tmp_path / "note.html"
    page.write_text(
        """<!doctype html><html lang="en"><head><title>Guidance note</title><style>p{color:red}</style>
        <script>var x = "not text";</script></head><body><nav><a href="/">Home</a> | Menu</nav>
        <header>Site banner</header><main><h1>Guidance note</h1><h2>I. Introduction</h2>
        <p>1. The note explains how requests for stored data are prepared and sent.<sup><a href="#fn1">1</a></sup>
        It applies to every request sent after 1 January 2025 and replaces the earlier note.</p>
        <p>2. Requests should state:</p><ol><li>(a) The account concerned;</li><li>(b) The period.</li></ol>
        </main><footer>© Example</footer>
        <section class="footnotes"><ol><li id="fn1">See the practical guide of 2021. <a href="#fnref1">↩</a></li></ol></section>
        </body></html>""", encoding="utf-8")
    doc = readers.read(page)
    assert doc.format == "html" and doc.language == "en" and doc.found["title"] == "Guidance note"
    for gone in ("not text", "Home", "Site banner", "© Example", "color:red", "↩"):
        assert gone not in doc.text
    assert "## I. Introduction" in doc.text and "[^1]: See the practical guide of 2021." in doc.text
    parsed = corpus.load_document(page, {})
    p1 = next(p for p in parsed.passages if "The note explains" in p.text)
    assert p1.footnotes and parsed.passages[-1].kind == corpus.FOOTNOTE


@pytest.mark.parametrize("name, data, message", [
    ("empty.pdf", b"", "is empty"),
    ("blank.txt", b"  \n\n", "is empty"),
    ("scan.pdf", _blank_pdf(), "no text layer: run OCR first"),
    ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", "corrupt"),
    ("notapdf.pdf", b"hello, this is not a PDF", "corrupt PDF"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "corrupt"),
    ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "encrypted Word file or old .doc"),
    ("sheet.xlsx", b"PK\x03\x04", "unsupported file type .xlsx"),
    ("latin1.txt", "caf\u00e9".encode("latin-1"), "not valid UTF-8"),
])
def test_bad_input_is_named_and_explained(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(readers.ReadError) as err:
        readers.read(path)
    assert str(err.value).startswith(name + ":") and message in str(err.value)
    with pytest.raises(corpus.ParseError, match=name):     # the corpus loader says the same
        corpus.load_document(path, {})


def test_add_copies_the_file_and_proposes_a_catalog_entry(tmp_path: Path) -> None:
    docs = copy_small_corpus(tmp_path / "docs")
    before = (docs / "catalog.yml").read_text(encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    rc = adding.main([str(EN_DOC), str(docs / "congress-ws4-report.txt"), str(tmp_path / "missing.pdf")],
                     docs, out=out, err=err)
    assert rc == 2                                   # one file refused
    assert (docs / EN_DOC.name).read_bytes() == EN_DOC.read_bytes()
    text = (docs / "catalog.yml").read_text(encoding="utf-8")
    assert text.startswith(before) and "PROPOSED by `python -m bot add`" in text
    entry = corpus.load_catalog(docs)[EN_DOC.name]
    assert entry["symbol"] == "A/CONF.300/5" and entry["language"] == "en" and entry["numbered"] is True
    assert entry["id"] == "en-expert-meeting" and entry["date"] == "2025-03-14"
    assert "missing.pdf: no such file" in err.getvalue()
    assert "make index" in out.getvalue() and "12 numbered paragraphs" in out.getvalue()
    loaded = corpus.load_corpus(docs)
    assert loaded.document("en-expert-meeting") is not None and not loaded.errors
    # again: now a duplicate / already catalogued
    err2 = io.StringIO()
    assert adding.main([str(EN_DOC)], docs, out=io.StringIO(), err=err2) == 2
    assert "en-expert-meeting.md:" in err2.getvalue()


def test_add_refuses_a_copy_under_another_name(tmp_path: Path) -> None:
    docs = copy_small_corpus(tmp_path / "docs")
    copy = tmp_path / "report-copy.md"
    copy.write_text((docs / "congress-ws4-report.txt").read_text(encoding="utf-8"), encoding="utf-8")
    err = io.StringIO()
    assert adding.main([str(copy)], docs, out=io.StringIO(), err=err) == 2
    assert "report-copy.md: duplicate of congress-ws4-report.txt" in err.getvalue()
    assert not (docs / copy.name).exists()


# --------------------------------------------------------------------------------------
# Word and PDF made by LibreOffice from the text versions


def _compare(text_doc: corpus.Document, path: Path) -> dict:
    read = readers.read(path)
    meta = dict(text_doc.meta)
    converted = corpus.parse_document(meta, read.text)
    a = {p.id: p for p in text_doc.passages}
    b = {p.id: p for p in converted.passages}
    assert sorted(a) == sorted(b), (sorted(set(a) - set(b))[:10], sorted(set(b) - set(a))[:10])
    overlaps = {}
    for pid, p in a.items():
        q = b[pid]
        overlaps[pid] = round(office.overlap(p.text, q.text), 4)
        assert (p.number, p.sub, p.kind) == (q.number, q.sub, q.kind), pid
        if p.kind == corpus.BODY:
            assert p.section == q.section, pid
        assert p.footnotes == q.footnotes, pid
        assert overlaps[pid] >= 0.95, (pid, p.text[:80], q.text[:80])
    values = list(overlaps.values())
    report = {"file": path.name, "format": read.format, "pages": read.pages, "passages": len(values),
              "min_overlap": min(values), "mean_overlap": round(sum(values) / len(values), 4),
              "below_1": {k: v for k, v in overlaps.items() if v < 1.0}}
    print(json.dumps(report, ensure_ascii=False))
    assert report["mean_overlap"] >= 0.99
    if read.format == "pdf":
        assert all(q.page for q in converted.passages), "every passage of a PDF has its page"
        assert max(q.page for q in converted.passages) == read.pages
    return report


@pytest.fixture(scope="module")
def office_versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[corpus.Document, dict[str, Path]]]:
    if office.soffice() is None:
        pytest.skip("LibreOffice (soffice) not installed: run `make office`")
    out = tmp_path_factory.mktemp("office")
    catalog = corpus.load_catalog(DOCS)
    versions = {}
    for src in (EN_DOC, DOCS / "ctoc-trafficking-2021.txt", DOCS / "congress-ws4-report.txt"):
        doc = corpus.load_document(src, catalog)
        fodt = out / f"{src.stem}.fodt"
        fodt.write_text(office.fodt(doc, header=doc.meta.get("symbol") or "A/CONF.300/5"), encoding="utf-8")
        versions[src.stem] = (doc, {fmt: office.convert(fodt, fmt, out) for fmt in ("docx", "pdf")})
    return versions


@needs_office
@pytest.mark.parametrize("stem", ["en-expert-meeting", "ctoc-trafficking-2021", "congress-ws4-report"])
@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_word_and_pdf_versions_give_the_text_versions_passages(office_versions, stem: str, fmt: str) -> None:
    doc, files = office_versions[stem]
    _compare(doc, files[fmt])


@needs_office
def test_pdf_proposes_symbol_date_and_language(office_versions) -> None:
    _, files = office_versions["en-expert-meeting"]
    found = readers.read(files["pdf"])
    assert found.language == "en" and found.found["date"] == "2025-03-14"
    assert found.found["symbol"] == "A/CONF.300/5"          # from the running header
    zh = readers.read(office_versions["ctoc-trafficking-2021"][1]["pdf"])
    assert zh.language == "zh" and zh.pages and zh.pages > 5


@needs_office
def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "secret.fodt"
    src.write_text(office.fodt(corpus.load_document(EN_DOC, {})), encoding="utf-8")
    fmt = ('pdf:writer_pdf_Export:{"EncryptFile":{"type":"boolean","value":"true"},'
           '"DocumentOpenPassword":{"type":"string","value":"secret"}}')
    pdf = office.convert(src, fmt, tmp_path)
    with pytest.raises(readers.ReadError, match="secret.pdf: encrypted PDF"):
        readers.read(pdf)
