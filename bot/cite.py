"""Citations: document / section / paragraph in English or Chinese, from catalog metadata.

Every citation the assistant shows is formatted here: the citation line of an answer, the
paragraph viewer's, the CLI's; the label of a footnote; the link to the original document.
"""

from __future__ import annotations

import re
from typing import Any

from bot.corpus import CN_NUMERALS, Passage, chinese_to_int

_ROMAN = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def roman(n: int) -> str:
    out = ""
    for value, sym in _ROMAN:
        while n >= value:
            out += sym
            n -= value
    return out


def format_date(date: str, lang: str) -> str:
    """``2021-07-23`` → ``23 July 2021`` / ``2021年7月23日``; ``2026-01`` → ``January 2026``."""
    m = re.match(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$", date or "")
    if not m:
        return date or ""
    y, mo, d = m.group(1), m.group(2), m.group(3)
    if lang == "zh":
        return f"{y}年" + (f"{int(mo)}月" if mo else "") + (f"{int(d)}日" if d else "")
    if mo and d:
        return f"{int(d)} {_MONTHS[int(mo) - 1]} {y}"
    if mo:
        return f"{_MONTHS[int(mo) - 1]} {y}"
    return y


def section_number(section: list[dict[str, str]], lang: str) -> str:
    """``二 / C / 3`` → ``II.C.3`` (EN) or ``二.C.3`` (ZH); empty when headings are unnumbered."""
    nums = [s["num"] for s in section if s.get("num")]
    if not nums:
        return ""
    if lang == "zh":
        return ".".join(nums)
    out = []
    for i, num in enumerate(nums):
        if all(c in CN_NUMERALS for c in num):
            value = chinese_to_int(num)
            out.append(roman(value) if i == 0 else str(value))
        else:
            out.append(num)
    return ".".join(out)


def section_label(section: list[dict[str, str]], lang: str) -> str:
    """Section number plus the innermost heading, e.g. ``§II.C.3 增材制造（3D打印）``."""
    if not section:
        return ""
    number = section_number(section, lang)
    title = section[-1]["title"]
    if number:
        return f"§{number} {title}" if lang != "zh" else f"{number} {title}"
    return " › ".join(s["title"] for s in section)


# where a passage that is not a body paragraph sits, as citations name it (English, Chinese)
PART_LABELS = {"front": ("title page", "封面"), "back": ("back matter", "封底"), "credits": ("credits", "署名"),
               "caption": ("figure note", "图注"), "keywords": ("keywords", "关键词")}


def paragraph_label(p: Passage, lang: str, cited_by: str = "") -> str:
    """``para. 82(e)`` / ``第82(e)段``; per-section ordinals say so. A footnote is
    ``footnote 42 (to para. 33)`` (``cited_by``: the label of the paragraph citing it), a
    reference ``reference 3``, other parts by name (``title page``, ``figure note``)."""
    zh = lang == "zh"
    if p.kind == "footnote":
        number = note_label(p.id)
        if zh:
            return f"脚注{number}" + (f"（{cited_by}）" if cited_by else "")
        return f"footnote {number}" + (f" (to {cited_by})" if cited_by else "")
    if p.kind == "reference":
        return f"参考文献第{p.ordinal}条" if zh else f"reference {p.ordinal}"
    if p.kind in PART_LABELS:
        return PART_LABELS[p.kind][1 if zh else 0]
    if p.number is None:
        if p.ordinal is None:
            return ""
        return f"para. {p.ordinal} of the section" if lang != "zh" else f"本节第{p.ordinal}段"
    if p.sub and not p.sub.isalpha():
        return f"para. {p.number}, item {p.sub}" if lang != "zh" else f"第{p.number}段第{p.sub}项"
    label = f"{p.number}({p.sub})" if p.sub else str(p.number)
    return f"para. {label}" if lang != "zh" else f"第{label}段"


def document_label(meta: dict[str, Any], lang: str) -> str:
    """``A/CONF.234/11 (UN Crime Congress background paper)`` or the short title with its date."""
    short = (meta.get("short_zh") if lang == "zh" else meta.get("short_en")) or meta.get("title") or meta.get("id", "")
    symbol = meta.get("symbol") or ""
    date = format_date(str(meta.get("date") or ""), lang)
    if lang == "zh":
        head = f"{symbol}（{short}" if symbol else f"{short}（"
        inner = "，".join(x for x in [date] if x)
        return (head + ("，" + inner if inner and symbol else inner) + "）").replace("（）", "")
    inner = ", ".join(x for x in [short if symbol else "", date] if x)
    head = symbol or short
    return f"{head} ({inner})" if inner else head


def english_section(section: list[dict[str, str]], headings_en: dict[str, str] | None) -> list[dict[str, str]]:
    """The section path with English renderings of its headings where known."""
    names = headings_en or {}
    return [dict(s, title=names.get(s["title"], s["title"])) for s in section]


def citation(p: Passage, meta: dict[str, Any], lang: str = "en",
             headings_en: dict[str, str] | None = None, cited_by: str = "") -> str:
    """One citation line for a passage (without the "Source:" lead); English citations use
    the English section headings of the document (``headings_en``) where known. Body paragraphs
    name their section; footnotes name the paragraph citing them (``cited_by``, its label)."""
    section = p.section if lang == "zh" else english_section(p.section, headings_en)
    in_section = section_label(section, lang) if p.kind in ("body", "caption") else ""
    parts = [document_label(meta, lang), in_section, paragraph_label(p, lang, cited_by)]
    if p.page:
        parts.append(f"p. {p.page}" if lang != "zh" else f"第{p.page}页")
    sep = "，" if lang == "zh" else ", "
    return sep.join(x for x in parts if x)


def document_url(meta: dict[str, Any]) -> str:
    """Where the original can be checked: the UN Official Document System for a UN symbol
    (Chinese version), doi.org for a DOI; empty when the document states neither."""
    symbol, doi = str(meta.get("symbol") or ""), str(meta.get("doi") or "")
    if re.fullmatch(r"[A-Z]+(?:/[A-Za-z0-9.()-]+)+", symbol):
        return f"https://undocs.org/zh/{symbol}"
    if doi.startswith("10."):
        return f"https://doi.org/{doi}"
    return ""


def note_label(note_id: str) -> str:
    """The number a footnote or reference is shown with: ``12`` for ``doc:fn12``, ``*`` for
    ``doc:fnstar``, ``ref 3`` for a reference-list entry ``doc:reference3``."""
    label = note_id.rsplit(":", 1)[-1].replace("fn", "").replace("reference", "ref ")
    return "*" if label == "star" else label
