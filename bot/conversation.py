"""Conversation state: what the assistant remembers between turns.

Rasa keeps it in slots (``domain.yml``); the action reads them into a ``Context`` and writes
back what a reply changes (``actions/actions.py``). The CLI and the tests build one directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Context:
    """What the conversation remembers between turns."""

    lang: str | None = None          # the language of the conversation so far
    last_query: str | None = None    # the last question searched
    offset: int = 0                  # where "more" continues
    doc: str | None = None           # the active document filter (a document id)
    shown: list[str] = field(default_factory=list)   # passages shown last, in order
