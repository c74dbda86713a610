"""Grounding check: prove that a reply says nothing the documents do not say.

``problems(payload)`` takes any payload of ``bot/answers.py`` or ``bot/safety.py`` and returns
what is wrong with it (an empty list when it is grounded):

* every citation and passage id exists in the index, and citations and passages agree;
* every passage's ``text`` is the corpus text and its ``text_en`` the stored unofficial
  translation; its ``excerpt`` is part of the one it shows, and a shown translation is
  labelled as unofficial right under the quote;
* the rendered ``text`` is nothing but a reply template from ``data/replies.yml`` (lead line),
  quotes of those excerpts (with ``**`` marks and ``…`` only), one source line per passage
  and the disclaimer from ``data/disclaimer.yml`` — so no template or code path can slip a
  fact of its own into an answer;
* refusals and referrals carry no citations or passages.

The tests run it over every answer of the evaluation sets; ``make eval`` reports the count.
"""

from __future__ import annotations

import re
from typing import Any

from bot import answers, index as index_mod, render, search

_LEADS = ("lead", "lead_filtered", "lead_more", "source_lead", "paragraph_lead", "paragraph_unnumbered",
          "original_lead")


def _template(lang: str, key: str) -> re.Pattern[str]:
    """A reply template as a pattern; each ``{placeholder}`` matches any text on one line."""
    raw = answers.t(lang, key, **{name: "\x00" for name in _PLACEHOLDERS})
    return re.compile("^" + "[^\n]+".join(re.escape(p) for p in raw.split("\x00")) + "$")


_PLACEHOLDERS = ("first", "last", "total", "document", "label", "number", "citation")


def _unquote(block: list[str]) -> str:
    return "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in block)


def problems(payload: dict[str, Any], idx: index_mod.Index | None = None) -> list[str]:
    """What in ``payload`` is not grounded in the corpus (empty list: all of it is)."""
    idx = idx or search.get_index()
    kind, lang = payload.get("kind"), payload.get("lang", "en")
    out: list[str] = []
    citations, passages = payload.get("citations") or [], payload.get("passages") or []
    if kind in ("refusal", "support", "no_answer"):
        if citations or passages:
            out.append(f"{kind} carries citations or passages")
        return out
    if kind != "answer":
        return out
    if not citations or [c["id"] for c in citations] != [p["id"] for p in passages]:
        out.append("citations and passages differ")
    for c in citations:
        p = idx.passage(c["id"])
        if p is None:
            out.append(f"citation {c['id']} is not in the corpus")
        elif c.get("doc_id") != p.doc_id or str(c.get("paragraph")) != str(p.label):
            out.append(f"citation {c['id']} names the wrong document or paragraph")
    for e in passages:
        p = idx.passage(e["id"])
        if p is None:
            continue
        if e["text"] != p.text:
            out.append(f"passage {e['id']} is not the corpus text")
        if e.get("text_en", p.text_en) != p.text_en:
            out.append(f"passage {e['id']} is not the stored translation")
        translated = e.get("shown") == "translation"
        if translated and (not p.text_en or e.get("translation") != "unofficial"
                           or e.get("translation_note") != answers.t(lang, "translation_label")):
            out.append(f"translation of {e['id']} is not labelled as unofficial")
        if e.get("excerpt") and e["excerpt"] not in (p.text_en if translated else p.text):
            out.append(f"excerpt of {e['id']} is not in the corpus text")
    out += _text_problems(payload, passages, lang, idx)
    return out


def _text_problems(payload: dict[str, Any], passages: list[dict[str, Any]], lang: str,
                   idx: index_mod.Index) -> list[str]:
    """The rendered text decomposes into template lead, quotes, source lines and disclaimer."""
    text: str = payload.get("text", "")
    disclaimer = payload.get("disclaimer", "")
    if not disclaimer or not text.endswith(disclaimer):
        return ["answer does not end with the disclaimer"]
    if disclaimer != answers.disclaimer(lang, idx):
        return ["disclaimer differs from data/disclaimer.yml"]
    lines = text[: -len(disclaimer)].rstrip("\n").split("\n")
    lead = lines.pop(0)
    if not any(_template(lang, key).match(lead) for key in _LEADS):
        return [f"lead line is no reply template: {lead[:60]!r}"]
    if payload.get("notice") and lines and lines[0] == f"({payload['notice']})":
        lines.pop(0)
    out: list[str] = []
    sources = {e["id"]: answers.t(lang, "source", citation=e["citation"]) for e in passages}
    by_text = {e["id"]: render.shown_text(e) for e in passages}
    notes = {e["id"]: f"({e['translation_note']})" for e in passages if e.get("translation_note")}
    quote: list[str] = []
    seen: list[str] = []
    noted = False
    footnotes = {f"[{n['number']}] {n.get('shown') or n['text']}" for e in passages for n in e.get("footnotes", [])}
    for line in lines:
        if line.startswith(">"):
            quote.append(line)
            continue
        if quote and line in notes.values() and not noted:
            noted = True
            continue
        if line in sources.values():
            pid = next(k for k, v in sources.items() if v == line and k not in seen)
            body = _unquote(quote).replace("**", "").strip("…")
            if not quote or body not in by_text[pid]:
                out.append(f"quote before the source line of {pid} is not its corpus text")
            if noted != (pid in notes):
                out.append(f"translation note of {pid} missing or misplaced")
            seen.append(pid)
            quote = []
            noted = False
        elif line.strip() and line not in footnotes:
            out.append(f"unsourced line: {line[:60]!r}")
    if quote:
        out.append("a quote without a source line")
    if seen != [e["id"] for e in passages]:
        out.append("not every passage is quoted with its source line")
    return out
