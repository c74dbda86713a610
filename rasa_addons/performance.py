"""Patches that keep Rasa 3.6's per-message CPU time down (measured with py-spy under
``make load``; figures in docs/performance.md). Behaviour is unchanged.

* Action-server replies are validated with a validator built once. Rasa calls
  ``jsonschema.validate(result, schema)``, which re-checks the large schema itself and builds
  a new validator on every call: a quarter of the Rasa process's CPU time under load.
* Event classes are looked up by type name in a table. Rasa walks every ``Event`` subclass
  for every event it reads back from the tracker store (about a tenth of the CPU time).
* The action server gets the conversation's recent events, not all of them. Rasa serialises the
  whole tracker into every action call; with answer payloads in the bot events that grows to
  megabytes over a long conversation, encoded by Rasa and decoded by the action server each
  time. The actions read the slots, the latest message and the last few user messages
  (``actions/actions.py``), so the call carries the events from the ``ACTION_CALL_USER_TURNS``
  (4) latest user messages on; slots, latest message and input channel are complete as before.
* The policies predict from the conversation's recent turns. Rasa featurises the whole
  conversation for every prediction (two or three per message, for RulePolicy and
  MemoizationPolicy each), so the cost grows with every turn. In this assistant no slot
  influences the conversation and there are no forms, so a turn's state is its intent,
  entities and previous action alone, and the rules (one turn) and the memorised stories
  (``max_history: 3``) look back at most three turns: the policies get a tracker rebuilt
  from the events of the last ``PREDICTION_USER_TURNS`` (6) user turns, which yields the
  same predictions. A domain with an influencing slot or a form gets the whole tracker.
* SQLite tracker stores run in WAL mode with ``synchronous=NORMAL``: one fsync per checkpoint
  instead of per saved turn, and readers (``bot purge``, the HTTP API) never block a writer.
  A crashed process loses nothing; only a power cut can lose the last turns.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Dict, List, Optional, Text, Type

import rasa
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions import action as rasa_action
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core import events as rasa_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from sqlalchemy import event
from sqlalchemy.engine import Engine

_validator: Any = None


def _validate_action_result(self: rasa_action.RemoteAction, result: Dict[Text, Any]) -> bool:
    global _validator
    if _validator is None:
        schema = self.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    try:
        _validator.validate(result)
        return True
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your response from "
                      f"the Action endpoint is valid. For more information about the format visit "
                      f"{DOCS_BASE_URL}/custom-actions")
        raise e


_event_types: Dict[Text, Type[rasa_events.Event]] = {}


def _resolve_by_type(type_name: Text, default: Optional[Type[rasa_events.Event]] = None
                     ) -> Optional[Type[rasa_events.Event]]:
    """``Event.resolve_by_type`` with a table; rebuilt on a miss (a class imported later)."""
    found = _event_types.get(type_name)
    if found is None:
        for cls in all_subclasses(rasa_events.Event):   # first match wins, as in Rasa
            _event_types.setdefault(cls.type_name, cls)
        found = _event_types.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


ACTION_CALL_USER_TURNS = 4


def _nth_last_user_turn(events: List[Any], n: int) -> Optional[int]:
    """Index of the ``n``-th last user message in ``events``; None if there are fewer."""
    seen = 0
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], rasa_events.UserUttered):
            seen += 1
            if seen == n:
                return i
    return None


def _action_call_format(self: rasa_action.RemoteAction, tracker: Any, domain: Any) -> Dict[Text, Any]:
    """Rasa's action-call body with the tracker's recent events only (see the module docstring)."""
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    events = list(tracker.events)
    state["events"] = [e.as_dict() for e in events[_nth_last_user_turn(events, ACTION_CALL_USER_TURNS) or 0:]]
    result = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state,
              "version": rasa.__version__}
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        result["domain"] = domain.as_dict()
    return result


PREDICTION_USER_TURNS = 6
_predict_full = MessageProcessor._predict_next_with_tracker


def _history_matters(domain: Any) -> bool:
    """Whether states depend on more than the turn itself (influencing slots, forms)."""
    cached = getattr(domain, "_policy_assistant_history_matters", None)
    if cached is None:
        cached = bool(domain.form_names) or any(s.influence_conversation for s in domain.slots)
        setattr(domain, "_policy_assistant_history_matters", cached)
    return cached


def _predict_next_with_recent_tracker(self: MessageProcessor, tracker: Any) -> Any:
    """``_predict_next_with_tracker`` on the last turns only (see the module docstring)."""
    if tracker.followup_action or _history_matters(self.domain):
        return _predict_full(self, tracker)
    events = list(tracker.events)
    cut = _nth_last_user_turn(events, PREDICTION_USER_TURNS)
    if cut is None:
        return _predict_full(self, tracker)
    while cut > 0 and not isinstance(events[cut], rasa_events.ActionExecuted):
        cut -= 1   # start at the action before that user turn (normally action_listen)
    recent = DialogueStateTracker.from_events(tracker.sender_id, events[cut:], self.domain.slots, domain=self.domain)
    return _predict_full(self, recent)


@event.listens_for(Engine, "connect")
def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


rasa_action.RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
rasa_action.RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
MessageProcessor._predict_next_with_tracker = _predict_next_with_recent_tracker  # type: ignore[method-assign]
rasa_events.Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign]
