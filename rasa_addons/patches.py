"""The project's patches to Rasa, installed explicitly: ``install()``.

Only ``rasa_addons/serve.py`` (the launcher ``make start`` uses) calls it; importing anything in
``rasa_addons`` changes nothing, so ``rasa train``, ``rasa test`` and the NLU components see
Rasa as it is. Each patch wraps a Rasa function and calls the original; ``install`` checks
first that Rasa is the version the patches were written for and that each target still has
the parameters the wrapper expects, and logs and skips a patch that does not fit instead of
breaking Rasa. Installing twice is harmless.

| patch | target | why |
|---|---|---|
| limits | ``Agent.handle_message`` | per-sender rate limit and message size (``limits.py``) |
| slot-values | ``ActionExtractSlots.run`` | slots hold only values their domain allows (``slots.py``) |
| resilience | ``RemoteAction.run`` | "unavailable" reply instead of silence (``resilience.py``) |
| ticket-mutex | ``RedisLockStore.issue_ticket`` / ``update_lock`` / ``cleanup`` | one ticket at a time across instances (``locking.py``) |
| action-validator | ``RemoteAction._validate_action_result`` | validators built once, each event checked against its own type (``performance.py``) |
| action-call | ``RemoteAction._action_call_format`` | recent events only in action calls |
| prediction | ``MessageProcessor._predict_next_with_tracker`` | predict from the recent turns |
| event-types | ``Event.resolve_by_type`` | type-name table |
| sqlite-wal | SQLAlchemy ``connect`` event | WAL mode for SQLite tracker stores |
| log-redaction | ``logging`` record factory, ``warnings`` | no message text or sender id in logs (``bot/redact.py``) |
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable, List, Text, Tuple

log = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
_MARK = "__rasa_addons_patch__"


@dataclass(frozen=True)
class Patch:
    """Wrap ``owner.attribute`` (whose parameters must be ``params``) with ``wrap(original)``;
    ``source`` is where the original is taken from (default: ``owner``)."""

    name: Text
    owner: Any
    attribute: Text
    params: Tuple[Text, ...]
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
    static: bool = False
    source: Any = None


def patches() -> List[Patch]:
    """Every patch, with its target (imports Rasa)."""
    from rasa.core.actions.action import ActionExtractSlots, RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import Event

    from rasa_addons import limits, locking, performance, resilience, slots

    out = [
        Patch("limits", Agent, "handle_message", ("self", "message"), limits.within_limits),
        Patch("slot-values", ActionExtractSlots, "run", ("self", "output_channel", "nlg", "tracker", "domain"),
              slots.only_fitting_values),
        Patch("resilience", RemoteAction, "run", ("self", "output_channel", "nlg", "tracker", "domain"),
              resilience.apologise_when_unavailable),
        Patch("action-validator", RemoteAction, "_validate_action_result", ("self", "result"),
              performance.cached_validation),
        Patch("action-call", RemoteAction, "_action_call_format", ("self", "tracker", "domain"),
              performance.recent_action_call),
        Patch("prediction", MessageProcessor, "_predict_next_with_tracker", ("self", "tracker"),
              performance.recent_prediction),
        Patch("event-types", Event, "resolve_by_type", ("type_name", "default"), performance.cached_event_types,
              static=True),
    ]
    for name, params in (("issue_ticket", ("self", "conversation_id", "lock_lifetime")),
                         ("update_lock", ("self", "conversation_id")),
                         ("cleanup", ("self", "conversation_id", "ticket_number"))):
        out.append(Patch(f"ticket-mutex:{name}", RedisLockStore, name, params, locking.under_mutex, source=LockStore))
    return out


def _fits(patch: Patch, original: Callable[..., Any]) -> bool:
    try:
        params = tuple(inspect.signature(original).parameters)
    except (TypeError, ValueError):
        return False
    return params == patch.params


def install(candidates: List[Patch] | None = None) -> List[Text]:
    """Install the patches that fit the running Rasa; returns the names installed (or already
    in place). Nothing is installed on another Rasa version."""
    import rasa

    if rasa.__version__ != RASA_VERSION:
        log.warning("Rasa %s is running; rasa_addons patches were written for %s and are not installed "
                    "(rate limits, action-server fallback and the CPU savings are off)", rasa.__version__, RASA_VERSION)
        return []
    installed: List[Text] = []
    for patch in candidates if candidates is not None else patches():
        current = inspect.getattr_static(patch.owner, patch.attribute)
        current = current.__func__ if isinstance(current, staticmethod) else current
        if getattr(current, _MARK, None) == patch.name:
            installed.append(patch.name)
            continue
        original = getattr(patch.source or patch.owner, patch.attribute)
        if not _fits(patch, original):
            log.warning("rasa_addons patch %s skipped: %s.%s does not have the parameters %s",
                        patch.name, getattr(patch.owner, "__name__", patch.owner), patch.attribute, patch.params)
            continue
        wrapper = patch.wrap(original)
        setattr(wrapper, _MARK, patch.name)
        setattr(patch.owner, patch.attribute, staticmethod(wrapper) if patch.static else wrapper)
        installed.append(patch.name)
    _install_sqlite_wal()
    installed.append("sqlite-wal")
    from bot import redact

    redact.install()
    installed.append("log-redaction")
    return installed


def _install_sqlite_wal() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from rasa_addons import performance

    if not event.contains(Engine, "connect", performance.sqlite_wal):
        event.listen(Engine, "connect", performance.sqlite_wal)
