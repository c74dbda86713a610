"""Wrappers that keep Rasa 3.6's per-message CPU time down (measured with py-spy under
``make load``; figures in docs/performance.md). Behaviour is unchanged. Each wraps the
original Rasa function and calls it; ``rasa_addons.patches.install`` puts them in place.

* Action-server replies are validated with validators built once. Rasa calls
  ``jsonschema.validate(result, schema)``, which re-checks the large schema itself and builds
  a new validator on every call: a quarter of the Rasa process's CPU time under load. And the
  schema checks each event against a ``oneOf`` of its 23 event types, about 1.4 ms a reply
  even with a built validator; each event is checked against its own type's branch instead
  (the branches differ in their ``event`` constant, so ``oneOf`` holds exactly when that branch
  does). A reply these checks reject, or an event of no known type, goes to Rasa's own check,
  which raises its usual error.
* Event classes are looked up by type name in a table filled from Rasa's own lookup. Rasa
  walks every ``Event`` subclass for every event it reads back from the tracker store (about
  a tenth of the CPU time).
* The action server gets the conversation's recent events, not all of them. Rasa serialises the
  whole tracker into every action call; with answer payloads in the bot events that grows to
  megabytes over a long conversation, encoded by Rasa and decoded by the action server each
  time. The actions read the slots, the latest message and the last few user messages
  (``actions/actions.py``), so the call carries the events from the ``ACTION_CALL_USER_TURNS``
  (4) latest user messages on (Rasa's own call format, given a copy of the tracker holding
  only those events); slots, latest message and input channel are complete as before.
* The policies predict from the conversation's recent turns. Rasa featurises the whole
  conversation for every prediction (two or three per message, for RulePolicy and
  MemoizationPolicy each), so the cost grows with every turn. In this assistant no slot
  influences the conversation and there are no forms, so a turn's state is its intent,
  entities and previous action alone, and the rules (one turn) and the memorised stories
  (``max_history: 3``) look back at most three turns: the policies get a tracker rebuilt
  from the events of the last ``PREDICTION_USER_TURNS`` (6) user turns, which yields the
  same predictions (``tests/rasa/prediction_check.py`` compares both on the test stories). A
  domain with an influencing slot or a form gets the whole tracker.
* SQLite tracker stores run in WAL mode with ``synchronous=NORMAL``: one fsync per checkpoint
  instead of per saved turn, and readers (``bot purge``, the HTTP API) never block a writer.
  A crashed process loses nothing; only a power cut can lose the last turns.
"""

from __future__ import annotations

import copy
import functools
import sqlite3
from collections import deque
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, Type

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions import action as rasa_action
from rasa.core.processor import MessageProcessor
from rasa.shared.core import events as rasa_events
from rasa.shared.core.trackers import DialogueStateTracker

ACTION_CALL_USER_TURNS = 4
PREDICTION_USER_TURNS = 6


def _reply_validators(schema: Dict[Text, Any]) -> Tuple[Any, Dict[Text, Any]]:
    """A validator for the reply without the events' ``oneOf``, and one per event type."""
    cls = validator_for(schema)
    cls.check_schema(schema)
    reply = copy.deepcopy(schema)
    item = reply["properties"]["events"]["items"]
    branches = item.pop("oneOf")
    by_type = {branch["properties"]["event"]["const"]: cls(branch) for branch in branches}
    return cls(reply), by_type


def cached_validation(validate: Callable[..., bool]) -> Callable[..., bool]:
    """``RemoteAction._validate_action_result`` with validators built once, each event checked
    against its own type's schema."""
    state: Dict[Text, Any] = {}

    @functools.wraps(validate)
    def validate_action_result(self: rasa_action.RemoteAction, result: Dict[Text, Any]) -> bool:
        if "validators" not in state:
            state["validators"] = _reply_validators(self.action_response_format_spec())
        reply, by_type = state["validators"]
        try:
            reply.validate(result)
            for event in result.get("events") or []:
                branch = by_type.get(event.get("event"))
                if branch is None:
                    return validate(self, result)
                branch.validate(event)
            return True
        except ValidationError:
            return validate(self, result)   # Rasa's own check raises its usual error

    return validate_action_result


def cached_event_types(resolve: Callable[..., Any]) -> Callable[..., Any]:
    """``Event.resolve_by_type`` remembering each type name Rasa's lookup found."""
    found: Dict[Text, Type[rasa_events.Event]] = {}

    @functools.wraps(resolve)
    def resolve_by_type(type_name: Text, default: Optional[Type[rasa_events.Event]] = None
                        ) -> Optional[Type[rasa_events.Event]]:
        cls = found.get(type_name)
        if cls is None:
            cls = resolve(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    return resolve_by_type


def _nth_last_user_turn(events: List[Any], n: int) -> Optional[int]:
    """Index of the ``n``-th last user message in ``events``; None if there are fewer."""
    seen = 0
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], rasa_events.UserUttered):
            seen += 1
            if seen == n:
                return i
    return None


def recent_events(tracker: DialogueStateTracker, user_turns: int) -> DialogueStateTracker:
    """A shallow copy of ``tracker`` whose events start at its ``user_turns``-th last user
    message (slots, latest message and everything else as they are)."""
    events = list(tracker.events)
    short = copy.copy(tracker)
    short.events = deque(events[_nth_last_user_turn(events, user_turns) or 0:])
    return short


def recent_action_call(action_call_format: Callable[..., Dict[Text, Any]]) -> Callable[..., Dict[Text, Any]]:
    """``RemoteAction._action_call_format`` for the conversation's recent events only."""

    @functools.wraps(action_call_format)
    def action_call_format_recent(self: rasa_action.RemoteAction, tracker: DialogueStateTracker,
                                  domain: Any) -> Dict[Text, Any]:
        return action_call_format(self, recent_events(tracker, ACTION_CALL_USER_TURNS), domain)

    return action_call_format_recent


def _history_matters(domain: Any) -> bool:
    """Whether states depend on more than the turn itself (influencing slots, forms)."""
    cached = getattr(domain, "_policy_assistant_history_matters", None)
    if cached is None:
        cached = bool(domain.form_names) or any(s.influence_conversation for s in domain.slots)
        setattr(domain, "_policy_assistant_history_matters", cached)
    return cached


def recent_tracker(tracker: DialogueStateTracker, domain: Any) -> DialogueStateTracker:
    """The tracker the policies predict from: rebuilt from the events of the last
    ``PREDICTION_USER_TURNS`` user turns (the whole tracker when history matters)."""
    if tracker.followup_action or _history_matters(domain):
        return tracker
    events = list(tracker.events)
    cut = _nth_last_user_turn(events, PREDICTION_USER_TURNS)
    if cut is None:
        return tracker
    while cut > 0 and not isinstance(events[cut], rasa_events.ActionExecuted):
        cut -= 1   # start at the action before that user turn (normally action_listen)
    return DialogueStateTracker.from_events(tracker.sender_id, events[cut:], domain.slots, domain=domain)


def recent_prediction(predict: Callable[..., Any]) -> Callable[..., Any]:
    """``MessageProcessor._predict_next_with_tracker`` on the last turns only."""

    @functools.wraps(predict)
    def predict_next_with_recent_tracker(self: MessageProcessor, tracker: DialogueStateTracker) -> Any:
        return predict(self, recent_tracker(tracker, self.domain))

    return predict_next_with_recent_tracker


def sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    """SQLAlchemy ``connect`` listener: SQLite in WAL mode with ``synchronous=NORMAL``."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
