"""What the answering stages need from an engine, as a protocol (``bot/engine.py`` provides it).

``bot/answers.py``, ``bot/safety.py`` and ``bot/grounding.py`` are written against this, not
against the engine, so the engine can call them without an import cycle, and a test can hand
them anything that has these parts.
"""

from __future__ import annotations

from typing import Protocol

from bot.config import Settings
from bot.guard import Guard
from bot.index import Index
from bot.language import Glossary
from bot.search import Searcher
from bot.texts import Texts


class Resources(Protocol):
    """The loaded parts of an engine."""

    settings: Settings

    @property
    def index(self) -> Index: ...

    @property
    def texts(self) -> Texts: ...

    @property
    def glossary(self) -> Glossary: ...

    @property
    def searcher(self) -> Searcher: ...

    @property
    def guard(self) -> Guard: ...
