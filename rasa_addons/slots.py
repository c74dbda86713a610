"""Slots hold only values their domain allows, whatever a message claims.

Rasa fills slots from entities, and a user can type entities directly in Rasa's intent syntax
(``/feedback{"rating": "<b>…</b>"}``), so ``action_extract_slots`` would store any value in any
entity-mapped slot: markup in the categorical ``rating`` slot, a megabyte in ``topic``. This wraps
``ActionExtractSlots.run`` and drops each ``SlotSet`` whose value does not fit its slot (a
categorical slot: one of its values; a text slot: a string of at most ``MAX_SLOT_CHARS``
characters without markup or control characters; a float: a number; a list: a short list of
such strings; a bool: a bool). Values the actions set themselves are not affected. Nothing of
the value is logged, only the slot's name.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Awaitable, Callable, List, Text

log = logging.getLogger(__name__)

MAX_SLOT_CHARS = 200
MAX_LIST_ITEMS = 50
_UNSAFE = re.compile(r"[<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_SLOT_CHARS and not _UNSAFE.search(value)


def fits(slot: Any, value: Any) -> bool:
    """Whether ``value`` is one the domain's ``slot`` may hold (``None`` always may: a reset)."""
    from rasa.shared.core.constants import DEFAULT_CATEGORICAL_SLOT_VALUE
    from rasa.shared.core.slots import BooleanSlot, CategoricalSlot, FloatSlot, ListSlot, TextSlot

    if value is None:
        return True
    if isinstance(slot, CategoricalSlot):
        allowed = {v for v in slot.values if v != DEFAULT_CATEGORICAL_SLOT_VALUE}
        return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).lower() in allowed
    if isinstance(slot, TextSlot):
        return _short_text(value)
    if isinstance(slot, FloatSlot):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(slot, ListSlot):
        items = value if isinstance(value, list) else [value]
        return len(items) <= MAX_LIST_ITEMS and all(_short_text(v) for v in items)
    if isinstance(slot, BooleanSlot):
        return isinstance(value, bool)
    return True   # any-type slots keep Rasa's own handling


def only_fitting_values(run: Callable[..., Awaitable[List[Any]]]) -> Callable[..., Awaitable[List[Any]]]:
    """``ActionExtractSlots.run`` wrapped: ``SlotSet`` events whose value does not fit are dropped."""
    from rasa.shared.core.events import SlotSet

    @functools.wraps(run)
    async def run_with_checked_values(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        events = await run(self, output_channel, nlg, tracker, domain)
        slots = {slot.name: slot for slot in domain.slots}
        kept = []
        for event in events:
            if isinstance(event, SlotSet) and event.key in slots and not fits(slots[event.key], event.value):
                log.info("slot %s: a value that does not fit the slot was not set", event.key)
                continue
            kept.append(event)
        return kept

    return run_with_checked_values
