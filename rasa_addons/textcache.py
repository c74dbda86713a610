"""A bounded per-process cache of what a deterministic NLU step computes from a message text.

Greetings, "tell me more" and the suggested questions arrive again and again; their USE vector
and intent probabilities are the same each time. ``NLU_CACHE_SIZE`` texts are kept (default
4096, least recently used dropped first; 0 keeps none).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Callable, Hashable, List, Sequence


class TextCache:
    """Least-recently-used results of ``compute(texts) -> one result per text``."""

    def __init__(self, size: int | None = None) -> None:
        self.size = int(os.environ.get("NLU_CACHE_SIZE", "4096")) if size is None else size
        self._items: "OrderedDict[Hashable, Any]" = OrderedDict()

    def get_many(self, texts: Sequence[Hashable], compute: Callable[[List[Hashable]], Sequence[Any]]) -> List[Any]:
        """One result per text: cached ones as they are, the rest from one ``compute`` call."""
        known = {t: self._items[t] for t in texts if t in self._items}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, compute(missing)))
        for text, value in known.items():
            self._items[text] = value
            self._items.move_to_end(text)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return [known[t] for t in texts]

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
