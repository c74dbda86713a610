"""Conversation state: what the assistant remembers between turns.

Rasa keeps it in slots (``domain.yml``); the action reads them into a ``Context`` and writes
back the state a reply leaves (``bot/dialogue.py``'s ``after``, ``actions/actions.py``). The
CLI, the evaluation and the tests build one directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Understood:
    """What a message to the documents was taken to mean in its conversation (``bot/dialogue.py``)."""

    move: str                      # new | continue | switch | narrow | widen | shown | item | nothing
    query: str = ""                # what is searched ("" when nothing is)
    resolved: bool = False         # the conversation changed what is searched (the reply says so)
    doc: str | None = None         # the document filter in force
    prefer: frozenset[str] = frozenset()   # documents just discussed (a search prior)
    passages: tuple[str, ...] = ()         # for "shown" / "item": the passages meant
    reasons: tuple[str, ...] = ()          # why (for the evaluation and the debug log; no message text)


@dataclass
class Context:
    """What the conversation remembers between turns."""

    lang: str | None = None          # the language of the conversation so far
    last_query: str | None = None    # the last query searched (resolved with context)
    offset: int = 0                  # where "more" continues
    doc: str | None = None           # the active document filter (a document id)
    shown: list[str] = field(default_factory=list)   # passages shown last, in order
    topic: str | None = None         # the question that set the current topic
    last_kind: str | None = None     # the last reply's kind (answer, no_answer, refusal, ...)
    script: str = ""                 # hant when the user writes traditional characters

    @classmethod
    def from_slots(cls, get: Any) -> "Context":
        """A context from slot values (``get(name)``: Rasa's ``tracker.get_slot``)."""
        return cls(lang=get("lang"), last_query=get("last_query"), offset=int(get("offset") or 0),
                   doc=get("doc_filter") or None, shown=list(get("shown") or []), topic=get("topic_query") or None,
                   last_kind=get("last_kind"), script=get("script") or "")

    def to_slots(self) -> dict[str, Any]:
        """Slot values for this context (the inverse of ``from_slots``)."""
        return {"lang": self.lang, "last_query": self.last_query, "offset": float(self.offset),
                "doc_filter": self.doc, "shown": list(self.shown), "topic_query": self.topic,
                "last_kind": self.last_kind, "script": self.script}
