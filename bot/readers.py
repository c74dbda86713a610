"""Reader stage: any supported document file → text in the conventions ``bot/corpus.py`` parses.

``read(path)`` returns a ``ReadDocument``: the document's text, its detected language and a
catalog entry proposed from the document itself. Whatever the format, the text follows the
conventions the corpus parser already understands, so ``parse_document`` gives the same
passages, paragraph numbers, sub-items, sections and footnotes:

* ``.txt`` / ``.md``: the file as it is (UTF-8).
* one paragraph per line, blank lines between paragraphs; a paragraph that a page break or a
  footnote block cut in two is joined again here (without a space between Chinese characters,
  with one between Latin words, a line-end hyphen dropped when the joined word occurs
  elsewhere in the document);
* headings the file marks as headings (Word heading styles, HTML ``<h1>``–``<h6>``) as
  Markdown ``#`` lines;
* footnote references as ``[^n]`` and their texts as ``[^n]: text`` lines;
* ``<!-- page N -->`` lines where page N starts (PDF), so passages cite "p. N".

Formats: PDF text layers through pdfminer.six (character positions and font sizes: running
headers, footers and page numbers removed by repetition across pages; footnotes told apart by
their smaller size below the body text; superscript reference marks), Word ``.docx`` through
python-docx (its real footnotes part), HTML through the standard library's ``html.parser``
(scripts, styles, navigation, headers and footers dropped). All are MIT/BSD or stdlib.

Every failure is a ``ReadError`` whose message starts with the file name: no text layer
("run OCR first"), encrypted, corrupt, empty, unsupported type.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable

from bot.lang import reply_lang

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
SUPPORTED = TEXT_SUFFIXES + (".pdf", ".docx", ".html", ".htm")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_TERMINAL = tuple("。！？!?；;：:….”’」』）)")


class ReadError(Exception):
    """A file cannot be read as a document; the message names the file and says why."""


@dataclass
class ReadDocument:
    """One file read: text in the parser's conventions, language, metadata found in it."""

    path: Path
    format: str                    # "text", "pdf", "docx", "html"
    text: str
    language: str                  # "zh" or "en"
    found: dict[str, Any] = field(default_factory=dict)  # symbol, title, date, issuing_body
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)

    def proposed_meta(self) -> dict[str, Any]:
        """A catalog entry for the file, from what the document itself states."""
        from bot.corpus import default_meta

        meta = default_meta(self.path, self.text)
        meta["language"] = self.language
        for key in ("title", "symbol", "date", "issuing_body", "doc_type", "authors"):
            if self.found.get(key):
                meta[key] = self.found[key]
        if meta.get("symbol"):
            meta["aliases"] = [meta["symbol"]]
        return meta


def read(path: Path | str) -> ReadDocument:
    """Read one document file of any supported type (see the module docstring)."""
    path = Path(path)
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path, bytes], tuple[str, str, int | None, dict[str, Any]]]] = {
        ".pdf": _read_pdf, ".docx": _read_docx, ".html": _read_html, ".htm": _read_html,
    }
    if suffix not in SUPPORTED:
        kinds = ", ".join(SUPPORTED)
        hint = " (save it as .docx)" if suffix in (".doc", ".rtf", ".odt") else ""
        raise ReadError(f"{path.name}: unsupported file type {suffix or '(none)'}{hint}; supported: {kinds}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise ReadError(f"{path.name}: is empty")
    if suffix in TEXT_SUFFIXES:
        text = _decode_text(path, raw)
        fmt, pages, found = "text", None, {}
    else:
        try:
            fmt, text, pages, found = readers[suffix](path, raw)
        except ReadError:
            raise
        except Exception as exc:  # a library's own error on a damaged file
            raise ReadError(f"{path.name}: corrupt or unreadable {suffix[1:].upper()} file "
                            f"({type(exc).__name__}: {exc})") from exc
    if not re.sub(r"<!--.*?-->|\[\^\w+\]:?", "", text).strip():
        raise ReadError(f"{path.name}: is empty (no text found)")
    doc = ReadDocument(path, fmt, text, _language(text), pages=pages)
    doc.found = {**propose_meta(text), **{k: v for k, v in found.items() if v}}
    return doc


def _decode_text(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:65536]:
        raise ReadError(f"{path.name}: looks like a binary file, not UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path.name}: is not valid UTF-8 (byte {exc.start}); save it as UTF-8 text") from exc
    if not text.strip():
        raise ReadError(f"{path.name}: is empty")
    return text


def _language(text: str) -> str:
    sample = re.sub(r"<!--.*?-->|\[\^\w+\]", "", text)[:20000]
    return reply_lang(sample)


def text_hash(text: str) -> str:
    """Hash of a document's words (spaces, markup and page marks ignored): finds duplicates
    whatever the format the same document came in."""
    import hashlib

    plain = re.sub(r"<!--.*?-->|\[\^\w+\]:?|<sup>.*?</sup>|^#+", "", text, flags=re.M)
    plain = re.sub(r"\s+", "", unicodedata.normalize("NFKC", plain))
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------
# Metadata proposed from the text

RE_SYMBOL = re.compile(r"\b((?:A|E|S|CTOC|CAC|UNODC|TD|ST|CRC|CEDAW|HRC)(?:/[A-Z0-9][A-Za-z0-9.\-]*){1,6})")
RE_DATE_EN = re.compile(r"\b(\d{1,2})\s+(January|February|March|April|May|June|July|August|September|"
                        r"October|November|December)\s+((?:19|20)\d{2})\b")
RE_DATE_ZH = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
BODIES = [
    ("United Nations Office on Drugs and Crime", "United Nations Office on Drugs and Crime"),
    ("联合国毒品和犯罪问题办公室", "联合国毒品和犯罪问题办公室 (UNODC)"),
    ("Conference of the Parties to the United Nations Convention against Transnational Organized Crime",
     "Conference of the Parties to the United Nations Convention against Transnational Organized Crime"),
    ("联合国打击跨国有组织犯罪公约缔约方会议", "联合国打击跨国有组织犯罪公约缔约方会议"),
    ("Congress on Crime Prevention and Criminal Justice", "United Nations Congress on Crime Prevention and Criminal Justice"),
    ("预防犯罪和刑事司法大会", "联合国预防犯罪和刑事司法大会"),
    ("Commission on Crime Prevention and Criminal Justice", "Commission on Crime Prevention and Criminal Justice"),
    ("预防犯罪和刑事司法委员会", "预防犯罪和刑事司法委员会"),
    ("Human Rights Council", "Human Rights Council"),
    ("人权理事会", "人权理事会"),
    ("General Assembly", "General Assembly"),
    ("大会", "联合国大会"),
    ("Secretariat", "United Nations Secretariat"),
    ("秘书处", "联合国秘书处"),
]


def propose_meta(text: str) -> dict[str, Any]:
    """Symbol (``A/CONF.234/11``), title, date and issuing body as the document states them."""
    head = re.sub(r"<!--.*?-->", "", text[:6000])
    lines = [ln.strip().lstrip("#").strip() for ln in head.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("[^")]
    found: dict[str, Any] = {}
    counts = Counter(m.group(1).rstrip(".") for m in RE_SYMBOL.finditer(head))
    # the document's own symbol stands alone on a line (masthead); otherwise the most frequent
    alone = [ln for ln in lines if RE_SYMBOL.fullmatch(ln)]
    if alone:
        found["symbol"] = alone[0]
    elif counts:
        found["symbol"] = counts.most_common(1)[0][0]
    m = RE_DATE_EN.search(head)
    z = RE_DATE_ZH.search(head)
    if m and (not z or m.start() < z.start()):
        found["date"] = f"{m.group(3)}-{MONTHS.index(m.group(2).lower()) + 1:02d}-{int(m.group(1)):02d}"
    elif z:
        found["date"] = f"{z.group(1)}-{int(z.group(2)):02d}" + (f"-{int(z.group(3)):02d}" if z.group(3) else "")
    for needle, name in BODIES:
        if needle in head:
            found["issuing_body"] = name
            break
    title = _title(lines)
    if title:
        found["title"] = title
    return found


_MASTHEAD = re.compile(
    r"^(?:distr\.?|general|limited|chinese|english|original|united nations|联合国|provisional agenda|"
    r"临时议程|议程项目|agenda item|item \d|\d{1,2} \w+ \d{4}|[A-Z]\.\d{2}-\d+|page \d+|\d+)\b", re.I)


def _title(lines: list[str]) -> str:
    """The first substantial line that is not masthead, symbol, date or agenda item."""
    for ln in lines[:40]:
        if RE_SYMBOL.fullmatch(ln) or _MASTHEAD.match(ln) or RE_DATE_EN.fullmatch(ln):
            continue
        if len(ln) < 4 or re.match(r"^\d+\s*[.．]\s", ln):
            continue
        return ln[:200]
    return ""


# --------------------------------------------------------------------------------------
# Joining lines and assembling the text


def join(left: str, right: str, vocabulary: set[str] | None = None) -> str:
    """Join two lines of one paragraph (Chinese: no space; Latin: one; hyphenation undone when
    the word without the hyphen occurs elsewhere in the document)."""
    from bot.corpus import join_lines

    left, right = left.rstrip(), right.lstrip()
    if left.endswith("\u00ad"):
        return left[:-1] + right
    m = re.search(r"([A-Za-z]+)-$", left)
    n = re.match(r"([a-z]+)", right)
    if m and n and vocabulary is not None and (m.group(1) + n.group(1)).lower() in vocabulary:
        return left[:-1] + right
    return join_lines(left, right)


def vocabulary_of(texts: list[str]) -> set[str]:
    words: set[str] = set()
    for t in texts:
        words.update(w.lower() for w in re.findall(r"[A-Za-z]{3,}", t))
    return words


@dataclass
class _Para:
    text: str
    page: int | None = None
    heading: int = 0               # Markdown heading level, 0 for a paragraph


def assemble(paras: list[_Para], notes: list[tuple[str, str, int | None]]) -> str:
    """Paragraphs and footnotes (id, text, page) → text with page marks and ``[^n]:`` lines.

    Footnotes follow the paragraphs of their page (before the next page's first paragraph),
    so every passage gets the page it starts on."""
    out: list[str] = []
    current: int | None = None
    pending = list(notes)

    def mark(page: int | None) -> None:
        nonlocal current
        if page is not None and page != current:
            out.append(f"<!-- page {page} -->")
            out.append("")
            current = page

    def flush(before: int | None) -> None:
        nonlocal pending
        keep = []
        for fid, text, page in pending:
            if before is None or page is None or page < before:
                mark(page)
                out.append(f"[^{fid}]: {text}")
                out.append("")
            else:
                keep.append((fid, text, page))
        pending = keep

    for p in paras:
        if p.page is not None:
            flush(p.page)
        mark(p.page)
        out.append(("#" * p.heading + " " if p.heading else "") + p.text)
        out.append("")
    flush(None)
    text = "\n".join(out).rstrip() + "\n"
    # a "*" note keeps its mark visible, as printed (the parser's convention for "*" notes)
    text = re.sub(r"^\[\^\*\]:", "<sup>*</sup>", text, flags=re.M)
    return text.replace("[^*]", "*<sup>*</sup>")


# --------------------------------------------------------------------------------------
# PDF (pdfminer.six)


@dataclass
class _Line:
    page: int
    x0: float
    x1: float
    top: float                     # distance from the page top
    bottom: float
    size: float                    # median character size
    bold: bool
    text: str                      # with "[^n]" for superscript reference marks


def _read_pdf(path: Path, raw: bytes) -> tuple[str, str, int | None, dict[str, Any]]:
    from io import BytesIO

    from pdfminer.layout import LAParams, LTAnno, LTChar, LTTextContainer, LTTextLine
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser, PDFSyntaxError
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager

    if not raw.lstrip().startswith(b"%PDF"):
        raise ReadError(f"{path.name}: corrupt PDF (no PDF header)")
    try:
        parser = PDFParser(BytesIO(raw))
        document = PDFDocument(parser)
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise ReadError(f"{path.name}: encrypted PDF (password protected): save an unprotected copy") from exc
    except PDFSyntaxError as exc:
        raise ReadError(f"{path.name}: corrupt PDF ({exc})") from exc
    except Exception as exc:
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise ReadError(f"{path.name}: encrypted PDF (password protected): save an unprotected copy") from exc
        raise
    if not document.is_extractable:
        raise ReadError(f"{path.name}: encrypted PDF (text extraction not allowed)")
    info = {}
    for entry in document.info or []:
        for key in ("Title", "Author", "Subject"):
            value = entry.get(key)
            if isinstance(value, bytes):
                value = value.decode("utf-16" if value.startswith(b"\xfe\xff") else "latin-1", "replace")
            if isinstance(value, str) and value.strip():
                info[key] = value.strip()
    rsrc = PDFResourceManager()
    device = PDFPageAggregator(rsrc, laparams=LAParams(line_margin=0.3, char_margin=3.0))
    interpreter = PDFPageInterpreter(rsrc, device)
    pages: list[list[_Line]] = []
    heights: list[float] = []
    for pno, page in enumerate(PDFPage.create_pages(document), 1):
        interpreter.process_page(page)
        layout = device.get_result()
        height = layout.height
        heights.append(height)
        lines: list[_Line] = []
        for box in layout:
            if not isinstance(box, LTTextContainer):
                continue
            for line in box:
                if not isinstance(line, LTTextLine):
                    continue
                chars = [c for c in line if isinstance(c, LTChar)]
                if not chars:
                    continue
                sizes = [round(c.size, 1) for c in chars if c.get_text().strip()]
                size = statistics.median(sizes) if sizes else chars[0].size
                base = statistics.median(c.y0 for c in chars if round(c.size, 1) >= size * 0.9) \
                    if any(round(c.size, 1) >= size * 0.9 for c in chars) else chars[0].y0
                text, sup = "", ""
                for c in line:
                    t = c.get_text()
                    small_raised = (isinstance(c, LTChar) and c.size < size * 0.8 and c.y0 > base + size * 0.2)
                    if small_raised and (t.isdigit() or t == "*"):
                        sup += t
                        continue
                    if sup:
                        text += f"[^{sup}]"
                        sup = ""
                    if isinstance(c, (LTChar, LTAnno)):
                        text += t
                if sup:
                    text += f"[^{sup}]"
                text = text.replace("\n", " ").strip()
                text = re.sub(r"^([（(])\s*([a-z])\s*([)）])", r"\1\2\3", text)   # "(f )" from italic spacing
                text = re.sub(r"(?<=[\u3000-\u303f\uff00-\uffef\u4e00-\u9fff])\s+(?=\[\^)", "", text)
                if not text:
                    continue
                bold = sum("bold" in c.fontname.lower() for c in chars) > len(chars) / 2
                lines.append(_Line(pno, line.x0, line.x1, height - line.y1, height - line.y0, size, bold, text))
        pages.append(_merge_same_baseline(lines))
    if not pages:
        raise ReadError(f"{path.name}: corrupt PDF (no pages)")
    if sum(len(p) for p in pages) == 0:
        raise ReadError(f"{path.name}: no text layer: run OCR first (a scanned PDF has only images of its pages)")
    removed: list[str] = []
    pages = _drop_furniture(pages, heights, removed)
    text = _pdf_text(pages)
    found: dict[str, Any] = {}
    if info.get("Title") and not propose_meta(text).get("title"):
        found["title"] = info["Title"][:200]
    if info.get("Author"):
        found["authors"] = [info["Author"]]
    symbols = [t.strip() for t in removed if RE_SYMBOL.fullmatch(t.strip())]
    if symbols:  # the running header of a UN document is its symbol
        found["symbol"] = Counter(symbols).most_common(1)[0][0]
    return "pdf", text, len(pages), found


def _merge_same_baseline(lines: list[_Line]) -> list[_Line]:
    """Pieces of one printed line (a paragraph number and its text) → one line, top to bottom."""
    lines.sort(key=lambda ln: (round(ln.bottom), ln.x0))
    out: list[_Line] = []
    for ln in lines:
        prev = out[-1] if out else None
        if prev and abs(prev.bottom - ln.bottom) < max(2.0, 0.3 * ln.size) and ln.x0 >= prev.x1 - 1:
            gap = " " if not (_CJK.search(prev.text[-1:]) and _CJK.search(ln.text[:1])) else ""
            prev.text = prev.text + gap + ln.text
            prev.x1 = ln.x1
            prev.top = min(prev.top, ln.top)
            prev.size = max(prev.size, ln.size)
            continue
        out.append(ln)
    return out


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _drop_furniture(pages: list[list[_Line]], heights: list[float], removed: list[str]) -> list[list[_Line]]:
    """Remove running headers, footers and page numbers: lines in the top or bottom band of
    the page whose text (digits aside) repeats on several pages, and lone page numbers."""
    n = len(pages)
    bands: Counter[str] = Counter()
    for lines, h in zip(pages, heights):
        seen = {_furniture_key(ln.text) for ln in lines if ln.top < 0.12 * h or ln.bottom > 0.88 * h}
        bands.update(seen)
    need = 2 if n <= 3 else max(2, int(0.4 * n))
    out = []
    for lines, h in zip(pages, heights):
        keep = []
        for ln in lines:
            in_band = ln.top < 0.12 * h or ln.bottom > 0.88 * h
            if in_band and (bands[_furniture_key(ln.text)] >= need and n > 1
                            or re.fullmatch(r"[-–—\s]*\d{1,4}[-–—\s]*|\d{1,4}\s*/\s*\d{1,4}|(?:page|第)\s*\d+\s*页?",
                                            ln.text.strip(), re.I)):
                removed.append(ln.text)
                continue
            keep.append(ln)
        out.append(keep)
    return out


RE_PARA_START = re.compile(r"^(?:\d{1,3}\s*[.．]\s|[（(][a-z][)）]\s?|[•·\-–]\s|[一二三四五六七八九十]{1,3}\s*[.、．]|"
                           r"[IVX]{1,6}\.\s|[A-Z]\.\s)")


def _pdf_text(pages: list[list[_Line]]) -> str:
    """Body lines → paragraphs (joined across pages); footnote lines → footnotes."""
    sizes: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            sizes[round(ln.size)] += len(ln.text)
    body = sizes.most_common(1)[0][0]
    body_lines: list[_Line] = []
    notes: list[tuple[str, str, int | None]] = []
    for lines in pages:
        # footnotes: smaller lines below the last body-size line of the page
        last_body = max((ln.bottom for ln in lines if round(ln.size) >= body * 0.95), default=0.0)
        note: list[Any] | None = None
        for ln in lines:
            if ln.top >= last_body - 1 and ln.size < body * 0.92:
                m = re.match(r"^(?:\[\^)?(\d{1,3}|\*)\]?\s*(\S.*)$", ln.text)
                if m and (not notes or m.group(1) == "*" or not note or int(m.group(1)) == int(note[0]) + 1
                          or not notes[-1][0].isdigit() or int(m.group(1)) == int(notes[-1][0]) + 1):
                    if note:
                        notes.append((note[0], note[1], note[2]))
                    note = [m.group(1), m.group(2), ln.page]
                elif note:
                    note[1] = join(note[1], ln.text)
                elif notes and notes[-1][2] == ln.page - 1 or notes:
                    fid, t, pg = notes[-1]       # a footnote continued from the previous page
                    notes[-1] = (fid, join(t, ln.text), pg)
                continue
            body_lines.append(ln)
        if note:
            notes.append((note[0], note[1], note[2]))
    vocab = vocabulary_of([ln.text for ln in body_lines])
    paras: list[_Para] = []
    gaps = [b.top - a.bottom for a, b in zip(body_lines, body_lines[1:]) if a.page == b.page]
    normal_gap = statistics.median(gaps) if gaps else 3.0
    left = statistics.median(ln.x0 for ln in body_lines) if body_lines else 0.0
    right = max((ln.x1 for ln in body_lines), default=0.0)
    prev: _Line | None = None
    prev_heading = False
    for ln in body_lines:
        heading = round(ln.size) > body * 1.1 or (ln.bold and len(ln.text) < 120)
        new = prev is None or heading != prev_heading
        if not new and prev is not None:
            short = right - prev.x1
            if ln.page == prev.page and ln.top - prev.bottom > max(normal_gap * 1.8, normal_gap + 0.5 * ln.size):
                new = True
            elif RE_PARA_START.match(ln.text):
                new = True
            elif ln.x0 > left + 0.8 * ln.size and short > 2 * ln.size:
                new = True   # an indented first line after a line that stops short
            elif short > 2.5 * ln.size and prev.text.rstrip().endswith(_TERMINAL):
                new = True   # the last line of a paragraph stops short
            elif short > max(8 * ln.size, 0.3 * (right - left)):
                new = True   # a short line of its own (title page, list without punctuation)
        if new:
            level = 0
            if heading:
                level = 1 if round(ln.size) > body * 1.3 else 2
            paras.append(_Para(ln.text, ln.page, level))
        else:
            paras[-1].text = join(paras[-1].text, ln.text, vocab)
        prev, prev_heading = ln, heading
    merged = paras
    for p in merged:
        if p.heading and (RE_PARA_START.match(p.text) is None and len(p.text) > 120):
            p.heading = 0
    return assemble(merged, notes)


# --------------------------------------------------------------------------------------
# Word (python-docx)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _read_docx(path: Path, raw: bytes) -> tuple[str, str, int | None, dict[str, Any]]:
    from io import BytesIO

    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(f"{path.name}: encrypted Word file or old .doc format: save it as an unprotected .docx")
    if not zipfile.is_zipfile(BytesIO(raw)):
        raise ReadError(f"{path.name}: corrupt Word file (not a .docx zip package)")
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    document = docx.Document(BytesIO(raw))
    note_texts: dict[str, str] = {}
    try:
        part = document.part.part_related_by(RT.FOOTNOTES)
    except KeyError:
        part = None
    if part is not None:
        from lxml import etree

        root = etree.fromstring(part.blob)
        for fn in root.iter(f"{W}footnote"):
            if fn.get(f"{W}type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            paras = []
            for p in fn.iter(f"{W}p"):
                paras.append("".join(t.text or "" for t in p.iter(f"{W}t", f"{W}tab")
                                     if t.tag == f"{W}t").strip())
            note_texts[fn.get(f"{W}id")] = " ".join(x for x in paras if x)
    order: dict[str, str] = {}                       # footnote id → number as printed
    custom: list[str] = []
    paras_out: list[_Para] = []

    def para_text(p_el: Any) -> str:
        out = []
        for el in p_el.iter(f"{W}t", f"{W}tab", f"{W}br", f"{W}footnoteReference", f"{W}noBreakHyphen"):
            if el.tag == f"{W}t":
                out.append(el.text or "")
            elif el.tag == f"{W}tab":
                out.append(" ")
            elif el.tag == f"{W}noBreakHyphen":
                out.append("-")
            elif el.tag == f"{W}br":
                out.append(" ")
            else:
                fid = el.get(f"{W}id")
                if el.get(f"{W}customMarkFollows") in ("1", "true", "on"):
                    custom.append(fid)      # the mark is the next run's text ("*")
                    continue
                order.setdefault(fid, str(len(order) + 1 - sum(1 for v in order.values() if not v.isdigit())))
                out.append(f"[^{order[fid]}]")
            if custom and el.tag == f"{W}t" and out and out[-1].strip():
                fid = custom.pop()
                order[fid] = out[-1].strip()
                out[-1] = f"[^{order[fid]}]"
        return re.sub(r"[ \t]+", " ", "".join(out)).strip()

    styles = {}
    for p in document.paragraphs:
        styles[p._p] = (p.style.name if p.style is not None else "") or ""
    for child in document.element.body.iterchildren():
        if child.tag == f"{W}p":
            text = para_text(child)
            if not text:
                continue
            style = styles.get(child, "")
            m = re.match(r"(?:heading|标题)\s*(\d)", style, re.I)
            level = int(m.group(1)) if m else (1 if style.lower() == "title" else 0)
            paras_out.append(_Para(text, None, level))
        elif child.tag == f"{W}tbl":
            for row in child.iter(f"{W}tr"):
                cells = [" ".join(para_text(p) for p in tc.iter(f"{W}p")).strip() for tc in row.iter(f"{W}tc")]
                if any(cells):
                    paras_out.append(_Para(" | ".join(cells)))
    notes = [(num, _strip_mark(note_texts.get(fid, ""), num), None) for fid, num in order.items()]
    text = assemble(paras_out, [n for n in notes if n[1]])
    props = document.core_properties
    found: dict[str, Any] = {}
    if props.title and not propose_meta(text).get("title"):
        found["title"] = props.title.strip()[:200]
    for section in document.sections:
        for p in section.header.paragraphs:
            if RE_SYMBOL.fullmatch(p.text.strip()):
                found.setdefault("symbol", p.text.strip())
    if props.author and props.author.strip().lower() not in ("", "user", "admin", "author"):
        found["authors"] = [props.author.strip()]
    return "docx", text, None, found


def _strip_mark(text: str, mark: str) -> str:
    """A custom footnote mark ("*") is typed into the note's own text too."""
    return text[len(mark):].strip() if not mark.isdigit() and text.startswith(mark) else text


# --------------------------------------------------------------------------------------
# HTML (standard library)

_BLOCK = {"p", "div", "li", "dt", "dd", "blockquote", "pre", "tr", "section", "article", "main",
          "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "figure", "figcaption", "br", "hr"}
_SKIP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg", "form",
         "button", "select", "head", "iframe", "object", "canvas"}
_NOTE_ID = re.compile(r"^(?:fn|footnote|note|ftn|endnote)[-_:]?(\d+)$", re.I)


class _HTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paras: list[_Para] = []
        self.notes: list[tuple[str, str, int | None]] = []
        self.buf: list[str] = []
        self.level = 0
        self.skip = 0
        self.stack: list[str] = []
        self.note: str | None = None           # footnote being read (its number)
        self.note_depth = 0
        self.sup = False
        self.sup_text = ""
        self.backlink = False
        self.title = ""
        self.in_title = False
        self.lang = ""

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self.buf)).strip()
        self.buf = []
        if not text:
            return
        if self.note is not None:
            self.notes.append((self.note, text.rstrip("↩↑ ").strip(), None))
            self.note = None
            return
        self.paras.append(_Para(text, None, self.level))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "title":
            self.in_title = True
        if tag in ("br", "hr", "img", "meta", "link", "input", "wbr"):
            if tag == "br":
                self.buf.append(" ")
            return
        self.stack.append(tag)
        if self.skip or tag in _SKIP or "display:none" in a.get("style", "").replace(" ", ""):
            self.skip += 1
            return
        if tag in _BLOCK:
            self._flush()
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.level = int(tag[1])
            m = _NOTE_ID.match(a.get("id", ""))
            if m and tag in ("li", "p", "div", "aside", "section"):
                self.note = m.group(1)
                self.note_depth = len(self.stack)
        if tag == "sup":
            self.sup, self.sup_text = True, ""
        if tag == "a" and ("backref" in a.get("class", "") or "footnote-back" in a.get("class", "")
                           or a.get("href", "").startswith("#fnref")):
            self.backlink = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if self.skip:
                self.skip -= 1
            elif top in _BLOCK:
                self._flush()
                if top.startswith("h") and len(top) == 2:
                    self.level = 0
            if top == "sup" and self.sup:
                self.sup = False
                s = self.sup_text.strip().strip("[]")
                if re.fullmatch(r"\d{1,3}|\*", s):
                    self.buf.append(f"[^{s}]")
                else:
                    self.buf.append(self.sup_text)
            if top == "a":
                self.backlink = False
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.skip or self.backlink:
            return
        if self.sup:
            self.sup_text += data
        else:
            self.buf.append(data)


def _read_html(path: Path, raw: bytes) -> tuple[str, str, int | None, dict[str, Any]]:
    m = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", raw[:4096], re.I)
    encoding = m.group(1).decode("ascii") if m else "utf-8"
    try:
        html = raw.decode(encoding, errors="strict")
    except (LookupError, UnicodeDecodeError):
        try:
            html = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReadError(f"{path.name}: HTML is not valid {encoding} (byte {exc.start})") from exc
    if not re.search(r"<\s*(?:html|body|p|div|h\d)\b", html, re.I):
        raise ReadError(f"{path.name}: does not look like HTML")
    parser = _HTML()
    parser.feed(html)
    parser.close()
    parser._flush()
    found: dict[str, Any] = {}
    if parser.title.strip():
        found["title"] = re.sub(r"\s+", " ", parser.title).strip()[:200]
    return "html", assemble(parser.paras, parser.notes), None, found
