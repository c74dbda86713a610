"""Reader stage (bot/readers.py) and ``python -m bot add`` (bot/adding.py).

The format tests build Word and PDF versions of the project's own text documents with
LibreOffice (tests/office.py; ``make office`` installs it) and check that they give the same
passages, paragraph numbers, sub-items, sections and footnotes as the text versions, with the
character overlap of every passage reported. They skip with a reason when soffice is missing.
"""

from __future__ import annotations

import io
import json
import zipfile
import re
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


# --------------------------------------------------------------------------------------
# Catalog entries proposed from the document itself, against the human-reviewed catalog

NOTE_DOC = ROOT / "tests" / "documents" / "en-two-column-note.md"
FIELDS = ("symbol", "title", "date", "issuing_body", "language", "numbered")
# the two English test documents are not in catalog.yml: what a reviewer would write for them
REVIEWED_EN = {
    EN_DOC.name: {"symbol": "A/CONF.300/5", "title": "Expert meeting on digital evidence in criminal proceedings",
                  "date": "2025-03-14", "issuing_body": "United Nations Office on Drugs and Crime",
                  "language": "en", "numbered": True},
    NOTE_DOC.name: {"symbol": "CTOC/COP/WG.7/2026/4",
                    "title": "Practical measures for cross-border investigations of cyber-enabled trafficking "
                             "(Note by the Secretariat)",
                    "date": "2026-02-09",
                    "issuing_body": "Conference of the Parties to the United Nations Convention against "
                                    "Transnational Organized Crime Working Group on Trafficking in Persons",
                    "language": "en", "numbered": True},
}


def reviewed() -> dict[str, dict]:
    return {**{p.name: corpus.load_catalog(DOCS)[p.name] for p in sorted(DOCS.glob("*.txt"))}, **REVIEWED_EN}


def agrees(name: str, proposed, truth) -> bool:
    """A proposed field against the reviewed one. Titles and bodies are compared without spaces
    and quotation marks; the reviewed issuing body often adds the name in the other language in
    brackets ("联合国秘书处 (United Nations Secretariat)"): the proposal must be one of its names."""
    def squeeze(v) -> str:
        return re.sub(r"[\s“”\"'‘’]", "", str(v or ""))
    if name == "issuing_body":
        p, t = squeeze(proposed), squeeze(truth)
        return p == t or p in [n for n in re.split(r"[()（）/]", t) if n]
    if name == "numbered":
        return bool(proposed) == bool(truth)
    return squeeze(proposed) == squeeze(truth)


def proposal(path: Path) -> dict:
    read = readers.read(path)
    meta = read.proposed_meta()
    meta["sha256"] = ""
    return adding.catalog_entry(read, corpus.parse_document(meta, read.text), path.name)


def _disagreements(files: dict[str, Path]) -> list[tuple]:
    truth = reviewed()
    out = []
    for name, path in files.items():
        entry = proposal(path)
        out += [(name, path.suffix, f, entry[f], truth[name][f]) for f in FIELDS
                if not agrees(f, entry[f], truth[name][f])]
    return out


def test_proposed_entries_agree_with_the_reviewed_catalog() -> None:
    """Symbol, title, date, issuing body, language and `numbered` proposed from the text of the
    five corpus documents (a UN background paper without its masthead, a UN report with an
    addendum, a working-group paper, a journal article, a policy brief) and two English UN
    documents, field by field against catalog.yml."""
    files = {p.name: p for p in sorted(DOCS.glob("*.txt"))} | {EN_DOC.name: EN_DOC, NOTE_DOC.name: NOTE_DOC}
    assert _disagreements(files) == []


def test_footnotes_and_body_never_supply_the_proposal(tmp_path: Path) -> None:
    page = tmp_path / "note.md"
    page.write_text(
        "Practical note on the exchange of electronic evidence\n\n"
        "Summary\n\n"
        "1. The Commission on Crime Prevention and Criminal Justice, in its decision of 12 May 2020, asked "
        "for a practical note on the exchange of electronic evidence (see A/CONF.234/11).[^1]\n\n"
        "2. Requests reached the Office between 3 and 5 March 2024 and were answered promptly by all.\n\n"
        "Documents consulted:\n\nA/RES/70/1\n\n"
        "[^1]: A/CONF.234/1, adopted by the General Assembly on 14 December 2019.\n", encoding="utf-8")
    found = readers.read(page).found
    assert found.get("title") == "Practical note on the exchange of electronic evidence"
    for key in ("symbol", "date", "issuing_body"):
        assert not found.get(key), (key, found.get(key))
    assert found["numbered"] is False        # two numbered paragraphs are not a numbered document


def test_numbered_only_for_runs_of_numbered_prose() -> None:
    assert readers.numbered_paragraphs("\n\n".join(f"{n}. " + "Participants described the practice in detail. " * 2
                                                   for n in range(1, 8)))
    # numbered headings ("1. 现状") and a four-point list are not numbered paragraphs
    assert not readers.numbered_paragraphs("\n\n".join(f"{n}. 犯罪发展现状" for n in range(1, 10)))
    assert not readers.numbered_paragraphs("\n\n".join(f"{n}. " + "A long finding of the review. " * 4
                                                       for n in range(1, 5)))
    # Chinese paragraphs are numbered prose even when short in characters
    assert readers.numbered_paragraphs("\n\n".join(f"{n}. 在其后二十多年的时间里，互联网以及信息和通信技术的迅速发展促进了经济增长"
                                                   for n in range(1, 9)))


def test_html_metadata_is_proposed(tmp_path: Path) -> None:
    page = tmp_path / "article.html"
    page.write_text(
        """<!doctype html><html lang="en"><head><title>Online grooming: what courts ask for | Journal of Policing</title>
        <meta name="citation_title" content="Online grooming and the evidence courts ask for">
        <meta name="citation_author" content="Amina Okafor"><meta name="citation_author" content="Li Wen">
        <meta name="citation_publication_date" content="2024/11/05">
        <meta name="citation_publisher" content="Institute for Criminal Justice Studies"></head>
        <body><main><h1>Online grooming and the evidence courts ask for</h1>
        <p>Courts in several jurisdictions now expect investigators to show how chat records were obtained.</p>
        <p>The article compares the practice of five courts between 2019 and 2023.</p></main></body></html>""",
        encoding="utf-8")
    found = readers.read(page).found
    assert found["title"] == "Online grooming and the evidence courts ask for"
    assert found["date"] == "2024-11-05" and found["authors"] == ["Amina Okafor", "Li Wen"]
    assert found["issuing_body"] == "Institute for Criminal Justice Studies"
    un = tmp_path / "un.html"
    un.write_text('<html><head><meta name="DC.identifier" content="CTOC/COP/WG.7/2026/4"></head><body>'
                  "<h1>Cyber-enabled trafficking in persons</h1><p>The note summarizes the replies received.</p>"
                  "</body></html>", encoding="utf-8")
    assert readers.read(un).found["symbol"] == "CTOC/COP/WG.7/2026/4"


def test_html_page_furniture_is_not_text(tmp_path: Path) -> None:
    """A page as a web site serves it: skip link, banner, menu, breadcrumb, cookie notice,
    side bar, share buttons, footer and scripts around the article; only the article's
    paragraphs (and its own header with the title) become passages."""
    page = tmp_path / "statement.html"
    page.write_text(
        """<!doctype html><html lang="en"><head><meta charset="utf-8">
        <title>Statement on victim identification | Example Office</title>
        <meta property="og:site_name" content="Example Office">
        <script>window.dataLayer = [];</script><style>.menu{display:flex}</style></head><body>
        <a class="skip-link" href="#main">Skip to main content</a>
        <div class="cookie-banner">We use cookies to improve this site. <button>Accept</button></div>
        <header class="site-header"><div class="logo">Example Office</div>
          <ul class="menu"><li><a href="/">Home</a></li><li><a href="/news">News</a></li></ul></header>
        <nav aria-label="Breadcrumb" class="breadcrumb"><a href="/">Home</a> › Statements</nav>
        <div role="navigation"><a href="/topics">Topics</a></div>
        <main id="main"><article>
          <header><h1>Statement on victim identification in online investigations</h1>
          <p class="byline">Delivered on 4 June 2025</p></header>
          <p>1. Identifying victims early remains the first duty of every investigation into online exploitation.</p>
          <p>2. Investigators should record how each image was obtained, so that later review is possible.</p>
          <div class="share"><a href="#">Share on social media</a></div>
        </article>
        <aside class="sidebar"><h2>Related news</h2><p>Training course opens in Nairobi.</p></aside></main>
        <div class="newsletter"><p>Subscribe to our newsletter for updates.</p></div>
        <footer class="site-footer"><p>Copyright Example Office. Terms of use.</p></footer>
        <script>trackPage();</script></body></html>""", encoding="utf-8")
    doc = readers.read(page)
    for gone in ("Skip to main content", "cookies", "Home", "News", "Statements", "Topics", "Share on",
                 "Related news", "Nairobi", "newsletter", "Copyright", "trackPage", "dataLayer", "display:flex"):
        assert gone not in doc.text, gone
    parsed = corpus.load_document(page, {})
    body = [p for p in parsed.passages if p.kind == corpus.BODY]
    assert [re.sub(r"^\d\.\s*", "", p.text)[:24] for p in body] == ["Identifying victims earl", "Investigators should rec"]
    assert doc.found["title"] == "Statement on victim identification in online investigations"
    assert doc.found["date"] == "2025-06-04"


def test_word_list_style_numbers_are_paragraph_numbers(tmp_path: Path) -> None:
    """Paragraphs in Word's "List Number" style (the number comes from the style's w:numPr, as
    when an official clicks the numbering button) are numbered paragraphs, no LibreOffice needed."""
    import docx

    word = docx.Document()
    word.add_heading("Guidance on requests for stored data", 1)
    texts = [f"Requests under section {n} should name the account, the period and the kind of data sought, "
             "and say why the data matter to the investigation." for n in range(1, 8)]
    for t in texts:
        word.add_paragraph(t, style="List Number")
    path = tmp_path / "guidance.docx"
    word.save(path)
    assert "<w:t>1." not in zipfile.ZipFile(path).read("word/document.xml").decode()
    read = readers.read(path)
    assert read.found["numbered"] is True
    body = [p for p in corpus.load_document(path, {}).passages if p.kind == corpus.BODY]
    assert [(p.number, p.text) for p in body] == list(zip(range(1, 8), texts))


@pytest.mark.parametrize("left, right, joined", [
    ("the fight against traf-", "ficking in persons", "the fight against trafficking in persons"),
    ("investigations of cyber-", "enabled crime", "investigations of cyber-enabled crime"),
    ("the Secretary-", "General reported", "the Secretary-General reported"),
    ("an inter-", "national response", "an international response"),          # "international" occurs below
    ("national counter-", "terrorism units", "national counter-terrorism units"),  # both are words of the text
    ("a risk-", "based approach", "a risk-based approach"),
    ("end-to-", "end encryption", "end-to-end encryption"),
    ("between 2019-", "2020 and", "between 2019-2020 and"),
    ("the evidence-", "based practice", "the evidence-based practice"),
])
def test_line_end_hyphens(left: str, right: str, joined: str) -> None:
    vocab = readers.Vocabulary([left, right, "International cooperation against terrorism is a counter measure."])
    assert readers.join(left, right, vocab) == joined


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


def _squeeze(section: list[dict]) -> list[tuple[str, str]]:
    return [(s["num"], "".join(s["title"].split())) for s in section]


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
        if p.kind == corpus.BODY:   # section titles compared without spaces ("3D 打印" as a PDF may space it)
            assert _squeeze(p.section) == _squeeze(q.section), pid
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
        # the last page may hold only the end of a paragraph begun on the page before
        assert read.pages - 1 <= max(q.page for q in converted.passages) <= read.pages
    return report


AUTO_NUMBERED = ("en-expert-meeting", "ctoc-trafficking-2021")
TWO_COLUMNS = ("en-two-column-note", "a-conf-234-11")


@pytest.fixture(scope="module")
def office_versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[corpus.Document, dict[str, Path]]]:
    """Every corpus document and both English test documents as Word, PDF and HTML (plain layout,
    the reviewed symbol as running header, no title in the file's metadata so that proposals
    come from the page); two of them with automatic paragraph numbering (Word and PDF) and two
    set in two columns, the English one with hyphenated line ends (PDF)."""
    if office.soffice() is None:
        pytest.skip("LibreOffice (soffice) not installed: run `make office`")
    out = tmp_path_factory.mktemp("office")
    catalog = corpus.load_catalog(DOCS)
    docs = {}
    plain, auto, cols = [], [], []
    for src in sorted(DOCS.glob("*.txt")) + [EN_DOC, NOTE_DOC]:
        doc = corpus.load_document(src, catalog)
        docs[src.stem] = doc
        untitled = corpus.Document(meta={**doc.meta, "title": ""}, passages=doc.passages, warnings=[])
        header = str(doc.meta.get("symbol") or "")
        plain.append(out / f"{src.stem}.fodt")
        plain[-1].write_text(office.fodt(untitled, header=header), encoding="utf-8")
        if src.stem in AUTO_NUMBERED:
            auto.append(out / f"{src.stem}-auto.fodt")
            auto[-1].write_text(office.fodt(untitled, header=header, auto_numbers=True), encoding="utf-8")
        if src.stem in TWO_COLUMNS:
            cols.append(out / f"{src.stem}-columns.fodt")
            cols[-1].write_text(office.fodt(untitled, header=header, columns=2, hyphenate=src.stem == NOTE_DOC.stem),
                                encoding="utf-8")
    files: dict[str, dict[str, Path]] = {stem: {} for stem in docs}
    for fmt in ("docx", "pdf"):
        for made in office.convert_many(plain + auto, fmt, out):
            stem, _, variant = made.stem.partition("-auto") if made.stem.endswith("-auto") else (made.stem, "", "")
            files[stem][("auto-" if made.stem.endswith("-auto") else "") + fmt] = made
    for made in office.convert_many(plain, "html:XHTML Writer File:UTF8", out):
        files[made.stem]["html"] = made
    for made in office.convert_many(cols, "pdf", out):
        files[made.stem.removesuffix("-columns")]["columns-pdf"] = made
    return {stem: (docs[stem], files[stem]) for stem in docs}


@needs_office
@pytest.mark.parametrize("stem", ["en-expert-meeting", "ctoc-trafficking-2021", "congress-ws4-report"])
@pytest.mark.parametrize("fmt", ["docx", "pdf", "html"])
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


@needs_office
@pytest.mark.parametrize("fmt", ["docx", "pdf", "html"])
def test_word_and_pdf_proposals_agree_with_the_reviewed_catalog(office_versions, fmt: str) -> None:
    """The same fields proposed from the Word, PDF and HTML versions (LibreOffice's XHTML
    export): the title page as the layout sets it, the running header's symbol (Word, PDF),
    the metadata without a title. LibreOffice's HTML has no running header, and these documents
    print their symbol only there: for HTML the symbol is left out (a web page's own symbol comes
    from its text or a DC.identifier <meta>, see test_html_metadata_is_proposed)."""
    files = {(DOCS / f"{stem}.txt").name if (DOCS / f"{stem}.txt").exists() else f"{stem}.md": f[fmt]
             for stem, (_, f) in office_versions.items()}
    wrong = _disagreements(files)
    if fmt == "html":
        assert all(d[3] == "" for d in wrong if d[2] == "symbol")      # nothing wrong proposed
        wrong = [d for d in wrong if d[2] != "symbol"]
    assert wrong == []


@needs_office
@pytest.mark.parametrize("stem", AUTO_NUMBERED)
@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_automatic_paragraph_numbering(office_versions, stem: str, fmt: str) -> None:
    """Paragraph numbers and (a) sub-items made by a list style, not typed: the Word file
    carries them as w:numPr, the PDF as drawn labels; both give the text version's passages."""
    doc, files = office_versions[stem]
    path = files[f"auto-{fmt}"]
    if fmt == "docx":
        xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
        typed = ["".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", p)) for p in re.findall(r"<w:p[ >].*?</w:p>", xml)]
        numbered = [p for p in doc.passages if p.kind == corpus.BODY and p.number is not None and not p.parent]
        assert xml.count("<w:numPr>") >= len(numbered) >= 12
        for p in numbered:                     # the text is there, its number is not typed before it
            starts = [t for t in typed if t.startswith(p.text[:12])]
            assert starts and not any(t.startswith(f"{p.number}.") for t in typed if p.text[:12] in t[:20]), p.id
    report = _compare(doc, path)
    assert report["passages"] == len(doc.passages)


@needs_office
@pytest.mark.parametrize("stem", TWO_COLUMNS)
def test_two_column_pdf_reads_column_by_column(office_versions, stem: str) -> None:
    """A PDF whose body is set in two columns (the title page across the page, footnotes
    below): read left column, then right, the text version's passages come out."""
    doc, files = office_versions[stem]
    _compare(doc, files["columns-pdf"])


@needs_office
def test_hyphenated_line_ends_give_whole_words(office_versions) -> None:
    """Narrow columns with hyphenation: words broken at line ends are joined without the
    hyphen, compounds broken after their hyphen keep it; no word of the PDF's text is one the
    source does not have."""
    from pdfminer.high_level import extract_text

    _, files = office_versions[NOTE_DOC.stem]
    raw = extract_text(str(files["columns-pdf"]))
    ends = [ln.rstrip() for ln in raw.splitlines() if re.search(r"[A-Za-z]-$", ln.rstrip())]
    assert len(ends) >= 10, "the layout must break words at line ends for this test to mean anything"
    assert any(ln.endswith("non-") for ln in ends), "a compound (non-governmental) broken after its hyphen"
    words = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
    source = set(words.findall(NOTE_DOC.read_text(encoding="utf-8")))
    text = re.sub(r"<!--.*?-->", "", readers.read(files["columns-pdf"]).text)
    assert set(words.findall(text)) - source == set()
    assert "non-governmental" in text and "trafficking" in text
