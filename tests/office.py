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


def fodt(doc: Document, header: str = "") -> str:
    """The document as a flat ODT (see the module docstring)."""
    notes = {p.id: p for p in doc.passages if p.kind == FOOTNOTE}
    numbers = {pid: pid.split(":fn", 1)[1] for pid in notes}
    out = [HEAD.format(title=escape(str(doc.meta.get("title", ""))), header=escape(header),
                       lang="en" if doc.meta.get("language") == "en" else "zh")]
    section_index, shown = -1, []
    for p in doc.passages:
        if p.kind == FOOTNOTE:
            continue
        if p.kind == BODY and p.section_index != section_index and p.section:
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
        if p.parent:
            marker = f"({p.sub})" if p.sub.isalpha() else "•"
            body = f"{marker} {_with_notes(p, notes, numbers)}"
        elif p.number is not None:
            body = f"{p.number}.\u2002{_with_notes(p, notes, numbers, first)}"
        else:
            body = _with_notes(p, notes, numbers, first)
        out.append(f'<text:p text:style-name="Standard">{body}</text:p>')
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


def overlap(a: str, b: str) -> float:
    """Character overlap of two passage texts, spaces ignored (1.0 = the same characters)."""
    a, b = re.sub(r"\s+", "", a), re.sub(r"\s+", "", b)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
