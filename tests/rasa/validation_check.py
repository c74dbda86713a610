"""Run by tests/test_patches.py with Rasa's Python (.venv-rasa): the action-reply check of
``rasa_addons/performance.py`` (each event against its own type's schema) accepts exactly the
replies Rasa's own check accepts, and rejects the others with Rasa's own error."""

from __future__ import annotations

import json
import time

from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events as ev

from rasa_addons import performance

EVENTS = [ev.SlotSet("lang", "zh"), ev.SlotSet("shown", ["a-conf-234-11:28"]), ev.ActionExecuted("action_listen"),
          ev.UserUttered("hi", {"name": "greet", "confidence": 0.9}), ev.BotUttered("x", {"buttons": []}),
          ev.FollowupAction("action_listen"), ev.Restarted(), ev.AllSlotsReset(), ev.SessionStarted(),
          ev.ActiveLoop(None), ev.ConversationPaused(), ev.ConversationResumed(), ev.UserUtteranceReverted(),
          ev.ActionReverted(), ev.EntitiesAdded([{"entity": "document", "value": "x"}])]
RESPONSE = {"text": "答：" + "x" * 800, "buttons": [{"title": "More", "payload": "/more_results"}], "elements": [],
            "custom": {"kind": "answer", "passages": [{"text": "y" * 500}]}, "image": None, "attachment": None,
            "template": None, "response": None}
VALID = [{"events": [e.as_dict() for e in EVENTS], "responses": [RESPONSE]},
         {"events": [], "responses": []}, {"events": [ev.SlotSet("lang", "en").as_dict()]}, {}]
INVALID = [{"events": [{"event": "slot", "name": 3}]},                       # a slot name that is no string
           {"events": [{"event": "no_such_event"}]},                          # a type Rasa does not know
           {"events": [{"name": "lang"}]},                                    # no type at all
           {"events": "slot"}, {"events": [[]]},                              # not a list, not an event
           {"responses": "hello"},                                            # responses not a list
           {"events": [{"event": "user", "text": 5}]}]

original = RemoteAction._validate_action_result
patched = performance.cached_validation(original)
action = RemoteAction("action_search_documents", None)


def outcome(check, reply):
    try:
        return check(action, reply)
    except ValidationError as exc:
        return "rejected: " + exc.message.split(".")[0]


for reply in VALID + INVALID:
    assert outcome(patched, reply) == outcome(original, reply), (reply, outcome(patched, reply), outcome(original, reply))
assert all(outcome(original, r) is True for r in VALID)
assert all(outcome(original, r) is not True for r in INVALID)

timing = {}
for name, check in (("rasa", original), ("patched", patched)):
    t = time.perf_counter()
    for _ in range(50):
        check(action, VALID[0])
    timing[name] = round((time.perf_counter() - t) / 50 * 1000, 3)
print(json.dumps({"checked": len(VALID) + len(INVALID), "ms_per_reply": timing}))
