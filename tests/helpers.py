"""Small helpers shared by the tests."""

from __future__ import annotations

from typing import Any

from bot.engine import Engine
from bot.resources import Resources


def search_json(engine: Engine, query: Any, **kwargs: Any) -> dict[str, Any]:
    """The search result as the CLI prints it (``python -m bot search --json``)."""
    return engine.search(query, **kwargs).to_dict(engine.index)


def ask(engine: Resources, text: str, **kwargs: Any) -> dict[str, Any]:
    """The payload the action sends for a message (guard, then search)."""
    from bot import safety

    return safety.handle(engine, text, **kwargs).to_payload()
