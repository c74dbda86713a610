"""Typed replies: what the assistant says, before any channel lays it out.

``bot/answers.py`` and ``bot/safety.py`` build a ``Reply``; ``bot/render.py`` lays it out for
each channel (its ``text`` is the web layout, set by ``render.web_text``); ``bot/grounding.py``
checks it against the corpus; ``to_payload`` is its one JSON form, the ``custom`` message the
Rasa action sends and ``python -m bot ask --json`` prints::

    {"kind": "answer"|"no_answer"|"refusal"|"support"|"info", "lang", "text",
     "citations": [{"id", "doc_id", "doc_title", "doc_symbol", "section", "paragraph", "citation", "url"}],
     "passages": [{"id", "text", "text_en", "shown", "translation", "excerpt", "highlights", ...}],
     "disclaimer", "buttons", ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.conversation import Understood
from bot.corpus import Passage
from bot.search import Span

KINDS = ("answer", "no_answer", "refusal", "support", "info")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Citation:
    """Where a quoted passage comes from."""

    id: str
    doc_id: str
    doc_title: str
    doc_title_en: str
    doc_symbol: str
    section: str          # section number and innermost heading
    paragraph: str        # the document's own paragraph label
    citation: str         # the whole citation line
    url: str              # the original document (UN ODS, DOI), or ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "doc_id": self.doc_id, "doc_title": self.doc_title, "doc_title_en": self.doc_title_en,
                "doc_symbol": self.doc_symbol, "section": self.section, "paragraph": self.paragraph,
                "citation": self.citation, "url": self.url}


@dataclass(frozen=True)
class Note:
    """A footnote of a quoted passage, in the reading the passage is shown in."""

    id: str
    number: str
    text: str
    text_en: str
    shown: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "number": self.number, "text": self.text, "text_en": self.text_en, "shown": self.shown}


@dataclass(frozen=True)
class Quote:
    """A passage as the reply quotes it: which reading is shown, the excerpt, its highlights."""

    passage: Passage
    shown: str                                   # translation | original
    translation: str                             # unofficial | unavailable | ""
    translation_note: str
    excerpt: str
    truncated: bool
    highlights: tuple[Span, ...]
    highlights_en: tuple[Span, ...]
    excerpt_highlights: tuple[tuple[int, int], ...]
    citation: str
    section: str
    notes: tuple[Note, ...] = ()
    score: float | None = None

    @property
    def id(self) -> str:
        return self.passage.id

    @property
    def shown_text(self) -> str:
        """The whole text the excerpt was cut from (the translation or the original)."""
        return self.passage.text_en if self.shown == "translation" else self.passage.text

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "id": p.id, "doc_id": p.doc_id, "text": p.text, "text_en": p.text_en,
            "shown": self.shown, "translation": self.translation, "translation_note": self.translation_note,
            "excerpt": self.excerpt, "truncated": self.truncated,
            "highlights": [s.to_dict() for s in self.highlights],
            "highlights_en": [s.to_dict() for s in self.highlights_en],
            "excerpt_highlights": [list(s) for s in self.excerpt_highlights],
            "citation": self.citation, "section": self.section, "paragraph": p.label,
            "footnotes": [n.to_dict() for n in self.notes], "kind": p.kind, "score": self.score,
        }


@dataclass
class Reply:
    """One reply of the assistant (see the module docstring)."""

    kind: str
    lang: str
    text: str = ""                               # the web layout (render.web_text) or the plain reply
    lead: str = ""                               # answers: the line before the quotes
    quotes: list[Quote] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    disclaimer: str = ""
    buttons: list[Button] = field(default_factory=list)
    full: bool = False                           # passages shown in full, with their footnotes
    source_label: tuple[str, str] = ("", "")     # the words around a citation ("Source: ", "")
    data: dict[str, Any] = field(default_factory=dict)   # the payload's other fields
    understood: Understood | None = None         # how the message was read in its conversation
    resolved_query: str = ""                     # what was searched, when the conversation changed it

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown reply kind {self.kind!r}")

    def source_line(self, quote: Quote) -> str:
        before, after = self.source_label
        return f"{before}{quote.citation}{after}"

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind, "lang": self.lang, "text": self.text,
            "citations": [c.to_dict() for c in self.citations], "passages": [q.to_dict() for q in self.quotes],
            "disclaimer": self.disclaimer, "buttons": [b.to_dict() for b in self.buttons],
        }
        if self.lead:
            out["lead"] = self.lead
        if self.full:
            out["full"] = True
        if self.resolved_query:
            out["resolved_query"] = self.resolved_query
        if self.understood is not None:
            out["move"] = self.understood.move
        out.update(self.data)
        return out
