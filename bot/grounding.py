"""Grounding check: prove that a reply says nothing the documents do not say.

``problems(reply, engine)`` takes any typed reply of ``bot/answers.py`` or ``bot/safety.py``
and returns what is wrong with it (an empty list when it is grounded):

* every citation and quoted passage exists in the index, and citations and quotes agree;
  each citation line is the one ``bot/cite.py`` makes for that passage;
* every quote's passage is the corpus text and its English text the stored unofficial
  translation; its excerpt is part of the reading it shows, a shown translation is labelled
  as unofficial, and its footnotes are the passage's own;
* the lead is a reply template (``data/replies.yml``), the disclaimer is the one of
  ``data/disclaimer.yml``, and the reply's text is exactly the layout of these parts
  (``render.web_text``) — so no template or code path can slip a fact of its own into an
  answer;
* refusals, referrals and "not in the documents" carry no citations or quotes.

The tests run it over every answer of the evaluation sets.
"""

from __future__ import annotations

import re

from bot import answers, cite, render, script
from bot.reply import Reply
from bot.resources import Resources


_LEADS = ("lead", "lead_filtered", "lead_more", "lead_more_one", "source_lead", "paragraph_lead", "paragraph_unnumbered",
          "original_lead", "shown_lead")
_PLACEHOLDERS = ("first", "last", "total", "document", "label", "number", "citation")


def _template(engine: Resources, lang: str, key: str, traditional: bool = False) -> re.Pattern[str]:
    """A reply template as a pattern; each ``{placeholder}`` matches any text on one line
    (``traditional``: the template as a reader of traditional characters gets it)."""
    raw = engine.texts.t(lang, key, **{name: "\x00" for name in _PLACEHOLDERS})
    if traditional:
        raw = script.to_traditional(raw)
    return re.compile("^" + "[^\n]+".join(re.escape(p) for p in raw.split("\x00")) + "$")


def problems(reply: Reply, engine: Resources) -> list[str]:
    """What in ``reply`` is not grounded in the corpus (empty list: all of it is)."""
    idx = engine.index
    kind, lang = reply.kind, reply.lang
    out: list[str] = []
    if kind in ("refusal", "support", "no_answer"):
        if reply.citations or reply.quotes:
            out.append(f"{kind} carries citations or passages")
        near = reply.data.get("near") if kind == "no_answer" else None
        if near:   # the closest passage of a declined question: its citation and a verbatim sentence
            p = idx.passage(near["id"])
            if p is None:
                out.append(f"closest passage {near['id']} is not in the corpus")
            else:
                if near["citation"] != idx.citation(p, lang):
                    out.append(f"closest passage {p.id} is cited wrongly")
                if near["sentence"] not in (p.text_en if near["reading"] == "translation" else p.text):
                    out.append(f"the sentence quoted from {p.id} is not in it")
                if reply.text != engine.texts.t(lang, "no_answer_near", citation=near["citation"],
                                                sentence=near["sentence"]) and not reply.resolved_query:
                    out.append("the closest-passage reply is no reply template")
        return out
    if kind != "answer":
        return out
    if not reply.citations or [c.id for c in reply.citations] != [q.id for q in reply.quotes]:
        out.append("citations and passages differ")
    for c in reply.citations:
        p = idx.passage(c.id)
        if p is None:
            out.append(f"citation {c.id} is not in the corpus")
        elif c.doc_id != p.doc_id or c.paragraph != p.label:
            out.append(f"citation {c.id} names the wrong document or paragraph")
        elif c.citation != engine.index.citation(p, lang):
            out.append(f"citation line of {c.id} is not the passage's")
    label = engine.texts.t(lang, "translation_label")
    for q in reply.quotes:
        p = idx.passage(q.id)
        if p is None:
            out.append(f"passage {q.id} is not in the corpus")
            continue
        if q.passage.text != p.text:
            out.append(f"passage {q.id} is not the corpus text")
        if q.passage.text_en != p.text_en:
            out.append(f"passage {q.id} is not the stored translation")
        translated = q.shown == "translation"
        if translated and (not p.text_en or q.translation != "unofficial" or q.translation_note != label):
            out.append(f"translation of {q.id} is not labelled as unofficial")
        if q.excerpt and q.excerpt not in (p.text_en if translated else p.text):
            out.append(f"excerpt of {q.id} is not in the corpus text")
        if q.citation != engine.index.citation(p, lang):
            out.append(f"source line of {q.id} is not the passage's citation")
        notes = {n.id: n for n in idx.footnotes(p)}
        for n in q.notes:
            note = notes.get(n.id)
            if note is None or n.text != note.text or n.text_en != note.text_en or n.number != cite.note_label(n.id):
                out.append(f"footnote {n.id} of {q.id} is not the passage's")
            elif n.shown not in (note.text, note.text_en):
                out.append(f"footnote {n.id} of {q.id} shows text of its own")
    hant = reply.data.get("script") == "hant"
    conv = script.to_traditional if hant else str
    lines = reply.lead.split("\n")
    if reply.resolved_query:   # "Searching for: ..." — what the conversation made of the message
        if lines[0] != conv(engine.texts.t(lang, "searching_for", query=reply.resolved_query)):
            out.append("the line saying what was searched is no reply template")
        lines = lines[1:]
    first, *rest = lines
    if not any(_template(engine, lang, key, hant).match(first) for key in _LEADS):
        out.append(f"lead line is no reply template: {first[:60]!r}")
    notice = reply.data.get("notice")
    if rest != ([f"({notice})"] if notice and rest else []):
        out.append("lead carries text other than the search notice")
    if reply.disclaimer != conv(answers.disclaimer(engine, lang)):
        out.append("disclaimer differs from data/disclaimer.yml")
    if reply.source_label != tuple(conv(x) for x in engine.texts.source_label(lang)):
        out.append("source lines are no reply template")
    if reply.text != render.web_text(reply):
        out.append("unsourced text: the reply text is not exactly its quotes, sources and disclaimer")
    return out
