"""Corpus stage: read the documents in ``data/documents`` and parse them into citable passages.

The parser turns PDF-extracted or Markdown-ish text into passages with a stable id, the
document's own paragraph number (``26``, ``82(e)``) or a per-section ordinal, the section
path from the headings, the page where the text states it, and linked footnotes. It joins
hard-wrapped lines without inserting spaces between Chinese characters, drops page
furniture, separates footnotes, and stitches paragraphs that a page break or footnote
block cut in two.

The same code handles every document; what differs between files (hard-wrapped PDF text
vs. one paragraph per line, Markdown headings, ``<sup>n</sup>`` vs. trailing-digit footnote
markers) is detected from the text itself, so a new UTF-8 ``.txt``/``.md`` file needs no
code change.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from bot import config
from bot.lang import has_cjk, reply_lang

PARSER_VERSION = "1.1"

# Passage kinds. Only SEARCHABLE kinds are used to answer questions by default.
BODY, FOOTNOTE, REFERENCE, CREDITS, FRONT, BACK, CAPTION, KEYWORDS = (
    "body", "footnote", "reference", "credits", "front", "back", "caption", "keywords",
)

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")
TERMINALS = set("。！？!?；;：:…")
CLOSERS = set("”’」』）)】》\"'")
CN_NUMERALS = "〇一二三四五六七八九十"

# Heading words that open a top-level section, and those that open back matter.
TOP_WORDS = {
    "摘要", "概要", "提要", "引言", "导言", "前言", "结论", "结语", "结束语", "结论和建议",
    "会议记录", "主席的总结", "建议", "背景", "summary", "abstract", "introduction", "conclusion",
    "conclusions",
}
REFERENCE_WORDS = {"参考资料", "参考文献", "参考书目", "references", "bibliography", "注释"}
CREDIT_WORDS = {"鸣谢", "致谢", "贡献者", "作者", "acknowledgements", "acknowledgments", "contributors"}
BACK_WORDS = {"引用规范", "资助方", "利益声明", "版权信息", "版权声明", "联系方式", "copyright", "funding"}
PREFIX_LABELS = {"摘要": BODY, "关键词": KEYWORDS, "关键字": KEYWORDS}
CREDIT_LINE = re.compile(r"^(责任编辑|编辑|校对|作者简介)\s*[:：]?\s*\S")

# Line patterns.
RE_PAGE_FOOTER = re.compile(r"^[A-Z]{1,2}\.\d{2}-\d{4,6}\s+(\d{1,4})\s*/\s*(\d{1,4})$")
RE_PAGE_NUMBER = re.compile(r"^(?:-\s*)?(\d{1,4})(?:\s*-)?$|^(\d{1,4})\s*/\s*(\d{1,4})$")
RE_SYMBOL_LINE = re.compile(r"^[A-Z]{1,6}(?:/[A-Z0-9.\-]+){1,6}$")
RE_RULE = re.compile(r"^[_\-=—–·.*\s]{3,}$")
RE_FN_SEPARATOR = re.compile(r"^_{5,}\s*$")
RE_URL_LINE = re.compile(r"^(?:(?:https?://|www\.)\S+\s*)+$")
RE_MD_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$")
RE_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
RE_H_CN = re.compile(rf"^([{CN_NUMERALS}]{{1,3}})\s*[.、．]\s*(\S.*)$")
RE_H_PAREN_CN = re.compile(rf"^[（(]\s*([{CN_NUMERALS}]{{1,3}})\s*[)）]\s*(\S.*)$")
RE_H_LATIN = re.compile(r"^([A-Z])\s*[.．]\s+(\S.*)$")
RE_NUMBERED = re.compile(r"^(\d{1,3})\s*[.．]\s*(\S.*)$")
RE_SUBITEM = re.compile(r"^[（(]([a-z])[)）]\s*(\S.*)$")
RE_BULLET = re.compile(r"^[-*•·]\s+(\S.*)$")
RE_CAPTION = re.compile(r"^(?:图|表|Figure|Table)\s*\d+\s*[.．:：]|^(?:资料来源|来源|注|Source|Note)\s*[:：]")
RE_SUP_DEF = re.compile(r"^\x00(\d+|\*)\x00:?\s*(\S.*)$")  # "<sup>n</sup> text", "[^n]: text" after clean-up
RE_MD_FN_DEF = re.compile(r"^\[\^(\w+)\]:\s*(.*)$")
RE_STAR_DEF = re.compile(r"^\\?\*\s+(\S.*)$")
RE_WRAPPED_FN_DEF = re.compile(r"^\s*(\d{1,3}|\*)\s+(\S.*)$")
RE_PREFIX_LABEL = re.compile(r"^(摘要|关键词|关键字)\s*[:：]?\s+(\S.*)$")
# "<!-- page 7 -->": page 7 starts here (written by bot/readers.py for PDF text layers)
RE_PAGE_MARK = re.compile(r"^<!--\s*page\s+(\d{1,5})\s*-->$")
# headings of English documents: "I. Introduction", "A. Background"
RE_H_ROMAN = re.compile(r"^([IVX]{1,6})\s*[.．]\s+(\S.*)$")

# Inline clean-up.
RE_SUP = re.compile(r"<sup>\s*(\d+|\*)\s*</sup>")
RE_CARET_REF = re.compile(r"\^\[(\d+)\]")
RE_MD_FN_REF = re.compile(r"\[\^(\w+)\]")
RE_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)]*)\)")
RE_ANGLE_URL = re.compile(r"<((?:https?://|www\.)[^>\s]+)>")
RE_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
RE_HTML_TAG = re.compile(r"</?(?:b|i|em|strong|u|span|br)\s*/?>", re.I)
MARK = "\x00"  # footnote markers are carried as MARK + id + MARK until the text is final
RE_MARK = re.compile(f"{MARK}([^{MARK}]+){MARK}")


class ParseError(Exception):
    """A document cannot be read or parsed; the message names the file."""


@dataclass
class Passage:
    """One citable unit of a document: a paragraph, sub-item, footnote, reference, ..."""

    id: str
    doc_id: str
    kind: str
    text: str
    number: int | None = None      # the document's own paragraph number
    sub: str = ""                  # sub-item: "e" for (e), "4" for the 4th bullet
    ordinal: int | None = None     # per-section ordinal for unnumbered paragraphs
    section: list[dict[str, str]] = field(default_factory=list)  # [{"num", "title"}]
    section_index: int = 0
    page: int | None = None
    footnotes: list[str] = field(default_factory=list)            # footnote ids cited
    footnote_offsets: list[int] = field(default_factory=list)     # where the markers stood
    cited_by: list[str] = field(default_factory=list)             # for footnotes
    parent: str = ""                                              # sub-item → its paragraph
    children: list[str] = field(default_factory=list)             # paragraph → its sub-items
    stitched: bool = False
    text_en: str = ""              # unofficial English translation (data/documents/en/), if any

    @property
    def label(self) -> str:
        """Paragraph label as the document shows it: ``26``, ``82(e)``, ``3 (item 4)``."""
        if self.number is None:
            return f"{self.ordinal} (item {self.sub})" if self.sub else str(self.ordinal or "")
        if not self.sub:
            return str(self.number)
        return f"{self.number}({self.sub})" if self.sub.isalpha() else f"{self.number} (item {self.sub})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Passage":
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Document:
    """A parsed document: catalog metadata plus its passages."""

    meta: dict[str, Any]
    passages: list[Passage]
    warnings: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.meta["id"])

    @property
    def english(self) -> bool:
        """Written in English (the catalog's or the detected language): its own text is its
        English reading."""
        return str(self.meta.get("language") or "").lower().startswith("en")


# --------------------------------------------------------------------------------------
# Catalog and files


def slugify(name: str) -> str:
    """File stem → document id (ASCII, lower case, dashes)."""
    stem = unicodedata.normalize("NFKD", Path(name).stem)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()
    if not slug:
        slug = "doc-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return slug


def load_catalog(documents_dir: Path) -> dict[str, dict[str, Any]]:
    """Catalog entries keyed by file name (empty when there is no catalog)."""
    path = documents_dir / "catalog.yml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParseError(f"{path}: catalog is not valid YAML: {exc}") from exc
    entries = data.get("documents") or []
    return {str(e["file"]): dict(e) for e in entries if isinstance(e, dict) and e.get("file")}


def document_files(documents_dir: Path) -> list[Path]:
    """The document files of the corpus (text, Markdown, PDF, Word, HTML), sorted by name."""
    from bot.readers import SUPPORTED

    return sorted(p for p in documents_dir.iterdir()
                  if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith((".", "~$")))


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, refusing binary or undecodable content with a clear error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in raw[:65536]:
        raise ParseError(f"{path.name}: looks like a binary file, not UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{path.name}: is not valid UTF-8 (byte {exc.start}); save it as UTF-8 text"
        ) from exc
    if not text.strip():
        raise ParseError(f"{path.name}: is empty")
    return text


def default_meta(path: Path, text: str) -> dict[str, Any]:
    """Metadata for a file without a catalog entry: id from the name, title from line one."""
    first = next((ln.strip().lstrip("#").strip() for ln in text.splitlines() if ln.strip()), path.stem)
    lang = reply_lang(text)
    return {
        "id": slugify(path.name), "file": path.name, "source": path.name, "language": lang,
        "title": first[:200], "title_en": "", "short_en": "", "short_zh": "", "doc_type": "",
        "issuing_body": "", "symbol": "", "date": "", "place": "", "doi": "", "licence": "",
        "authors": [], "numbered": None,
    }


# --------------------------------------------------------------------------------------
# Text helpers


def _is_cjk_char(ch: str) -> bool:
    return bool(_CJK_RE.match(ch)) or ("\u3000" <= ch <= "\u303f") or ("\uff00" <= ch <= "\uffef")


def join_lines(left: str, right: str) -> str:
    """Join two wrapped lines: no space between CJK text, one space between Latin words."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    a, b = left[-1], right[0]
    if _is_cjk_char(a) or _is_cjk_char(b) or a == MARK or b == MARK:
        return left + right
    if a == "-" and b.isalpha() and len(left) > 1 and left[-2].isalpha():
        return left + right  # hyphenated word split by the line break: keep the hyphen
    return left + " " + right


def is_open(text: str) -> bool:
    """True when a paragraph does not end a sentence (so its rest may follow a break)."""
    t = RE_MARK.sub("", text).rstrip()
    t = re.sub(r"(?<=[。！？!?；;：:…\.])\d{1,3}$", "", t)  # trailing footnote digits
    while t and t[-1] in CLOSERS:
        t = t[:-1].rstrip()
        if t and t[-1] in TERMINALS:
            return False
    return bool(t) and t[-1] not in TERMINALS and t[-1] != "."


def clean_inline(line: str, explicit_markers: bool) -> str:
    """Markdown/HTML clean-up of one line; footnote references become MARK-delimited ids."""
    line = unicodedata.normalize("NFC", line)
    line = line.replace("\u00a0", " ").replace("\u3000", " ").replace("\ufeff", "")
    line = re.sub("[\u200b-\u200d\u2060]", "", line)
    line = line.replace(MARK, "")
    if explicit_markers:
        line = RE_SUP.sub(lambda m: f"{MARK}{m.group(1)}{MARK}", line)
        line = RE_CARET_REF.sub(lambda m: f"{MARK}ref{m.group(1)}{MARK}", line)
        line = RE_MD_FN_REF.sub(lambda m: f"{MARK}{m.group(1)}{MARK}", line)
    line = RE_MD_LINK.sub(lambda m: m.group(1), line)
    line = RE_ANGLE_URL.sub(lambda m: m.group(1), line)
    line = RE_BOLD.sub(lambda m: m.group(1) or m.group(2), line)
    line = RE_HTML_TAG.sub("", line)
    line = line.replace("\\*", "*").replace("\\_", "_").replace("\\#", "#")
    return re.sub(r"[ \t]+", " ", line)


def plain(text: str) -> str:
    """Text without Markdown/HTML markup or footnote markers (as passages store it)."""
    return RE_MARK.sub("", clean_inline(text, explicit_markers=True)).strip()


def heading_key(title: str) -> str:
    """Normalised heading text for word lists (lower case, no spaces or trailing colon)."""
    return re.sub(r"\s+", "", title).rstrip(":：").lower()


def chinese_to_int(numeral: str) -> int:
    """一 → 1, 十二 → 12 (enough for section numbers)."""
    digits = {c: i for i, c in enumerate(CN_NUMERALS)}
    if numeral == "十":
        return 10
    if "十" in numeral:
        tens, _, ones = numeral.partition("十")
        return (digits.get(tens, 1) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)
    return digits.get(numeral, 0)


# --------------------------------------------------------------------------------------
# Parser


@dataclass
class _Block:
    kind: str
    lines: list[str]
    start_line: int
    section: list[dict[str, str]]
    section_index: int
    number: int | None = None
    sub: str = ""
    fn_id: str = ""
    stitched: bool = False
    marker: str = ""                                  # "(a)", "-", "" for list items
    lead: list[str] = field(default_factory=list)     # headings right above the block

    @property
    def text(self) -> str:
        out = ""
        for ln in self.lines:
            out = join_lines(out, ln)
        return out.strip()


@dataclass
class _Heading:
    num: str
    title: str
    family: str  # "cn", "paren", "latin", "arabic", "plain"
    line: str


class _Parser:
    """Line classifier and block assembler for one document (see module docstring)."""

    def __init__(self, meta: dict[str, Any], text: str) -> None:
        self.meta = meta
        self.doc_id = str(meta["id"])
        self.raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.explicit_markers = bool(
            RE_SUP.search(text) or RE_CARET_REF.search(text) or RE_MD_FN_REF.search(text)
        )
        self.lines = [clean_inline(ln, self.explicit_markers) for ln in self.raw_lines]
        self.wrapped = self._detect_wrapped()
        numbered = meta.get("numbered")
        self.numbered = self._detect_numbered() if numbered is None else bool(numbered)
        self.symbol = str(meta.get("symbol") or "")
        self.has_numbered_headings = any(
            RE_H_CN.match(ln.strip()) or RE_H_PAREN_CN.match(ln.strip()) or RE_MD_HEADING.match(ln.strip())
            for ln in self.lines
        )
        self.warnings: list[str] = []
        # state
        self.blocks: list[_Block] = []
        self.current: _Block | None = None
        self.section: list[dict[str, str]] = []
        self.levels: list[tuple[int, _Heading]] = []  # open headings with their level
        self.section_index = 0
        self.region = FRONT
        self.started = False
        self.last_was_heading = False
        self.pending_headings: list[str] = []
        self.after_blank = True
        self.was_blank = True
        self.blank_run = 0
        self.next_para = 1
        self.next_letter = "a"
        self.bullet_count = 0
        self.in_footnotes = False
        self.next_fn = 1
        self.last_fn_block: _Block | None = None
        self.page_footers: list[tuple[int, int]] = []   # (line index, page number)
        self.page_marks: list[tuple[int, int]] = []     # "<!-- page N -->": (line index, N)
        self.latin_doc = not has_cjk(text[:20000])
        self.page_breaks: list[int] = []
        self.fn_defined_style = "explicit" if self.explicit_markers else "trailing"

    # ---- document-level detection -------------------------------------------------

    def _detect_wrapped(self) -> bool:
        """Hard-wrapped PDF text: most lines have about the same width and end mid-sentence."""
        lengths = [len(ln.strip()) for ln in self.lines if len(ln.strip()) >= 12]
        if len(lengths) < 20:
            return False
        width, _ = Counter(min(n, 200) // 3 for n in lengths).most_common(1)[0]
        near = [ln for ln in self.lines if len(ln.strip()) >= 12 and abs(len(ln.strip()) // 3 - width) <= 2]
        open_near = sum(1 for ln in near if is_open(ln))
        return len(near) / len(lengths) > 0.4 and open_near / max(1, len(near)) > 0.6 and width * 3 < 120

    def _detect_numbered(self) -> bool:
        """Numbered paragraphs: lines starting "1.", "2.", ... forming a long run of prose."""
        expected, found = 1, 0
        for ln in self.lines:
            m = RE_NUMBERED.match(ln.strip())
            if m and int(m.group(1)) == expected and len(m.group(2)) > 40:
                expected += 1
                found += 1
        return found >= 8

    # ---- classification helpers ---------------------------------------------------

    def _heading(self, line: str, stripped: str) -> _Heading | None:
        md = RE_MD_HEADING.match(stripped)
        text = md.group(2).strip() if md else stripped
        if not text:
            return None
        short = len(text) <= 40 and not re.search(r"[。；;]", text.rstrip("。"))
        for family, rx in (("cn", RE_H_CN), ("paren", RE_H_PAREN_CN)):
            m = rx.match(text)
            standalone = self.was_blank and self._next_is_blank()
            if m and (md or (short and (standalone or not re.search(r"[，,]", m.group(2))))):
                return _Heading(m.group(1), m.group(2).strip(), family, line)
        if self.latin_doc:
            latin_short = len(text) <= 90 and not re.search(r"[.;:]$", text)
            m = RE_H_ROMAN.match(text)
            if m and (md or latin_short):
                return _Heading(m.group(1), m.group(2).strip(), "cn", line)
            m = RE_H_LATIN.match(text)
            if m and (md or latin_short):
                return _Heading(m.group(1), m.group(2).strip(), "latin", line)
        m = RE_H_LATIN.match(text)
        if m and has_cjk(m.group(2)) and (md or short):
            return _Heading(m.group(1), m.group(2).strip(), "latin", line)
        m = RE_NUMBERED.match(text)
        if m:
            body = m.group(2).strip()
            if md:
                return _Heading(m.group(1), body, "arabic", line)
            heading_like = len(body) <= 30 and not re.search(r"[，。；;,：:]", body)
            if not heading_like:
                return None
            if self.numbered and int(m.group(1)) == self.next_para and self._looks_like_para(line, body):
                return None
            return _Heading(m.group(1), body, "arabic", line)
        if md:
            return _Heading("", text, "plain", line)
        key = heading_key(text)
        if key in TOP_WORDS | REFERENCE_WORDS | CREDIT_WORDS | BACK_WORDS or key.startswith("关于"):
            if len(key) <= 12:
                return _Heading("", text.rstrip(":："), "plain", line)
        if (
            not self.wrapped
            and not self.has_numbered_headings
            and self.region == BODY
            and self.was_blank
            and self._next_is_blank()
            and len(text) <= 24
            and has_cjk(text)
            and not re.search(r"[，。；！？;,!?]", text)
            and not text.endswith((":", "："))
            and not RE_CAPTION.match(text)
        ):
            return _Heading("", text, "plain", line)
        return None

    def _next_is_blank(self) -> bool:
        i = self._i + 1
        return i >= len(self.lines) or not self.lines[i].strip()

    def _is_furniture(self, idx: int, stripped: str) -> bool:
        m = RE_PAGE_MARK.match(stripped)
        if m:
            self.page_marks.append((idx, int(m.group(1))))
            return True
        m = RE_PAGE_FOOTER.match(stripped)
        if m:
            self.page_footers.append((idx, int(m.group(1))))
            return True
        if RE_SYMBOL_LINE.match(stripped) and (not self.symbol or stripped == self.symbol or self.wrapped):
            return True
        if RE_FN_SEPARATOR.match(stripped):
            return False
        if RE_RULE.match(stripped) and not re.search(r"\w", stripped):
            return True
        if RE_URL_LINE.match(stripped) or RE_MD_IMAGE.match(stripped):
            return True
        if self.wrapped and RE_PAGE_NUMBER.match(stripped):
            return True
        return False

    # ---- block management ---------------------------------------------------------

    def _new_block(self, kind: str, line: str, idx: int, **kw: Any) -> _Block:
        block = _Block(kind, [line], idx, list(self.section), self.section_index, **kw)
        if kind == BODY:
            block.lead, self.pending_headings = self.pending_headings, []
        self.blocks.append(block)
        self.current = block
        self.last_was_heading = False
        return block

    def _last_body(self) -> _Block | None:
        for block in reversed(self.blocks):
            if block.kind in (BODY,):
                return block
            if block.kind not in (FOOTNOTE,):
                return None
        return None

    def _start_body(self) -> None:
        if not self.started:
            self.started = True
            self.region = BODY

    def _open_heading(self, h: _Heading, idx: int) -> None:
        key = heading_key(h.title)
        if key in REFERENCE_WORDS:
            self.region = REFERENCE
        elif key in CREDIT_WORDS:
            self.region = CREDITS
        elif key in BACK_WORDS or (key.startswith("关于") and len(key) <= 12 and self.region != BODY):
            self.region = BACK
        elif key.startswith("关于") and len(key) <= 12 and self.started and self._only_back_after(idx):
            self.region = BACK
        elif h.family != "plain" or key in TOP_WORDS:
            self._start_body()
        elif self.started and self.region not in (BODY,):
            pass  # plain heading inside back matter keeps the region
        level = self._level(h)
        self.levels = [(lv, hh) for lv, hh in self.levels if lv < level]
        self.levels.append((level, h))
        self.section = [{"num": hh.num, "title": hh.title} for _, hh in self.levels]
        if self.started and self.region == BODY:
            self.pending_headings.append(RE_MD_HEADING.sub(r"\2", h.line.strip()).strip())
        self.section_index += 1
        self.current = None
        self.last_was_heading = True
        if h.family == "arabic" or h.family == "cn":
            self.next_letter = "a"

    def _only_back_after(self, idx: int) -> bool:
        """"关于 X" near the end of the document (back matter such as "关于 IPIE")."""
        return idx > len(self.lines) * 0.8

    def _level(self, h: _Heading) -> int:
        base = {"cn": 1, "paren": 2, "latin": 2, "arabic": 3}
        if h.family in base:
            # arabic headings sit under whatever numbered heading is open
            if h.family == "arabic":
                deeper = [lv for lv, hh in self.levels if hh.family != "arabic"]
                return (max(deeper) + 1) if deeper else 1
            if h.family in ("paren", "latin"):
                tops = [lv for lv, hh in self.levels if hh.family in ("cn", "plain")]
                return (min(tops) + 1) if tops else 1
            return 1
        key = heading_key(h.title)
        if self.last_was_heading and self.levels:
            return self.levels[-1][0] + 1
        if key in TOP_WORDS | REFERENCE_WORDS | CREDIT_WORDS | BACK_WORDS:
            return 1
        shape = self._shape(h.title)
        for lv, hh in self.levels:
            if shape and self._shape(hh.title) == shape:
                return lv
        for lv, hh in reversed(self.levels):
            if hh.family == "plain":
                return lv
        return (self.levels[-1][0] + 1) if self.levels else 1

    @staticmethod
    def _shape(title: str) -> str:
        if title.startswith("《"):
            return "《》"
        m = re.match(r"^(\D{1,6}?)\s*\d+\s*[：:.]", title)
        return (m.group(1) + "#") if m else ""

    # ---- main loop -----------------------------------------------------------------

    def parse(self) -> list[_Block]:
        for idx, line in enumerate(self.lines):
            self._i = idx
            self._line(idx, line)
        return self.blocks

    def _line(self, idx: int, line: str) -> None:
        stripped = line.strip()
        if not stripped:
            self.after_blank = True
            self.blank_run += 1
            if not self.wrapped and self.current and self.current.kind == FOOTNOTE:
                self.current = None
            # hard-wrapped PDF text puts a blank line after every line; the blocks of a title
            # page (agenda item, title, "prepared by the Secretariat") are set apart by more
            if self.wrapped and self.blank_run >= 3 and self.current is not None and self.current.kind == FRONT:
                self.current = None
            return
        self.blank_run = 0
        was_blank, self.after_blank = self.after_blank, False
        self.was_blank = was_blank

        if self._is_furniture(idx, stripped):
            if RE_PAGE_FOOTER.match(stripped) or RE_SYMBOL_LINE.match(stripped):
                if self.in_footnotes:
                    self._end_footnotes(idx)
            self.after_blank = was_blank
            return
        if CREDIT_LINE.match(stripped):
            self._new_block(CREDITS, stripped, idx)
            return

        if self.wrapped and RE_FN_SEPARATOR.match(stripped):
            self.in_footnotes = True
            self.current = None
            return
        if RE_FN_SEPARATOR.match(stripped):
            return

        if self.in_footnotes:
            if self._footnote_line(idx, line, stripped):
                return

        # explicit footnote definitions
        m = RE_SUP_DEF.match(stripped) or RE_MD_FN_DEF.match(stripped)
        if m:
            self._new_block(FOOTNOTE, m.group(2), idx, fn_id=m.group(1))
            return
        m = RE_STAR_DEF.match(stripped)
        if m and self.started and self._star_referenced():
            self._new_block(FOOTNOTE, m.group(1), idx, fn_id="*")
            return

        # "摘要 text" / "关键词 text"
        m = RE_PREFIX_LABEL.match(stripped)
        if m and self.region in (FRONT, BODY):
            kind = PREFIX_LABELS[m.group(1)]
            if kind == BODY:
                self._open_heading(_Heading("", m.group(1), "plain", line), idx)
                self._new_block(BODY, m.group(2), idx)
            else:
                self._new_block(KEYWORDS, m.group(2), idx)
                self.section, self.levels = [], []
                self.section_index += 1
                self._start_body()
            return

        h = self._heading(line, stripped)
        if h is not None:
            self._open_heading(h, idx)
            return

        if self.region in (BODY, FRONT):
            m = RE_NUMBERED.match(stripped)
            if m and self.numbered and int(m.group(1)) == self.next_para:
                self._start_body()
                self.next_para += 1
                self.next_letter, self.bullet_count = "a", 0
                self._new_block(BODY, m.group(2), idx, number=int(m.group(1)))
                return
            m = RE_SUBITEM.match(stripped)
            if m and m.group(1) == self.next_letter and self.started:
                number = self._current_number()
                self.next_letter = chr(ord(self.next_letter) + 1)
                self._new_block(BODY, m.group(2), idx, number=number, sub=m.group(1) if number else "",
                                marker=f"({m.group(1)})")
                if number is None:
                    self.current.lines[0] = f"({m.group(1)}) {m.group(2)}"
                    self.current.marker = "+"
                return
            if RE_CAPTION.match(stripped) and not self.wrapped and self.started:
                self._new_block(CAPTION, stripped, idx)
                return
        m = RE_BULLET.match(stripped) or (
            RE_NUMBERED.match(stripped) if (not self.numbered and self.started) else None
        )
        if m and (self.started or self.region != FRONT):
            item = m.group(m.lastindex)
            kind = BODY if self.region == BODY else self.region
            if kind == BODY:
                number = self._current_number()
                if number is not None:
                    self.bullet_count += 1
                    self._new_block(BODY, item, idx, number=number, sub=str(self.bullet_count), marker="-")
                    return
                marker = "-"
                if RE_NUMBERED.match(stripped):
                    item, marker = stripped, "+"  # keep the list number in unnumbered documents
                self._new_block(kind, item, idx, marker=marker)
                return
            self._new_block(kind, item, idx)
            return

        self._text(idx, stripped, was_blank)

    def _looks_like_para(self, line: str, body: str) -> bool:
        return (not line[:1].isspace() and len(body) > 20) or bool(re.search(r"[，。；]", body))

    def _star_referenced(self) -> bool:
        return any("*" in b.text for b in self.blocks if b.kind in (FRONT, BODY))

    def _current_number(self) -> int | None:
        for block in reversed(self.blocks):
            if block.kind == BODY:
                return block.number
            if block.kind not in (FOOTNOTE, CAPTION):
                return None
        return None

    def _text(self, idx: int, stripped: str, was_blank: bool) -> None:
        cur = self.current
        if cur is not None and (self.wrapped or not was_blank):
            cur.lines.append(stripped)
            return
        region_kind = BODY if self.region == BODY else self.region
        last = self._last_body()
        if (
            region_kind == BODY
            and last is not None
            and not self.last_was_heading
            and is_open(last.text)
        ):
            last.lines.append(stripped)
            last.stitched = True
            self.current = last
            return
        self._new_block(region_kind, stripped, idx)

    # ---- footnote blocks in hard-wrapped text (after a "_____" separator) ------------

    def _footnote_line(self, idx: int, line: str, stripped: str) -> bool:
        """Handle a line inside a footnote block; False when body text resumes."""
        m = RE_WRAPPED_FN_DEF.match(line) if (line[:1].isspace() or stripped.startswith("*")) else None
        if stripped.startswith("*") and not line[:1].isspace():
            m = re.match(r"^(\*)\s*(\S.*)$", stripped)
        if m and (m.group(1) == "*" or int(m.group(1)) == self.next_fn):
            if m.group(1) != "*":
                self.next_fn += 1
            self.last_fn_block = self._new_block(FOOTNOTE, m.group(2), idx, fn_id=m.group(1))
            return True
        if m and m.group(1) != "*" and self.next_fn < int(m.group(1)) <= self.next_fn + 2:
            self.warnings.append(f"footnotes {self.next_fn}..{int(m.group(1)) - 1} missing before line {idx + 1}")
            self.next_fn = int(m.group(1)) + 1
            self.last_fn_block = self._new_block(FOOTNOTE, m.group(2), idx, fn_id=m.group(1))
            return True
        body_resumes = False
        if line[:1].isspace():
            last = self._last_body_any()
            body_resumes = (
                (last is not None and is_open(last.text))
                or RE_NUMBERED.match(stripped) is not None
                or self._heading(line, stripped) is not None
            )
        if body_resumes or self.last_fn_block is None:
            self._end_footnotes(idx)
            last = self._last_body_any()
            numbered_start = RE_NUMBERED.match(stripped)
            if last is not None and is_open(last.text) and not numbered_start and self._heading(line, stripped) is None:
                last.lines.append(stripped)
                last.stitched = True
                self.current = last
                return True
            return False
        self.last_fn_block.lines.append(stripped)
        return True

    def _last_body_any(self) -> _Block | None:
        for block in reversed(self.blocks):
            if block.kind in (BODY, FRONT):
                return block
        return None

    def _end_footnotes(self, idx: int) -> None:
        self.in_footnotes = False
        self.last_fn_block = None
        self.current = None
        self.page_breaks.append(idx)


def _extract_trailing_markers(blocks: list[_Block], fn_ids: set[str]) -> list[str]:
    """Find footnote numbers written as bare digits after text (``风险。1``, ``规则）19或``).

    Markers appear in increasing order through the body, so each number is searched for
    after the previous one; a digit run only counts when it follows CJK text or
    punctuation and is not part of a longer number (``812018 年`` is marker 81 + 2018).
    """
    warnings: list[str] = []
    defined = sorted(int(f) for f in fn_ids if f.isdigit())
    if not defined:
        return warnings
    # the last pages' footnote text can be missing while their markers are present
    numbers = defined + list(range(defined[-1] + 1, defined[-1] + 6))
    order = [b for b in blocks if b.kind in (BODY, FRONT)]
    texts = [b.text for b in order]
    pos_block, pos_char = 0, 0
    found: dict[int, tuple[int, int, int]] = {}
    for n in numbers:
        s = str(n)
        pattern = re.compile(
            rf"(?<=[{CJK}\u3000-\u303f\uff00-\uffef”’）)、])({s})(?:(?!\d)|(?=\d{{4}}\s*年))"
        )
        hit = None
        for bi in range(pos_block, min(len(order), pos_block + 6)):
            start = pos_char if bi == pos_block else 0
            m = pattern.search(texts[bi], start)
            if m:
                hit = (bi, m.start(1), m.end(1))
                break
        if hit is None:
            if n <= defined[-1]:
                warnings.append(f"footnote marker {n} not found in the body text")
            continue
        if n > defined[-1]:
            warnings.append(f"footnote {n} is cited but its text is not in the document")
        found[n] = hit
        pos_block, pos_char = hit[0], hit[2]
    # rewrite texts with MARK-delimited ids (from the end so offsets stay valid)
    by_block: dict[int, list[tuple[int, int, int]]] = {}
    for n, (bi, a, b) in found.items():
        by_block.setdefault(bi, []).append((a, b, n))
    for bi, hits in by_block.items():
        text = texts[bi]
        for a, b, n in sorted(hits, reverse=True):
            text = text[:a] + f"{MARK}{n}{MARK}" + text[b:]
        order[bi].lines = [text]
    return warnings


def _finalise_text(raw: str) -> tuple[str, list[str], list[int]]:
    """Remove MARK-delimited footnote ids; return clean text, ids and their offsets."""
    ids: list[str] = []
    offsets: list[int] = []
    out: list[str] = []
    pos = 0
    length = 0
    for m in RE_MARK.finditer(raw):
        chunk = raw[pos:m.start()]
        out.append(chunk)
        length += len(chunk)
        ids.append(m.group(1))
        offsets.append(length)
        pos = m.end()
    out.append(raw[pos:])
    text = "".join(out)
    # collapse spaces left around removed markers, keeping offsets roughly aligned
    clean = re.sub(r"[ \t]{2,}", " ", text).strip()
    if clean != text:
        shift = len(text) - len(text.lstrip())
        offsets = [max(0, min(len(clean), o - shift)) for o in offsets]
    return clean, ids, offsets


def _display(block: _Block) -> str:
    """How a sub-item appears inside its paragraph: ``(a) text``, ``• text`` or as written."""
    if block.marker in ("", "+"):
        return block.text
    return f"{'•' if block.marker == '-' else block.marker} {block.text}"


def _assemble(blocks: list[_Block], doc_id: str, numbered: bool, page_of_line: dict[int, int],
              warnings: list[str]) -> list[Passage]:
    """Turn blocks into passages: ids, labels, parent paragraphs with their sub-items.

    A numbered paragraph's text includes its sub-items ("82" holds the chapeau and (a)–(l));
    each sub-item is also its own passage ("82-e"). In unnumbered documents a list that
    follows a paragraph ending in a colon becomes that paragraph's sub-items, and the first
    paragraph under a heading starts with the heading line(s), as printed.
    """
    # group children under parents
    children: dict[int, list[int]] = {}
    parent_of: dict[int, int] = {}
    last_para: int | None = None
    for i, b in enumerate(blocks):
        if b.kind != BODY:
            continue
        if b.number is not None:
            if b.sub and last_para is not None and blocks[last_para].number == b.number:
                children.setdefault(last_para, []).append(i)
                parent_of[i] = last_para
                continue
            last_para = i
            continue
        if b.marker and last_para is not None:
            head = blocks[last_para]
            chapeau = head.text.rstrip()
            same_section = head.section_index == b.section_index and not b.lead
            if same_section and head.number is None and (chapeau.endswith(("：", ":")) or last_para in children):
                children.setdefault(last_para, []).append(i)
                parent_of[i] = last_para
                continue
        last_para = i

    passages: list[Passage] = []
    ordinals: Counter[int] = Counter()
    counters: Counter[str] = Counter()
    seen: set[str] = set()
    ids: dict[int, str] = {}
    for i, b in enumerate(blocks):
        raw = b.text
        lead = b.lead if (b.kind == BODY and not numbered and i not in parent_of) else []
        if i in children:
            raw = "\n".join([raw] + [_display(blocks[c]) for c in children[i]])
        if lead:
            raw = "\n".join(lead + [raw])
        text, refs, offsets = _finalise_text(raw)
        if not text:
            continue
        p = Passage(
            id="", doc_id=doc_id, kind=b.kind, text=text, number=b.number, sub=b.sub,
            section=b.section, section_index=b.section_index,
            page=page_of_line.get(b.start_line), footnotes=refs, footnote_offsets=offsets,
            stitched=b.stitched,
        )
        if i in parent_of:
            parent_id = ids[parent_of[i]]
            p.parent = parent_id
            sibling = children[parent_of[i]].index(i) + 1
            if b.number is None:
                p.ordinal = next(q.ordinal for q in passages if q.id == parent_id)
                p.sub = str(sibling)
                p.id = f"{parent_id}-{sibling}"
            else:
                p.id = f"{doc_id}:{b.number}-{b.sub}"
        elif b.kind == FOOTNOTE:
            p.id = f"{doc_id}:fn{'star' if b.fn_id == '*' else b.fn_id}"
        elif b.kind == BODY and b.number is not None:
            p.id = f"{doc_id}:{b.number}"
        elif b.kind == BODY:
            ordinals[b.section_index] += 1
            p.ordinal = ordinals[b.section_index]
            p.id = f"{doc_id}:s{b.section_index}-{p.ordinal}"
        else:
            counters[b.kind] += 1
            p.ordinal = counters[b.kind]
            p.id = f"{doc_id}:{b.kind}{p.ordinal}"
        if p.id in seen:
            k = 2
            while f"{p.id}.{k}" in seen:
                k += 1
            warnings.append(f"duplicate passage id {p.id}; renamed {p.id}.{k}")
            p.id = f"{p.id}.{k}"
        seen.add(p.id)
        ids[i] = p.id
        passages.append(p)
    by_id = {p.id: p for p in passages}
    for p in passages:
        if p.parent and p.parent in by_id:
            by_id[p.parent].children.append(p.id)
    return passages


def parse_document(meta: dict[str, Any], text: str) -> Document:
    """Parse one document's text into passages (ids are stable for unchanged text)."""
    parser = _Parser(meta, text)
    blocks = parser.parse()
    doc_id = parser.doc_id
    if not any(b.kind == BODY for b in blocks):
        # no structure recognised (a plain note): everything after the title line is body
        fronts = [b for b in blocks if b.kind == FRONT]
        for b in fronts[1:] if len(fronts) > 1 else fronts:
            b.kind = BODY
    warnings = list(parser.warnings)

    fn_blocks = [b for b in blocks if b.kind == FOOTNOTE]
    fn_ids = {b.fn_id for b in fn_blocks}
    if not parser.explicit_markers and fn_blocks:
        warnings += _extract_trailing_markers(blocks, fn_ids)
    if any(b.fn_id == "*" for b in fn_blocks):
        for b in blocks:
            if b.kind in (FRONT, BODY) and f"{MARK}*{MARK}" in b.text:
                break   # marked explicitly ("*<sup>*</sup>", bot/readers.py)
            if b.kind in (FRONT, BODY) and "*" in b.text:
                b.lines = [b.text.replace("*", f"*{MARK}*{MARK}", 1)]   # the mark stays visible, as printed
                break

    # pages from footers like "V.20-00547 13/16" and the page breaks around them
    page_of_line: dict[int, int] = {}
    breaks = sorted(set(parser.page_breaks))
    for line_idx, page in parser.page_footers:
        before = max([b for b in breaks if b < line_idx], default=-1)
        after = min([b for b in breaks if b > line_idx], default=len(parser.lines))
        for b in blocks:
            if before <= b.start_line < line_idx:
                page_of_line[b.start_line] = page
            elif line_idx < b.start_line < after:
                page_of_line[b.start_line] = page + 1

    if parser.page_marks:  # explicit page starts (PDF text layers): the last mark above a block
        marks = sorted(parser.page_marks)
        for b in blocks:
            page = None
            for line_idx, number in marks:
                if line_idx > b.start_line:
                    break
                page = number
            if page is not None:
                page_of_line[b.start_line] = page

    passages = _assemble(blocks, doc_id, parser.numbered, page_of_line, warnings)

    # link footnotes both ways; "ref<n>" markers point at reference-list entries
    by_fn = {p.id.split(":fn", 1)[1]: p for p in passages if p.kind == FOOTNOTE}
    refs_by_number: dict[str, Passage] = {}
    for p in passages:
        if p.kind == REFERENCE:
            m = re.match(r"^\[(\d+)\]", p.text)
            if m:
                refs_by_number[m.group(1)] = p
    for p in passages:
        resolved: list[str] = []
        for fid in p.footnotes:
            key = "star" if fid == "*" else fid
            target = refs_by_number.get(fid[3:]) if fid.startswith("ref") else by_fn.get(key)
            if target is None:
                continue  # cited, but the note's text is not in the document (see warnings)
            resolved.append(target.id)
            if p.id not in target.cited_by:
                target.cited_by.append(p.id)
        p.footnotes = resolved
    return Document(meta=meta, passages=passages, warnings=warnings)


# --------------------------------------------------------------------------------------
# Corpus


@dataclass
class Corpus:
    """All parsed documents, with lookups by id."""

    documents: list[Document]
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {p.id: p for d in self.documents for p in d.passages}
        self._docs = {d.id: d for d in self.documents}

    def passages(self, kinds: Iterable[str] | None = None) -> list[Passage]:
        wanted = set(kinds) if kinds is not None else None
        return [p for d in self.documents for p in d.passages if wanted is None or p.kind in wanted]

    def passage(self, pid: str) -> Passage | None:
        return self._by_id.get(pid)

    def document(self, doc_id: str) -> Document | None:
        return self._docs.get(doc_id)


def load_document(path: Path, catalog: dict[str, dict[str, Any]], cache: "ParsedCache | None" = None) -> Document:
    """Read (any supported format, ``bot/readers.py``) and parse one file (catalog entry optional).
    With ``cache``, a file parsed before (same bytes, catalog entry and reader/parser code) is
    taken from it instead of being read again."""
    from bot import readers

    key = cache.key(path, catalog.get(path.name)) if cache is not None else ""
    if cache is not None:
        cached = cache.get(key)
        if cached is not None:
            return cached
    try:
        read = readers.read(path)
    except readers.ReadError as exc:
        raise ParseError(str(exc)) from exc
    text = read.text
    meta = dict(catalog.get(path.name) or read.proposed_meta())
    meta.setdefault("id", slugify(path.name))
    meta.setdefault("language", read.language)
    meta["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        doc = parse_document(meta, text)
    except Exception as exc:  # a parser bug must name the file, not crash the caller
        raise ParseError(f"{path.name}: could not be parsed ({type(exc).__name__}: {exc})") from exc
    if not any(p.kind == BODY for p in doc.passages):
        raise ParseError(f"{path.name}: no paragraphs of text found")
    if cache is not None:
        cache.put(key, doc)
    return doc


class ParsedCache:
    """Parsed documents kept between index builds (one JSON file each), so that adding a
    document reads and parses only that one: a 30-page PDF takes seconds to lay out.

    The key is the file's bytes, its catalog entry and the source of the reader and parser
    modules, so an edited file, entry or parser is parsed again. ``prune`` removes what the
    last load did not use. Unreadable entries are parsed again, never an error."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()
        self.hits = self.misses = 0
        self._code = ""

    def key(self, path: Path, entry: dict[str, Any] | None) -> str:
        if not self._code:
            from bot import readers

            code = hashlib.sha256(PARSER_VERSION.encode())
            for module in (readers.__file__, __file__):
                code.update(Path(module).read_bytes())
            self._code = code.hexdigest()
        h = hashlib.sha256(self._code.encode())
        h.update(json.dumps(entry or {}, sort_keys=True, default=str).encode())
        h.update(path.name.encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            return ""   # unreadable: the reader reports it
        return h.hexdigest()[:32]

    def get(self, key: str) -> Document | None:
        if not key:
            return None
        self.used.add(key)
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            doc = Document(meta=dict(data["meta"]), passages=[Passage.from_dict(d) for d in data["passages"]],
                           warnings=list(data.get("warnings") or []))
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return doc

    def put(self, key: str, doc: Document) -> None:
        if not key:
            return
        self.used.add(key)
        data = {"meta": doc.meta, "passages": [asdict(p) for p in doc.passages], "warnings": doc.warnings}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key}.tmp"
            tmp.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
            tmp.replace(self.folder / f"{key}.json")
        except OSError:
            pass   # not kept: parsed again next time

    def prune(self) -> None:
        if self.folder.is_dir():
            for path in self.folder.glob("*.json"):
                if path.stem not in self.used:
                    path.unlink(missing_ok=True)


def load_corpus(documents_dir: Path | None = None, strict: bool = False, cache: ParsedCache | None = None) -> Corpus:
    """Parse every document; unreadable files are reported in ``errors`` (or raised if strict).
    ``cache``: parsed documents kept from the last load (``ParsedCache``)."""
    documents_dir = documents_dir or config.settings().documents_dir
    if not documents_dir.is_dir():
        raise ParseError(f"documents folder not found: {documents_dir}")
    catalog = load_catalog(documents_dir)
    docs: list[Document] = []
    errors: list[str] = []
    seen_ids: set[str] = set()
    for path in document_files(documents_dir):
        try:
            doc = load_document(path, catalog, cache)
        except ParseError as exc:
            if strict:
                raise
            errors.append(str(exc))
            continue
        if doc.id in seen_ids:
            msg = f"{path.name}: document id {doc.id!r} is used by another file"
            if strict:
                raise ParseError(msg)
            errors.append(msg)
            continue
        seen_ids.add(doc.id)
        docs.append(doc)
    return Corpus(docs, errors)


def corpus_fingerprint(documents_dir: Path) -> str:
    """Hash of the catalog and every document file (content and name)."""
    h = hashlib.sha256()
    for path in sorted(documents_dir.iterdir()):
        if path.is_file() and (path.suffix.lower() in _suffixes() or path.name == "catalog.yml"):
            h.update(path.name.encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _suffixes() -> set[str]:
    from bot.readers import SUPPORTED

    return set(SUPPORTED)
