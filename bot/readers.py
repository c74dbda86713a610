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
    found: dict[str, Any] = field(default_factory=dict)  # proposed: symbol, title, date, issuing_body, ...
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # the file's own: PDF Info, Word core properties, HTML <meta>

    def proposed_meta(self) -> dict[str, Any]:
        """A catalog entry for the file, from what the document itself states."""
        from bot.corpus import default_meta

        meta = default_meta(self.path, self.text)
        meta["language"] = self.language
        for key in ("title", "symbol", "date", "issuing_body", "doc_type", "doi", "authors"):
            if self.found.get(key):
                meta[key] = self.found[key]
        meta["numbered"] = bool(self.found.get("numbered"))
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
    doc.metadata = {k: v for k, v in found.items() if v}
    doc.found = propose_meta(text, doc.metadata)
    doc.found["numbered"] = numbered_paragraphs(text)
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
# Catalog entry proposed from the document itself
#
# Only the title page is read ("front matter"): the blocks of text before the footnote rule
# ("_____"), the first numbered paragraph, the first section heading ("I. Introduction",
# "一. 导言", "Summary", "摘要", "Abstract") or the first paragraph of running prose.
# Footnotes ("[^1]: ...", "* A/CONF.234/1") and the body never count: they cite other
# documents' symbols, dates and bodies. Document metadata (PDF Info, Word core properties,
# HTML <meta> and <title>) fills what the title page does not state.

RE_SYMBOL = re.compile(r"\b((?:A|E|S|CTOC|CAC|UNODC|TD|ST|CRC|CEDAW|HRC|UNEP|ECE|ESCAP|CCPR|CAT|DP|IDB|"
                       r"PBC|CND|CCPCJ|UNW|UNICEF|ICC)(?:/[A-Z0-9][A-Za-z0-9.\-]*){1,6})")
RE_SERIES = re.compile(r"\b([A-Z]{2,6}\d{4}\.\d{1,3})\b")          # a report series number: SFP2026.1
RE_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s,;，；\]]*[^\s,;，；.。\]])")
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
RE_DATE_EN = re.compile(rf"\b(\d{{1,2}})\s+{_MONTH}\s+((?:19|20)\d{{2}})\b")
RE_DATE_US = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}}),\s*((?:19|20)\d{{2}})\b")
RE_MONTH_EN = re.compile(rf"\b{_MONTH}\s+((?:19|20)\d{{2}})\b")
RE_DATE_ZH = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
RE_DATE_ISO = re.compile(r"\b((?:19|20)\d{2})-(\d{2})(?:-(\d{2}))?\b")
_RANGE_AFTER = re.compile(r"^\s*(?:至|到|和|及|[-–—]|to\b|and\b)\s*\d")
_RANGE_BEFORE = re.compile(r"(?:\d\s*(?:至|到|和|及|[-–—])|\bto|\band|\bfrom|\bbetween)\s*$", re.I)

_RULE = re.compile(r"^[_\-—–=]{5,}$")
_NOTE = re.compile(r"^(?:\[\^[^\]]+\]:|<sup>|\\?\*\s*\S|\*\)|\d{1,2}\)\s)")
_BODY_START = re.compile(
    r"^(?:(?:[IVX]{1,6}|[一二三四五六七八九十]{1,3})\s*[.、．]\s*\S"
    r"|(?:摘\s*要|概\s*要|内容提要|提\s*要|关\s*键\s*词|关键字|引\s*言|导\s*言|前\s*言|目\s*录)(?:\s|[:：]|$)"
    r"|(?:Summary|Executive summary|Abstract|Keywords|Key words|Introduction|Contents|Background)\s*(?:[:.：]|$)"
    r"|\d{1,3}\s*[.．]\s*\S.{20,})", re.I)
_MASTHEAD = re.compile(
    r"^(?:distr\.?\s*[:：]|distr\.?$|general$|limited$|restricted$|original\s*[:：]|(?:chinese|english|french|"
    r"spanish|russian|arabic)$|united nations$|联合国$|nations unies$|[A-Z]\.\d{2}-\d{4,6}\b|\*\d{6,}\*|"
    r"please recycle|中文$|原文\s*[:：]|\d{1,2}\s+\w+\s+\d{4}$)", re.I)
_AGENDA = re.compile(r"^(?:(?:临时)?议程\s*\*?\s*项目\s*\d+|(?:provisional\s+)?agenda\s+item\s*\d+|"
                     r"item\s+\d+\s+of\s+the\s+(?:provisional\s+)?agenda)\**", re.I)
_DOCTYPE = re.compile(
    r"^(?:秘书处编写的\S{0,12}|秘书处的说明|秘书长的报告|秘书处的报告|主席的总结|执行主任的报告|"
    r"(?:background|working|conference|discussion) paper prepared by the secretariat|"
    r"note by the secretariat|report (?:of|by) the secretary-general|report of the secretariat|"
    r"note by the secretary-general|report of the executive director|chair's summary)$", re.I)
_ADDENDUM = re.compile(r"^(?:增编|Addendum|更正|订正|Corrigendum|修订|Revision)$", re.I)
_ITEM = re.compile(r"^(?:\d{1,3}|[IVX]{1,6}|[A-Z]|[一二三四五六七八九十]{1,3})\s*[.．、)]\s*\S|^[(（]\w[)）]")
_CITATION = re.compile(r"^(?:引用格式|建议引用|Cite as|Suggested citation|How to cite(?: this \w+)?|Citation)\s*[:：]?", re.I)
_AUTHOR = re.compile(r"^(?:■|●|By\s+|作者\s*[:：])\s*(\S.*)$")
_NAMES = re.compile(r"^(?:(?:[A-Z]\.\s?){1,3}[A-Z][a-z]+(?:[-\s][A-Z][a-z]+)?\s*(?:,|、|and|$)\s*){2,}")
_ORGAN = re.compile(
    r"United Nations\s+\S|Conference|Congress|Commission|Committee|Council|Assembly|Panel|Office\b|"
    r"Organization|Organisation|Programme|Agency|Secretariat|Working Group|Group of Experts|Expert Group|Forum|"
    r"Institute|Ministry|Court|Union|Network|联合国\S|大会$|会议$|委员会$|理事会|小组$|办公室|组织$|秘书处$|工作组$|"
    r"论坛$|研究所$|研究院$|部$|法院$|协会$|中心$")
_NOT_ORGAN = re.compile(r"^(?:Report|Note|Letter|Resolution|Decision|Draft|Summary|Statement|Guide|Study)\b|"
                        r"报告|说明|决议|决定|建议|研究$|[:：]")
_SUB_ORGAN = re.compile(r"(?:工作组|委员会|小组|Working Group|Committee|Subcommission|Expert Group|Group of Experts)$|"
                        r"^(?:Open-ended |Intergovernmental |Ad Hoc )?(?:Working Group|Committee|Subcommission|"
                        r"Subcommittee|Expert Group|Group of Experts)\b", re.I)
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\u3000-\u303f\uff00-\uffef])\s+(?=[\u3400-\u9fff\u3000-\u303f\uff00-\uffef])")
BODIES = [
    ("United Nations Office on Drugs and Crime", "United Nations Office on Drugs and Crime"),
    ("联合国毒品和犯罪问题办公室", "联合国毒品和犯罪问题办公室"),
    ("Conference of the Parties to the United Nations Convention against Transnational Organized Crime",
     "Conference of the Parties to the United Nations Convention against Transnational Organized Crime"),
    ("联合国打击跨国有组织犯罪公约缔约方会议", "联合国打击跨国有组织犯罪公约缔约方会议"),
    ("Congress on Crime Prevention and Criminal Justice", "United Nations Congress on Crime Prevention and Criminal Justice"),
    ("预防犯罪和刑事司法大会", "联合国预防犯罪和刑事司法大会"),
    ("Commission on Crime Prevention and Criminal Justice", "Commission on Crime Prevention and Criminal Justice"),
    ("预防犯罪和刑事司法委员会", "预防犯罪和刑事司法委员会"),
    ("Human Rights Council", "Human Rights Council"),
    ("人权理事会", "人权理事会"),
]
_JUNK_AUTHOR = re.compile(r"^(?:|[Uu]ser|[Aa]dmin(?:istrator)?|[Aa]uthor|[Oo]wner|[Uu]nknown|Microsoft Office User|"
                          r"[a-z0-9._]{1,16})$")
_JUNK_TITLE = re.compile(r"^(?:microsoft word\s*-|untitled|无标题|document\d*$|title$|slide\s*\d|"
                         r"\S+\.(?:docx?|pdf|rtf|odt|indd|html?)$)", re.I)


def _width(text: str) -> int:
    """Length counting a Chinese character twice (about the width of two Latin letters)."""
    return len(text) + len(_CJK.findall(text))


def _clean_block(lines: list[str]) -> str:
    from bot.corpus import join_lines

    out = ""
    for ln in lines:
        ln = re.sub(r"<!--.*?-->|\*?<sup>.*?</sup>|\[\^[^\]]+\](?!:)|\*\*|__", "", ln)
        ln = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", ln)              # Markdown link → its text
        ln = re.sub(r"\\([*_#\[\]()\\-])", r"\1", ln).strip().lstrip("#").strip()
        out = join_lines(out, ln) if out else ln
    return _CJK_GAP.sub("", re.sub(r"[ \t\u3000]+", " ", out)).strip()


def front_matter(text: str) -> list[str]:
    """The title page's blocks of text, footnotes left out (see the section comment)."""
    blocks: list[str] = []
    current: list[str] = []
    raw_blocks: list[list[str]] = []
    for ln in text[:12000].splitlines():
        if re.fullmatch(r"\s*(?:<!--.*?-->)?\s*", ln):
            if current:
                raw_blocks.append(current)
                current = []
            continue
        if re.match(r"\s*#{1,6}\s", ln) and current:      # a heading is a block of its own
            raw_blocks.append(current)
            current = []
        current.append(ln)
    if current:
        raw_blocks.append(current)
    for raw in raw_blocks[:60]:
        first = raw[0].strip()
        if _RULE.match(first.replace(" ", "")):
            break
        if _NOTE.match(first):
            continue
        block = _clean_block(raw)
        if not block:
            continue
        if first.startswith("#") and re.match(r"^\d{1,3}(?:\.\d+)*\s*[.．、]?\s+\S", block):
            break                                   # "## 1. Background": the first section
        after_citation = any(_CITATION.match(b) for b in blocks[-3:])
        if _BODY_START.match(block) or (_width(block) > 240 and block.endswith(_TERMINAL + (".",))
                                        and not after_citation):
            break
        blocks.append(block)
    return blocks


def _date_in(text: str, strong: bool = False) -> str:
    """The first date in ``text`` that is not part of a range ("7 至 12 日", "3 to 5 March")."""
    hits = []
    for rx, kind in ((RE_DATE_EN, "dmy"), (RE_DATE_US, "mdy"), (RE_DATE_ZH, "zh"), (RE_MONTH_EN, "my")):
        for m in rx.finditer(text):
            if _RANGE_AFTER.match(text[m.end():m.end() + 6]) or _RANGE_BEFORE.search(text[max(0, m.start() - 12):m.start()]):
                continue
            if kind == "dmy":
                value = f"{m.group(3)}-{MONTHS.index(m.group(2).lower()) + 1:02d}-{int(m.group(1)):02d}"
            elif kind == "mdy":
                value = f"{m.group(3)}-{MONTHS.index(m.group(1).lower()) + 1:02d}-{int(m.group(2)):02d}"
            elif kind == "zh":
                value = f"{m.group(1)}-{int(m.group(2)):02d}" + (f"-{int(m.group(3)):02d}" if m.group(3) else "")
            else:
                if any(h[0] <= m.start() < h[2] for h in hits):
                    continue
                value = f"{m.group(2)}-{MONTHS.index(m.group(1).lower()) + 1:02d}"
            hits.append((m.start(), value, m.end()))
    return min(hits)[1] if hits else ""


def _iso_date(value: str) -> str:
    value = value.strip()
    m = RE_DATE_ISO.match(value)
    if m:
        return f"{m.group(1)}-{m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else "")
    m = re.match(r"^((?:19|20)\d{2})/(\d{1,2})(?:/(\d{1,2}))?$", value)
    if m:
        return f"{m.group(1)}-{int(m.group(2)):02d}" + (f"-{int(m.group(3)):02d}" if m.group(3) else "")
    return _date_in(value)


def _kind(block: str) -> str:
    if RE_SYMBOL.fullmatch(block):
        return "symbol"
    if _MASTHEAD.match(block):
        return "masthead"
    if _AGENDA.match(block):
        return "agenda"
    if _DOCTYPE.match(block):
        return "doctype"
    if _ADDENDUM.match(block):
        return "addendum"
    if _CITATION.match(block):
        return "citation"
    if _AUTHOR.match(block) or _NAMES.match(block):
        return "author"
    if re.match(r"^(?:DOI|doi)\b", block) or (RE_DOI.search(block) and _width(block) < 60):
        return "doi"
    stripped = re.sub(r"[\s,，、.。:：]", "", block)
    date = _date_in(block)
    if date and (not stripped.replace(re.sub(r"\D", "", block), "") or _width(block) <= 24
                 and re.fullmatch(r"[\d\s年月日,.]*|\d{1,2}\s+\w+\s+\d{4}|\w+\s+\d{1,2},\s*\d{4}|\w+\s+\d{4}", block)):
        return "date"
    if RE_DATE_EN.search(block) or RE_DATE_ZH.search(block) or RE_MONTH_EN.search(block):
        d_all = [m for rx in (RE_DATE_EN, RE_DATE_ZH, RE_MONTH_EN) for m in rx.finditer(block)]
        if d_all and not date:
            return "meeting"             # "2021年3月7日至12日，日本京都", "held from 3 to 5 March 2025"
    return "text"


def _titleish(block: str) -> bool:
    w = _width(block)
    return 4 <= w <= 400 and not (w > 120 and block.endswith(("。", ".")))


def propose_meta(text: str, doc_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Symbol, title, date, issuing body, document type, DOI and authors as the document's
    title page states them; ``doc_meta`` is what the file's own metadata says (``title``,
    ``date``, ``publisher``, ``authors``, ``header_symbol`` from a running header,
    ``explicit`` when the metadata is a publisher's own (HTML citation/Dublin Core tags))."""
    doc_meta = doc_meta or {}
    blocks = front_matter(text)
    kinds = [_kind(b) for b in blocks]
    zh = len(_CJK.findall(" ".join(blocks))) > 0.3 * max(1, len(re.sub(r"\s", "", " ".join(blocks))))
    found: dict[str, Any] = {}

    # symbol: standing alone on the title page; else the running header; else metadata; else
    # a report series number in the citation line ("SFP2026.1")
    symbols = [b for b, k in zip(blocks, kinds) if k == "symbol"]
    meta_title = str(doc_meta.get("title") or "").strip()
    # a symbol on a line of its own further on is a running header kept in the text: printed on
    # several pages, or next to a page footer ("V.20-00547 13/16"); not one in a list of references
    lines = [ln.strip().strip("#").strip() for ln in text.splitlines()]
    footer = re.compile(r"^(?:[A-Z]\.\d{2}-\d{4,6}\b.*|\d{1,3}\s*/\s*\d{1,3}|\d{1,3}|<!-- page \d+ -->)$")
    alone: Counter[str] = Counter()
    for i, s in enumerate(lines):
        if RE_SYMBOL.fullmatch(s):
            near = [x for x in lines[max(0, i - 4):i + 5] if x]
            alone[s] += 2 if any(footer.match(x) for x in near) else 1
    alone = Counter({s: n for s, n in alone.items() if n >= 2})
    if symbols:
        found["symbol"] = symbols[0]
    elif doc_meta.get("header_symbol"):
        found["symbol"] = doc_meta["header_symbol"]
    elif alone:
        found["symbol"] = alone.most_common(1)[0][0]
    elif RE_SYMBOL.fullmatch(meta_title) or RE_SYMBOL.fullmatch(str(doc_meta.get("subject") or "").strip()):
        found["symbol"] = meta_title if RE_SYMBOL.fullmatch(meta_title) else str(doc_meta["subject"]).strip()
    else:
        for i, (b, k) in enumerate(zip(blocks, kinds)):
            if k == "citation" or "citation" in kinds[max(0, i - 3):i]:
                m = RE_SERIES.search(b) or RE_SYMBOL.search(b)
                if m:
                    found["symbol"] = m.group(1)
                    break

    # date: the masthead's ("Distr.: General / 11 March 2021") or a date line of the title page;
    # a date range is the meeting's, not the document's
    date = ""
    for b, k in zip(blocks, kinds):
        if k == "date" or (k == "masthead" and re.match(r"^distr", b, re.I)):
            date = _date_in(b)
            if date:
                break
    if not date:
        for b, k in zip(blocks, kinds):
            if k == "text" and _width(b) <= 40:
                date = _date_in(b)
                if date:
                    break
    if doc_meta.get("date") and (doc_meta.get("explicit") or not date):
        date = _iso_date(str(doc_meta["date"])) or date
    if date:
        found["date"] = date

    # issuing body: the organ named at the top (before the masthead, or the first line of a
    # page without one), with a working group or committee named under it
    organ: list[str] = []
    for i, (b, k) in enumerate(zip(blocks, kinds)):
        if k in ("agenda", "doctype", "addendum", "citation", "author", "doi"):
            break
        if k != "text":
            continue
        if not organ:
            top = not any(kk in ("symbol", "masthead", "date") for kk in kinds[:i])
            later = kinds[i + 1:]
            if (_ORGAN.search(b) and not _NOT_ORGAN.search(b) and _width(b) <= 160
                    and (top and ("text" in later or "masthead" in later) or "agenda" in later)):
                organ.append(b)
                continue
            break                       # the first block is not a body's name: it is the title
        if _SUB_ORGAN.search(b) and _width(b) <= 80 and len(organ) == 1:
            organ.append(b)             # "Working Group on Trafficking in Persons" under its Conference
            continue
        break
    title_from = 0
    if organ:
        found["issuing_body"] = " ".join(organ)
        title_from = blocks.index(organ[-1]) + 1
    elif doc_meta.get("publisher"):
        found["issuing_body"] = str(doc_meta["publisher"]).strip()
    else:
        joined = " ".join(blocks)
        doctype = next((b for b, k in zip(blocks, kinds) if k == "doctype"), "")
        for needle, name in BODIES:
            if needle in joined:
                found["issuing_body"] = name
                break
        else:
            if re.search(r"秘书处|Secretariat", doctype):
                found["issuing_body"] = "联合国秘书处" if zh else "United Nations Secretariat"
            elif re.search(r"秘书长|Secretary-General", doctype):
                found["issuing_body"] = "联合国秘书长" if zh else "United Nations Secretary-General"

    # title: the block before the kind of document ("Background paper prepared by the
    # Secretariat"), with it in brackets as the catalog writes it; "Title / Addendum /
    # subtitle"; else the first block after the masthead and the agenda item's own title,
    # joined with a subtitle that starts with a dash or follows a short title
    title, doctype = "", ""
    for i, k in enumerate(kinds):
        if k == "doctype" and i > 0 and kinds[i - 1] == "text" and _titleish(blocks[i - 1]):
            title, doctype = blocks[i - 1], blocks[i]
            found["doc_type"] = doctype
            title += f"（{doctype}）" if _CJK.search(title) else f" ({doctype})"
            break
    if not title:
        skip_next = False
        for i in range(title_from, len(blocks)):
            b, k = blocks[i], kinds[i]
            if k == "agenda":
                skip_next = _width(_AGENDA.sub("", b)) < 6   # the agenda item's title follows it
                continue
            if k == "citation":
                break
            if k != "text" or not _titleish(b):
                continue
            if skip_next:
                skip_next = False
                continue
            title = b
            zh = _CJK.search(b) is not None
            rest = list(zip(blocks[i + 1:], kinds[i + 1:]))
            if rest and rest[0][1] == "addendum":
                title += f"（{rest[0][0]}）" if zh else f" ({rest[0][0]})"
                if len(rest) > 1 and rest[1][1] == "text" and _titleish(rest[1][0]):
                    title += ("——" if zh else " — ") + rest[1][0]
            elif rest and rest[0][1] == "text" and re.match(r"^[—–-]{1,2}", rest[0][0]):
                title += rest[0][0] if zh else " " + rest[0][0]
            elif rest and rest[0][1] == "text" and _titleish(rest[0][0]) and not _ITEM.match(rest[0][0]) and (
                    _width(b) <= 24 and not re.search(r"[:：]$", b)) and not _ORGAN.search(rest[0][0]):
                title += ("：" if zh else ": ") + rest[0][0]
            break
    meta_ok = meta_title and not RE_SYMBOL.fullmatch(meta_title) and not _JUNK_TITLE.match(meta_title)
    if meta_ok and (doc_meta.get("explicit") or not title):
        title = meta_title
    if title:
        found["title"] = title[:300]
    doi = next((m.group(1) for b in blocks for m in [RE_DOI.search(b)] if m), "")
    if doi:
        found["doi"] = doi
    authors = [a for b, k in zip(blocks, kinds) if k == "author"
               for a in [(_AUTHOR.match(b) or re.match(r"(.*)", b)).group(1)]]
    if doc_meta.get("authors"):
        found["authors"] = list(doc_meta["authors"])
    elif authors:
        found["authors"] = [n.strip() for n in re.split(r"\s*(?:,|、|;|\band\b)\s*", authors[0]) if n.strip()]
    return found


def numbered_paragraphs(text: str) -> bool:
    """Numbered paragraphs: a run 1, 2, 3, ... of at least six paragraph starts whose text is
    prose (a median of 40 or more characters, a Chinese character counted twice), not a short
    numbered list or numbered headings; one number may be missing (a line lost at a page break)."""
    best: list[int] = []
    run: list[int] = []
    expected = 1
    for ln in text.splitlines():
        m = re.match(r"^\s*(\d{1,3})\s*[.．]\s*(\S.*)$", ln)
        if not m:
            continue
        n = int(m.group(1))
        if n in (expected, expected + 1) and run:
            run.append(_width(m.group(2)))
            expected = n + 1
        elif n == 1:
            if len(run) > len(best):
                best = run
            run, expected = [_width(m.group(2))], 2
    if len(run) > len(best):
        best = run
    return len(best) >= 6 and statistics.median(best) >= 40



# --------------------------------------------------------------------------------------
# Joining lines and assembling the text


# prefixes that form hyphenated compounds in UN English ("cyber-enabled", "non-governmental")
# and second halves that do ("risk-based", "follow-up", "forty-two")
_HYPHEN_PREFIXES = {"cyber", "non", "self", "cross", "well", "co", "ex", "anti", "multi", "semi", "post",
                    "quasi", "sub", "ultra", "intra", "extra", "pan", "all", "half", "low", "high", "mid"}
_HYPHEN_TAILS = {"based", "related", "led", "owned", "free", "wide", "specific", "sensitive", "driven",
                 "enabled", "facilitated", "friendly", "oriented", "centred", "centered", "level", "term",
                 "scale", "making", "building", "sharing", "border", "up", "off", "in", "out", "on", "by",
                 "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "generated",
                 "funded", "run", "focused", "focussed", "appointed", "specific", "time", "party", "wise"}


class Vocabulary:
    """The words of a document's lines, to undo line-end hyphenation: ``words`` seen whole
    inside lines (never the pieces of a word cut at a line end) and ``compounds`` seen
    hyphenated inside lines."""

    def __init__(self, lines: list[str]) -> None:
        self.words: set[str] = set()
        self.compounds: set[str] = set()
        for i, ln in enumerate(lines):
            body = re.sub(r"[A-Za-z]+-\s*$", "", ln)                 # the first half of a cut word
            if i and re.search(r"[A-Za-z]-\s*$", lines[i - 1]):
                body = re.sub(r"^\s*[A-Za-z]+", "", body)          # its second half
            self.words.update(w.lower() for w in re.findall(r"(?<![A-Za-z-])[A-Za-z]+(?![A-Za-z-])", body))
            self.compounds.update(c.lower() for c in re.findall(r"[A-Za-z]+-[A-Za-z]+", body))

    def __contains__(self, word: str) -> bool:      # the old interface: a set of words
        return word in self.words

    def keeps_hyphen(self, first: str, second: str) -> bool:
        """Whether "first-" at a line end and "second" on the next line are one hyphenated
        compound ("cyber-enabled") rather than one word broken by hyphenation ("traf-ficking").
        The word written whole elsewhere in the document wins; then the compound written
        elsewhere; then a compound-forming prefix or second half; then two words the document
        uses on their own ("counter-terrorism"). Anything else is a broken word."""
        a, b = first.lower(), second.lower()
        if a + b in self.words:
            return False
        if f"{a}-{b}" in self.compounds:
            return True
        if a in _HYPHEN_PREFIXES or b in _HYPHEN_TAILS:
            return True
        return len(a) >= 3 and len(b) >= 3 and a in self.words and b in self.words


def join(left: str, right: str, vocabulary: "Vocabulary | set[str] | None" = None) -> str:
    """Join two lines of one paragraph: Chinese without a space, Latin words with one. A soft
    hyphen at the line end is dropped; a hard one is dropped when the two pieces are one word
    broken by hyphenation and kept in a compound (``Vocabulary.keeps_hyphen``). A capital,
    a digit or no vocabulary after the hyphen keeps it ("Secretary-" + "General")."""
    from bot.corpus import join_lines

    left, right = left.rstrip(), right.lstrip()
    if left.endswith("\u00ad"):
        return left[:-1] + right
    m = re.search(r"(?<![A-Za-z-])([A-Za-z]+)-$", left)
    n = re.match(r"([a-z]+)", right)
    if m and n and vocabulary is not None:
        keep = (vocabulary.keeps_hyphen(m.group(1), n.group(1)) if isinstance(vocabulary, Vocabulary)
                else (m.group(1) + n.group(1)).lower() not in vocabulary)
        if not keep:
            return left[:-1] + right
    if re.search(r"\w-$", left) and right[:1].isalnum():
        return left + right          # a break after a hyphen is never a space ("2019-" + "2020")
    return join_lines(left, right)


def vocabulary_of(texts: list[str]) -> Vocabulary:
    return Vocabulary(texts)


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
    col: tuple[float, float] | None = None   # (left, right) of its column on a page set in columns


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
                # the line's text size; digits aside, so that a short last line ("。54") keeps its
                # footnote mark recognisable as small and raised
                sizes = ([round(c.size, 1) for c in chars if c.get_text().strip() and not c.get_text().isdigit()]
                         or [round(c.size, 1) for c in chars if c.get_text().strip()])
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
                text = re.sub(r"[ \u00a0]{2,}", " ", text.replace("\n", " ")).strip()
                text = re.sub(r"^([（(])\s*([a-z])\s*([)）])", r"\1\2\3", text)   # "(f )" from italic spacing
                text = re.sub(r"(?<=[\u3000-\u303f\uff00-\uffef\u4e00-\u9fff])\s+(?=\[\^)", "", text)
                if not text:
                    continue
                bold = sum("bold" in c.fontname.lower() for c in chars) > len(chars) / 2
                lines.append(_Line(pno, line.x0, line.x1, height - line.y1, height - line.y0, size, bold, text))
        pages.append(lines)
    if not pages:
        raise ReadError(f"{path.name}: corrupt PDF (no pages)")
    if sum(len(p) for p in pages) == 0:
        raise ReadError(f"{path.name}: no text layer: run OCR first (a scanned PDF has only images of its pages)")
    removed: list[str] = []
    pages = _drop_furniture(pages, heights, removed)
    pages = _in_reading_order(pages)
    text = _pdf_text(pages)
    found: dict[str, Any] = {"title": info.get("Title", ""), "subject": info.get("Subject", "")}
    if info.get("Author") and not _JUNK_AUTHOR.match(info["Author"]):
        found["authors"] = [info["Author"]]
    symbols = [t.strip() for t in removed if RE_SYMBOL.fullmatch(t.strip())]
    if symbols:  # the running header of a UN document is its symbol
        found["header_symbol"] = Counter(symbols).most_common(1)[0][0]
    return "pdf", text, len(pages), found


def _gutter(lines: list[_Line]) -> tuple[float, float] | None:
    """The gap between two columns of text: the widest x range in the middle of the page that
    (almost) no column-width line crosses, with at least three lines on each side of it. A few
    lines may cross it (a short footnote, a centred heading): they span the page."""
    if len(lines) < 8:
        return None
    x0, x1 = min(ln.x0 for ln in lines), max(ln.x1 for ln in lines)
    width = x1 - x0
    narrow = [ln for ln in lines if ln.x1 - ln.x0 < 0.6 * width]
    if len(narrow) < 8:
        return None
    lo, hi = int(x0 + 0.25 * width), int(x0 + 0.75 * width)
    allowed = max(1, len(narrow) // 15)
    free = [sum(1 for ln in narrow if ln.x0 < x < ln.x1) <= allowed for x in range(lo, hi + 1)]
    best, start = (0, 0), None
    for i, ok in enumerate(free + [False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    g0, g1 = float(lo + best[0]), float(lo + best[1] - 1)
    size = statistics.median(ln.size for ln in lines)
    if g1 - g0 < max(6.0, 0.6 * size):
        return None
    left = sum(1 for ln in narrow if ln.x1 <= g0 + 1)
    right = sum(1 for ln in narrow if ln.x0 >= g1 - 1)
    return (g0, g1) if left >= 3 and right >= 3 else None


def _in_reading_order(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Each page's body lines in column order (``_order_columns``), then its footnote area
    (smaller lines below the last body-size line) top to bottom, as ``_pdf_text`` expects."""
    sizes: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            sizes[round(ln.size)] += len(ln.text)
    if not sizes:
        return pages
    body = sizes.most_common(1)[0][0]
    out = []
    for lines in pages:
        last_body = max((ln.bottom for ln in lines if round(ln.size) >= body * 0.95), default=0.0)
        notes = [ln for ln in lines if ln.top >= last_body - 1 and ln.size < body * 0.92]
        main = [ln for ln in lines if not (ln.top >= last_body - 1 and ln.size < body * 0.92)]
        gutter = _gutter(main)
        if gutter is not None and not any(ln.x0 < gutter[0] - 1 and ln.x1 > gutter[1] + 1 for ln in notes):
            notes = _order_columns(notes, gutter)   # footnotes set in the columns too
        else:
            notes = _order_columns(notes)
        out.append(_order_columns(main, gutter) + notes)
    return out


def _order_columns(lines: list[_Line], gutter: tuple[float, float] | None = None) -> list[_Line]:
    """Lines in reading order. On a page set in two columns, lines that span the gutter (a
    title, a table, a heading across the page) cut the page into bands; within a band the
    left column is read before the right one. Pieces of one printed line are merged within
    their column only."""
    if not lines:
        return lines
    x0, x1 = min(ln.x0 for ln in lines), max(ln.x1 for ln in lines)
    gutter = gutter or _gutter(lines)
    if gutter is None:
        return _merge_same_baseline(lines)
    g0, g1 = gutter
    out: list[_Line] = []
    band: list[_Line] = []

    def flush() -> None:
        middle = (g0 + g1) / 2             # a line may reach into the gutter (hanging punctuation)
        left = [ln for ln in band if ln.x0 < middle]
        right = [ln for ln in band if ln.x0 >= middle]
        for ln in left:
            ln.col = (x0, g0)
        for ln in right:
            ln.col = (g1, x1)
        out.extend(_merge_same_baseline(left) + _merge_same_baseline(right))
        band.clear()

    for ln in sorted(lines, key=lambda ln: (round(ln.top), ln.x0)):
        if ln.x0 < g0 - 1 and ln.x1 > g1 + 1:         # spans the gutter
            flush()
            out.append(ln)
        else:
            band.append(ln)
    flush()
    return out


def _merge_same_baseline(lines: list[_Line]) -> list[_Line]:
    """Pieces of one printed line (a paragraph number and its text) → one line, top to bottom.
    A footnote mark that the layout analysis left as a piece of its own (small raised digits
    after the last character of a line) becomes that line's ``[^n]``."""
    marks = [ln for ln in lines if re.fullmatch(r"\d{1,3}|\*", ln.text.strip())]
    for mark in marks:
        hosts = [ln for ln in lines if ln is not mark and mark.size < 0.8 * ln.size
                 and ln.top - 1 <= mark.bottom <= ln.bottom - 0.2 * ln.size
                 and -1 <= mark.x0 - ln.x1 < 1.5 * ln.size]
        if hosts:
            host = min(hosts, key=lambda ln: mark.x0 - ln.x1)
            host.text += f"[^{mark.text.strip()}]"
            host.x1 = max(host.x1, mark.x1)
            lines = [ln for ln in lines if ln is not mark]
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
    vocab = vocabulary_of([ln.text for lines in pages for ln in lines])
    body_lines: list[_Line] = []
    notes: list[tuple[str, str, int | None]] = []
    for lines in pages:
        # footnotes: smaller lines below the last body-size line of the page
        last_body = max((ln.bottom for ln in lines if round(ln.size) >= body * 0.95), default=0.0)
        note: list[Any] | None = None
        for ln in lines:
            if ln.top >= last_body - 1 and ln.size < body * 0.92:
                text = ln.text
                last, before = note[:2] if note else (notes[-1][:2] if notes else ("", ""))
                if (last.isdigit() and re.match(rf"^{int(last) + 1}\d", text)
                        and re.search(r"[.。!?！？)）\]”\"']\s*$", before)):
                    # the next note's number run into a text that starts with digits ("742018 年"), after a
                    # note that ended; not a note's line that starts with a number ("23 October / 2017.")
                    text = f"{int(last) + 1} {text[len(str(int(last) + 1)):]}"
                m = re.match(r"^(?:\[\^)?(\d{1,3}|\*)\]?\s*(\S.*)$", text)
                if m and note and note[0].isdigit() and m.group(1) != "*" and int(m.group(1)) != int(note[0]) + 1:
                    m = None   # after note n on a page only n + 1 starts a note: this line goes on with note n
                if m and (not notes or m.group(1) == "*" or not note or int(m.group(1)) == int(note[0]) + 1
                          or not notes[-1][0].isdigit() or int(m.group(1)) == int(notes[-1][0]) + 1):
                    if note:
                        notes.append((note[0], note[1], note[2]))
                    note = [m.group(1), m.group(2), ln.page]
                elif note:
                    note[1] = join(note[1], ln.text, vocab)
                elif notes and notes[-1][2] == ln.page - 1 or notes:
                    fid, t, pg = notes[-1]       # a footnote continued from the previous page
                    notes[-1] = (fid, join(t, ln.text, vocab), pg)
                continue
            body_lines.append(ln)
        if note:
            notes.append((note[0], note[1], note[2]))
    paras: list[_Para] = []
    gaps = [b.top - a.bottom for a, b in zip(body_lines, body_lines[1:]) if a.page == b.page]
    normal_gap = statistics.median(gaps) if gaps else 3.0
    single = [ln for ln in body_lines if ln.col is None]
    left_1 = statistics.median(ln.x0 for ln in single) if single else 0.0
    right_1 = max((ln.x1 for ln in single), default=0.0)
    # a column's own left edge (its most common line start) and right edge (its longest line)
    edges: dict[tuple[float, float], tuple[float, float]] = {}
    for key in {ln.col for ln in body_lines if ln.col is not None}:
        mine = [ln for ln in body_lines if ln.col == key]
        starts = Counter(round(ln.x0) for ln in mine)
        edges[key] = (float(starts.most_common(1)[0][0]), max(ln.x1 for ln in mine))
    prev: _Line | None = None
    prev_heading = False
    for ln in body_lines:
        if (paras and prev is not None and re.fullmatch(r"\d{1,3}|\*", ln.text.strip()) and ln.size < body * 0.8
                and ln.page == prev.page):
            paras[-1].text += f"[^{ln.text.strip()}]"   # a footnote mark the layout pushed onto a line of its own
            continue
        heading = round(ln.size) > body * 1.1 or (ln.bold and len(ln.text) < 120)
        new = prev is None or heading != prev_heading
        if not new and prev is not None:
            left, right = edges[ln.col] if ln.col is not None else (left_1, right_1)
            short = (edges[prev.col][1] if prev.col is not None else right_1) - prev.x1
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
    try:
        numbering: _Numbering | None = _Numbering(document)
    except (ValueError, TypeError, KeyError, AttributeError):
        numbering = None                      # a numbering part we cannot make sense of: numbers left out
    for child in document.element.body.iterchildren():
        if child.tag == f"{W}p":
            text = para_text(child)
            try:                                # automatic numbering: a list style, not typed text
                label = numbering.label(child) if numbering is not None else ""
            except (ValueError, TypeError, KeyError, IndexError):
                label = ""
            if not text:
                continue
            if label and not text.startswith(label):
                text = f"{label} {text}" if label not in _BULLETS else f"• {text}"
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
    found: dict[str, Any] = {"title": (props.title or "").strip(), "subject": (props.subject or "").strip()}
    for section in document.sections:
        for p in section.header.paragraphs:
            if RE_SYMBOL.fullmatch(p.text.strip()):
                found.setdefault("header_symbol", p.text.strip())
    if props.author and not _JUNK_AUTHOR.match(props.author.strip()):
        found["authors"] = [props.author.strip()]
    return "docx", text, None, found


_BULLETS = {"•", "·", "-", "–", "o", "▪", "■", "●", "◦", "*", "\uf0b7", "\uf0a7", "\uf0d8", "\uf076"}  # Symbol/Wingdings bullets too


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                           (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + numeral, n - value
    return out


def _chinese(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n - 10] if n > 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


def _format_number(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        s = ""
        while n > 0:
            n, r = divmod(n - 1, 26)
            s = chr(ord("a") + r) + s
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        return _roman(n).lower() if fmt == "lowerRoman" else _roman(n)
    if fmt in ("chineseCounting", "chineseCountingThousand", "ideographTraditional", "taiwaneseCounting",
               "taiwaneseCountingThousand", "chineseLegalSimplified", "ideographDigital"):
        return _chinese(n)
    if fmt == "decimalEnclosedCircle" and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


class _Numbering:
    """Word's automatic paragraph numbering (``w:numPr`` on the paragraph or its style, levels
    from the numbering part): the label as Word shows it ("1.", "(a)", "I.", "一、"), so
    numbered paragraphs read the same whether the numbers were typed or are a list style.
    Lists that share a definition continue one another, as in Word; ``w:startOverride``
    restarts one."""

    def __init__(self, document: Any) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}   # abstractNumId → ilvl → (fmt, text, start)
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}          # numId → (abstractNumId, start overrides)
        self.counters: dict[str, dict[int, int]] = {}
        self.restarted: set[tuple[str, int]] = set()
        self.style_num: dict[str, tuple[str, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            root = None
        if root is not None:
            for an in root.iter(f"{W}abstractNum"):
                levels = {}
                for lvl in an.iter(f"{W}lvl"):
                    fmt = lvl.find(f"{W}numFmt")
                    txt = lvl.find(f"{W}lvlText")
                    start = lvl.find(f"{W}start")
                    levels[int(lvl.get(f"{W}ilvl", "0"))] = (
                        fmt.get(f"{W}val") if fmt is not None else "decimal",
                        txt.get(f"{W}val") if txt is not None else "",
                        int(start.get(f"{W}val")) if start is not None else 1)
                self.levels[an.get(f"{W}abstractNumId")] = levels
            for num in root.iter(f"{W}num"):
                ref = num.find(f"{W}abstractNumId")
                overrides = {}
                for ov in num.iter(f"{W}lvlOverride"):
                    so = ov.find(f"{W}startOverride")
                    if so is not None:
                        overrides[int(ov.get(f"{W}ilvl", "0"))] = int(so.get(f"{W}val"))
                if ref is not None:
                    self.nums[num.get(f"{W}numId")] = (ref.get(f"{W}val"), overrides)
        try:
            style_root = document.styles.element
        except AttributeError:
            style_root = None
        if style_root is not None:
            based: dict[str, str] = {}
            own: dict[str, tuple[str, int]] = {}
            for st in style_root.iter(f"{W}style"):
                sid = st.get(f"{W}styleId")
                b = st.find(f"{W}basedOn")
                if b is not None:
                    based[sid] = b.get(f"{W}val")
                numpr = st.find(f"{W}pPr/{W}numPr")
                if numpr is not None:
                    nid = numpr.find(f"{W}numId")
                    lvl = numpr.find(f"{W}ilvl")
                    if nid is not None:
                        own[sid] = (nid.get(f"{W}val"), int(lvl.get(f"{W}val")) if lvl is not None else 0)
            for sid in list(based) + list(own):
                s, seen = sid, set()
                while s and s not in own and s not in seen:
                    seen.add(s)
                    s = based.get(s, "")
                if s in own:
                    self.style_num[sid] = own[s]

    def label(self, p_el: Any) -> str:
        numpr = p_el.find(f"{W}pPr/{W}numPr")
        style = p_el.find(f"{W}pPr/{W}pStyle")
        num_id, ilvl = None, 0
        if style is not None and style.get(f"{W}val") in self.style_num:
            num_id, ilvl = self.style_num[style.get(f"{W}val")]
        if numpr is not None:
            nid, lvl = numpr.find(f"{W}numId"), numpr.find(f"{W}ilvl")
            if nid is not None:
                num_id = nid.get(f"{W}val")
            if lvl is not None:
                ilvl = int(lvl.get(f"{W}val"))
        if num_id is None or num_id == "0" or num_id not in self.nums:
            return ""
        abstract, overrides = self.nums[num_id]
        levels = self.levels.get(abstract, {})
        if ilvl not in levels:
            return ""
        counts = self.counters.setdefault(abstract, {})
        if ilvl in overrides and (num_id, ilvl) not in self.restarted:
            self.restarted.add((num_id, ilvl))
            counts[ilvl] = overrides[ilvl] - 1
        counts[ilvl] = counts.get(ilvl, levels[ilvl][2] - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]                 # (a), (b) start again under the next paragraph
        fmt, text, _ = levels[ilvl]
        if fmt == "none":
            return re.sub(r"%\d", "", text).strip()
        if fmt == "bullet":
            return "•"

        def level_value(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            f = levels.get(k, ("decimal", "", 1))[0]
            return _format_number(counts.get(k, levels.get(k, ("", "", 1))[2]), f)

        return re.sub(r"%(\d)", level_value, text).strip()


def _strip_mark(text: str, mark: str) -> str:
    """A custom footnote mark ("*") is typed into the note's own text too."""
    return text[len(mark):].strip() if not mark.isdigit() and text.startswith(mark) else text


# --------------------------------------------------------------------------------------
# HTML (standard library)

_BLOCK = {"p", "div", "li", "dt", "dd", "blockquote", "pre", "tr", "section", "article", "main",
          "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "figure", "figcaption", "br", "hr"}
_SKIP = {"script", "style", "nav", "footer", "aside", "noscript", "template", "svg", "form",
         "button", "select", "head", "iframe", "object", "canvas", "dialog"}
# page furniture marked by its role or by the class/id names site templates give it
_SKIP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "dialog",
               "alert", "alertdialog", "toolbar"}
_SKIP_NAME = re.compile(r"^(?:nav|navbar|navigation|menu|main-menu|site-menu|breadcrumbs?|site-header|"
                        r"site-footer|page-footer|page-header|footer|masthead|banner|sidebar|side-bar|"
                        r"skip-link|skip-to-content|share|sharing|social|social-links|toolbar|pagination|"
                        r"related|related-links|ads?|advert\w*|language-switcher|lang-switch|search|"
                        r"search-form|cookie\w*|gdpr\w*|consent\w*|newsletter|subscribe)$|cookie|breadcrumb", re.I)
_MAIN = {"main", "article"}
# footnotes as HTML writers mark them: pandoc and Markdown (id="fn1", href="#fnref1"), Word's
# "Save as web page" (name="_ftn1", href="#_ftnref1"), LibreOffice (id="ftn1", href="#body_ftn1";
# "sdfootnote1"), endnotes ("edn1")
_NOTE_ID = re.compile(r"^_?(?:fn|footnote|note|ftn|endnote|edn|sdfootnote|sdendnote)[-_:]?(\d+)$", re.I)
_NOTE_BACK = re.compile(r"#.*(?:fnref|ftnref|ednref|body_ftn|body_edn|sd(?:foot|end)note\d+anc|footnote-ref)", re.I)


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
        self.ref: str | None = None             # a link to footnote n being read: its text is the mark
        self.link_text = ""                     # text of that link, or of a note's own number link
        self.own_note: str | None = None
        self.title = ""
        self.in_title = False
        self.lang = ""
        self.meta: dict[str, list[str]] = {}   # <meta name|property=... content=...>, names lowercased
        self.main_levels: list[int] = []       # stack depths of open <main>/<article> elements
        self.in_main: list[bool] = []          # per paragraph: inside <main>/<article>

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
        self.in_main.append(bool(self.main_levels))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "title":
            self.in_title = True
        if tag in ("br", "hr", "img", "meta", "link", "input", "wbr"):
            if tag == "br":
                self.buf.append(" ")
            name = (a.get("name") or a.get("property") or "").strip().lower()
            if tag == "meta" and name and a.get("content", "").strip():
                self.meta.setdefault(name, []).append(re.sub(r"\s+", " ", a["content"]).strip())
            return
        self.stack.append(tag)
        names = (a.get("class", "") + " " + a.get("id", "")).split()
        furniture = (a.get("role", "").lower() in _SKIP_ROLES or any(_SKIP_NAME.search(n) for n in names)
                     or a.get("aria-hidden") == "true" or "hidden" in a
                     or tag == "header" and not self.main_levels)   # a site banner; an article's own header stays
        if (self.skip or tag in _SKIP or furniture or "display:none" in a.get("style", "").replace(" ", "")) \
                and not (_NOTE_ID.match(a.get("id", "")) or "footnote" in a.get("class", "")):
            self.skip += 1
            return
        if tag in _MAIN or a.get("role", "").lower() == "main":
            self._flush()
            self.main_levels.append(len(self.stack))
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
        if tag == "a":
            href = a.get("href", "")
            own = _NOTE_ID.match(a.get("id", "") or a.get("name", ""))
            if ("backref" in a.get("class", "") or "footnote-back" in a.get("class", "")
                    or _NOTE_BACK.search(href)):
                self.backlink = True     # the way back from a note, or the note's own number
                if own and self.note is None and not "".join(self.buf).strip():
                    self.own_note, self.link_text = own.group(1), ""
            else:
                target = _NOTE_ID.match(href.lstrip("#")) if href.startswith("#") else None
                if target:
                    self.ref, self.link_text = target.group(1), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if self.main_levels and len(self.stack) < self.main_levels[-1]:
                self._flush()
                self.main_levels.pop()
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
                # the mark as printed ("*", "50") where the writer numbers its notes otherwise
                label = self.link_text.strip().strip("[]").strip()
                label = label if re.fullmatch(r"\d{1,3}|\*", label) else None
                self.backlink = False
                if self.ref is not None:
                    self.buf.append(f"[^{label or self.ref}]")
                    self.ref = None
                if self.own_note is not None:
                    self.note, self.own_note = label or self.own_note, None
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.ref is not None or self.own_note is not None:
            self.link_text += data
        if self.skip or self.backlink or self.ref is not None:
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
    paras = parser.paras
    if any(parser.in_main):   # the page marks its content: menus and teasers around it are left out
        paras = [p for p, inside in zip(parser.paras, parser.in_main) if inside]
    return "html", assemble(paras, parser.notes), None, _html_meta(parser)


def _html_meta(parser: _HTML) -> dict[str, Any]:
    """The page's own metadata: Highwire Press ``citation_*`` and Dublin Core tags (what journals
    and document repositories publish; taken before the text), Open Graph tags and ``<title>``
    (without its " | Site name" part; used when the page's text states nothing)."""
    m = parser.meta

    def first(*names: str) -> str:
        return next((m[n][0] for n in names if m.get(n)), "")

    found: dict[str, Any] = {}
    explicit = first("citation_title", "dc.title", "dcterms.title")
    title = explicit or first("og:title")
    if not title and parser.title.strip():
        title = re.split(r"\s+[|–—]\s+|\s+-\s+(?=[^-]+$)", re.sub(r"\s+", " ", parser.title).strip())[0]
    found["title"] = title[:300]
    found["date"] = first("citation_publication_date", "citation_date", "dc.date", "dcterms.date", "dcterms.issued",
                          "dc.date.issued", "article:published_time", "date")
    found["publisher"] = first("citation_publisher", "dc.publisher", "dcterms.publisher", "citation_journal_title")
    authors = m.get("citation_author") or m.get("dc.creator") or m.get("dcterms.creator") or m.get("author") or []
    found["authors"] = list(dict.fromkeys(authors))
    symbol = first("citation_technical_report_number", "dc.identifier", "dcterms.identifier")
    if RE_SYMBOL.fullmatch(symbol):
        found["header_symbol"] = symbol
    found["explicit"] = bool(explicit or found["date"] and any(k.startswith(("citation_", "dc.", "dcterms.")) for k in m))
    return {k: v for k, v in found.items() if v}
