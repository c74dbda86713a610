"""Build Word and PDF versions of a text document with LibreOffice (``soffice --headless``).

``fodt(doc)`` writes a parsed text document (``bot.corpus.Document``) as a flat OpenDocument
file: its headings as headings, numbered paragraphs and sub-items as printed, footnotes as
real notes at the places their markers stood, a running header (the document's symbol or
title) and page numbers in the footer, Noto CJK fonts. ``convert`` then asks LibreOffice
for ``.docx`` or ``.pdf``. ``scripts/office.sh`` installs LibreOffice (``make office``).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from bot.corpus import BODY, FOOTNOTE, Document, Passage


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:meta><dc:title>{title}</dc:title></office:meta>
<office:font-face-decls>
 <style:font-face style:name="Noto Serif CJK SC" svg:font-family="'Noto Serif CJK SC'" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/>
</office:font-face-decls>
<office:styles>
 <style:default-style style:family="paragraph">
  <style:paragraph-properties fo:margin-bottom="0.2cm" fo:text-align="justify"/>
  <style:text-properties style:font-name="Noto Serif CJK SC" style:font-name-asian="Noto Serif CJK SC"
   fo:font-size="11pt" style:font-size-asian="11pt" fo:language="{lang}" style:language-asian="zh" style:country-asian="CN"/>
 </style:default-style>
 <style:style style:name="Standard" style:family="paragraph"/>
 <style:style style:name="Heading" style:family="paragraph">
  <style:paragraph-properties fo:margin-top="0.4cm" fo:margin-bottom="0.2cm" fo:text-align="start" fo:keep-with-next="always"/>
  <style:text-properties fo:font-size="13pt" style:font-size-asian="13pt" fo:font-weight="bold" style:font-weight-asian="bold"/>
 </style:style>
 <style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph" style:parent-style-name="Heading" style:default-outline-level="1"/>
 <style:style style:name="Heading_20_2" style:display-name="Heading 2" style:family="paragraph" style:parent-style-name="Heading" style:default-outline-level="2"/>
 <style:style style:name="Heading_20_3" style:display-name="Heading 3" style:family="paragraph" style:parent-style-name="Heading" style:default-outline-level="3"/>
 <style:style style:name="Footnote" style:family="paragraph">
  <style:paragraph-properties fo:margin-bottom="0.05cm" fo:text-align="start"/>
  <style:text-properties fo:font-size="8.5pt" style:font-size-asian="8.5pt"/>
 </style:style>
 <style:style style:name="Furniture" style:family="paragraph">
  <style:paragraph-properties fo:text-align="center"/>
  <style:text-properties fo:font-size="9pt" style:font-size-asian="9pt"/>
 </style:style>
 <style:style style:name="Front" style:family="paragraph">
  <style:paragraph-properties fo:text-align="start"/>
 </style:style>
</office:styles>
<office:automatic-styles>
 <style:page-layout style:name="pm1">
  <style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm" fo:margin-top="1.5cm"
   fo:margin-bottom="1.5cm" fo:margin-left="2.2cm" fo:margin-right="2.2cm"/>
  <style:header-style><style:header-footer-properties fo:min-height="0.6cm" fo:margin-bottom="0.5cm"/></style:header-style>
  <style:footer-style><style:header-footer-properties fo:min-height="0.6cm" fo:margin-top="0.5cm"/></style:footer-style>
 </style:page-layout>
</office:automatic-styles>
<office:master-styles>
 <style:master-page style:name="Standard" style:page-layout-name="pm1">
  <style:header><text:p text:style-name="Furniture">{header}</text:p></style:header>
  <style:footer><text:p text:style-name="Furniture"><text:page-number text:select-page="current">1</text:page-number></text:p></style:footer>
 </style:master-page>
</office:master-styles>
<office:body><office:text>
"""
TAIL = "</office:text></office:body></office:document>\n"


def _with_notes(p: Passage, notes: dict[str, Passage], numbers: dict[str, str], text: str | None = None) -> str:
    """Paragraph text as XML with ``<text:note>`` where the passage's footnote markers stood."""
    text = p.text if text is None else text
    pieces, pos = [], 0
    for fid, off in sorted(zip(p.footnotes, p.footnote_offsets), key=lambda x: x[1]):
        if off > len(text) or fid not in notes:
            continue
        num = numbers[fid]
        pieces.append(escape(text[pos:off - 1] if num == "star" and text[off - 1:off] == "*" else text[pos:off]))
        pieces.append(
            f'<text:note text:id="n{num}" text:note-class="footnote">'
            + ('<text:note-citation text:label="*">*</text:note-citation>' if num == "star"
               else f"<text:note-citation>{num}</text:note-citation>")
            + f'<text:note-body><text:p text:style-name="Footnote">{escape(notes[fid].text)}</text:p>'
            f"</text:note-body></text:note>"
        )
        pos = off
    pieces.append(escape(text[pos:]))
    return "".join(pieces)


_LIST_LEVEL = ('<style:list-level-properties text:list-level-position-and-space-mode="label-alignment">'
               '<style:list-level-label-alignment text:label-followed-by="listtab" text:list-tab-stop-position="{tab}"'
               ' fo:text-indent="-{indent}" fo:margin-left="{tab}"/></style:list-level-properties>')
LIST_STYLES = (
    # paragraph numbers "1." and sub-items "(a)" as list styles (automatic numbering), not typed text
    '<text:list-style style:name="LNum"><text:list-level-style-number text:level="1" style:num-suffix="."'
    ' style:num-format="1">' + _LIST_LEVEL.format(tab="1cm", indent="1cm") + "</text:list-level-style-number>"
    "</text:list-style>\n"
    '<text:list-style style:name="LSub"><text:list-level-style-number text:level="1" style:num-prefix="("'
    ' style:num-suffix=")" style:num-format="a">' + _LIST_LEVEL.format(tab="2cm", indent="1cm")
    + "</text:list-level-style-number></text:list-style>\n"
)
COLUMNS = ('<style:style style:name="Cols" style:family="section"><style:section-properties>'
           '<style:columns fo:column-count="{n}" fo:column-gap="0.7cm"/></style:section-properties></style:style>\n')
SOFT_HYPHEN = "\u00ad"


def soft_hyphens(text: str, every: int = 3) -> str:
    """Latin words of eight letters or more with a soft hyphen every ``every`` letters (not in the
    first or last three), so LibreOffice may break them at a line end and print a hyphen there."""
    def split(m: re.Match[str]) -> str:
        w = m.group(0)
        cuts = list(range(3, len(w) - 2, every))
        return "".join(w[i:j] + (SOFT_HYPHEN if j < len(w) else "") for i, j in zip([0] + cuts, cuts + [len(w)]))
    return re.sub(r"(?<![\w-])[a-z]{8,}(?![\w-])", split, text)


def fodt(doc: Document, header: str = "", auto_numbers: bool = False, columns: int = 1,
         hyphenate: bool = False) -> str:
    """The document as a flat ODT (see the module docstring).

    ``auto_numbers``: paragraph numbers and (a) sub-items are list styles (LibreOffice draws
    them; Word files get ``w:numPr``), not typed text. ``columns``: the body (from the first
    heading or paragraph after the title page) is set in that many columns. ``hyphenate``:
    long Latin words carry soft hyphens (see ``soft_hyphens``), so lines end in hyphenated
    words the way a hyphenating layout prints them."""
    notes = {p.id: p for p in doc.passages if p.kind == FOOTNOTE}
    numbers = {pid: pid.split(":fn", 1)[1] for pid in notes}
    head = HEAD.format(title=escape(str(doc.meta.get("title", ""))), header=escape(header),
                       lang="en" if doc.meta.get("language") == "en" else "zh")
    extra = (LIST_STYLES if auto_numbers else "") + (COLUMNS.format(n=columns) if columns > 1 else "")
    head = head.replace("</office:automatic-styles>", extra + "</office:automatic-styles>")
    out = [head]
    section_index, shown = -1, []
    in_columns = False
    expected, sub_group = 1, ""
    hy = soft_hyphens if hyphenate else (lambda s: s)

    def text_of(p: Passage, text: str | None = None) -> str:
        return hy(_with_notes(p, notes, numbers, text))

    for p in doc.passages:
        if p.kind == FOOTNOTE:
            continue
        if columns > 1 and p.kind == BODY and not in_columns:
            out.append('<text:section text:style-name="Cols" text:name="Body">')
            in_columns = True
        if p.kind != FOOTNOTE and p.section_index != section_index and p.section:
            # the headings opened since the last passage
            same = 0
            while same < min(len(shown), len(p.section)) and shown[same] == p.section[same]:
                same += 1
            if same == len(p.section):
                same -= 1
            for level, sec in enumerate(p.section[same:], same + 1):
                title = f"{sec['num']}. {sec['title']}" if sec["num"] else sec["title"]
                out.append(f'<text:h text:style-name="Heading_20_{min(level, 3)}" '
                           f'text:outline-level="{level}">{escape(title)}</text:h>')
            section_index, shown = p.section_index, list(p.section)
        if p.kind != BODY:
            out.append(f'<text:p text:style-name="Front">{_with_notes(p, notes, numbers)}</text:p>')
            continue
        first = p.text.split("\n", 1)[0] if p.children else p.text
        if auto_numbers and p.parent and p.sub.isalpha():
            group = p.parent
            cont = f' text:continue-list="{sub_group}"' if group == sub_group.split("|", 1)[-1] and sub_group else ""
            if not cont:
                sub_group = f"sub{len(out)}|{group}"
            list_id = sub_group.split("|", 1)[0]
            attrs = f' text:continue-list="{list_id}"' if cont else f' xml:id="{list_id}"'
            out.append(f'<text:list text:style-name="LSub"{attrs}><text:list-item>'
                       f'<text:p text:style-name="Standard">{text_of(p)}</text:p></text:list-item></text:list>')
            continue
        if auto_numbers and p.number is not None and not p.parent:
            attrs = ' text:continue-list="paras"' if expected > 1 else ' xml:id="paras"'
            start = f' text:start-value="{p.number}"' if p.number != expected else ""
            expected = p.number + 1
            out.append(f'<text:list text:style-name="LNum"{attrs}><text:list-item{start}>'
                       f'<text:p text:style-name="Standard">{text_of(p, first)}</text:p></text:list-item></text:list>')
            continue
        if p.parent:
            marker = f"({p.sub})" if p.sub.isalpha() else "•"
            body = f"{marker} {text_of(p)}"
        elif p.number is not None:
            body = f"{p.number}.\u2002{text_of(p, first)}"
        else:
            body = text_of(p, first)
        out.append(f'<text:p text:style-name="Standard">{body}</text:p>')
    if in_columns:
        out.append("</text:section>")
    out.append(TAIL)
    return "\n".join(out)


def convert(src: Path, fmt: str, outdir: Path) -> Path:
    """``soffice --headless --convert-to fmt`` (its own profile folder, so runs don't collide)."""
    profile = outdir / ".lo-profile"
    env = dict(os.environ, HOME=str(outdir))
    subprocess.run(
        [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(outdir), str(src)],
        check=True, capture_output=True, timeout=180, env=env,
    )
    out = outdir / (src.stem + "." + fmt.split(":", 1)[0])
    assert out.exists(), f"LibreOffice made no {out.name}"
    return out


def convert_many(sources: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """``convert`` for several files in one LibreOffice run (one start-up instead of one each)."""
    profile = outdir / ".lo-profile"
    env = dict(os.environ, HOME=str(outdir))
    subprocess.run(
        [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(outdir), *map(str, sources)],
        check=True, capture_output=True, timeout=600, env=env,
    )
    outs = [outdir / (src.stem + "." + fmt.split(":", 1)[0]) for src in sources]
    missing = [o.name for o in outs if not o.exists()]
    assert not missing, f"LibreOffice made no {', '.join(missing)}"
    return outs


def overlap(a: str, b: str) -> float:
    """Character overlap of two passage texts, spaces ignored (1.0 = the same characters)."""
    a, b = re.sub(r"\s+", "", a), re.sub(r"\s+", "", b)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _english_offsets(zh: str, en: str, offsets: list[int]) -> list[int]:
    """Footnote marker positions moved from the Chinese text to its English translation: at the
    same share of the text, then on to the end of the word (markers follow words or punctuation)."""
    out = []
    for off in offsets:
        pos = min(len(en), round(off / max(1, len(zh)) * len(en)))
        while pos < len(en) and not en[pos].isspace():
            pos += 1
        out.append(pos)
    return out


_ROMAN = dict(zip("一二三四五六七八九十", ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")))


def english_document(doc_id: str, documents_dir: Path | None = None) -> Document:
    """A corpus document rewritten in English from its unofficial translation
    (``data/documents/en/``, ``headings_en.yml``): the same paragraphs, numbers, sub-items, sections
    and footnotes, English text, a title page with its symbol, English title and issuing body.
    An English UN document to add in tests and benchmarks (``fodt`` and ``convert`` make it a PDF).
    Passages without a translation (the Chinese title page) and the notes only they cite are left out."""
    import dataclasses

    from bot import corpus, translations

    documents_dir = documents_dir or Path(__file__).resolve().parent.parent / "data" / "documents"
    catalog = corpus.load_catalog(documents_dir)
    doc = corpus.load_document(documents_dir / f"{doc_id}.txt", catalog)
    english = translations.load(documents_dir, [doc_id])
    headings = translations.headings(documents_dir).get(doc_id, {})
    meta = dict(doc.meta, language="en", title=doc.meta.get("title_en") or doc.meta["title"])
    body_en = str(meta.get("issuing_body") or "").split("(")[-1].rstrip(")") if "(" in str(meta.get("issuing_body")) else ""
    front = [line for line in (meta.get("symbol"), body_en, meta["title"]) if line]
    passages = [Passage(id=f"{doc_id}:front-{i}", doc_id=doc_id, kind="front", text=str(line))
                for i, line in enumerate(front, 1)]
    for p in doc.passages:
        text = english.get(p.id, "")
        if not text:
            continue
        first = next((c for c in doc.passages if p.children and c.id == p.children[0]), None)
        if first is not None and first.sub.isalpha() and f"({first.sub}) " in text:
            # a translation runs the lead-in and its items together: the lead-in alone, then the
            # items on their own lines, as the original's parent paragraph holds them
            lead = text[:text.index(f"({first.sub}) ")].rstrip()
            items = [f"({c.sub}) {english.get(c.id, '')}" for c in doc.passages if c.id in p.children]
            text = "\n".join([lead, *items])
        section = [{"num": _ROMAN.get(s["num"], s["num"]), "title": headings.get(s["title"], s["title"])}
                   for s in p.section]
        passages.append(dataclasses.replace(p, text=text, section=section, text_en="",
                                            footnote_offsets=_english_offsets(p.text, text, p.footnote_offsets)))
    cited = {fid for p in passages for fid in p.footnotes}
    return Document(meta, [p for p in passages if p.kind != FOOTNOTE or p.id in cited])
