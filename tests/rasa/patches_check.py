"""Run by tests/test_patches.py with Rasa's Python (.venv-rasa): importing rasa_addons patches
nothing; ``patches.install()`` wraps each target once, checks the Rasa version and each target's
parameters, and skips (with a log line) what does not fit."""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil

import rasa
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.agent import Agent
from rasa.core.lock_store import RedisLockStore
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import Event

TARGETS = [(Agent, "handle_message"), (ActionExtractSlots, "run"), (RemoteAction, "run"), (RemoteAction, "_validate_action_result"),
           (RemoteAction, "_action_call_format"), (MessageProcessor, "_predict_next_with_tracker"),
           (Event, "resolve_by_type"), (RedisLockStore, "issue_ticket"), (RedisLockStore, "update_lock"),
           (RedisLockStore, "cleanup")]


def snapshot() -> list[object]:
    return [getattr(owner, name) for owner, name in TARGETS]


records: list[str] = []
logging.getLogger("rasa_addons.patches").addHandler(type("H", (logging.Handler,), {
    "emit": lambda self, record: records.append(record.getMessage())})())

before = snapshot()
import rasa_addons  # noqa: E402

for module in pkgutil.iter_modules(rasa_addons.__path__):
    if module.name not in ("serve", "preflight"):
        importlib.import_module(f"rasa_addons.{module.name}")
assert snapshot() == before, "importing rasa_addons changed Rasa"

from rasa_addons import patches  # noqa: E402

real = rasa.__version__
rasa.__version__ = "3.6.99"
assert patches.install() == [] and snapshot() == before and "not installed" in records[-1]
rasa.__version__ = real

bad = patches.Patch("bad", Agent, "handle_message", ("self", "message", "extra"), lambda f: f)
assert patches.install([bad]) == ["sqlite-wal", "log-redaction"] and "bad skipped" in records[-1]
assert snapshot() == before

first = patches.install()
after = snapshot()
assert all(a is not b for a, b in zip(after, before)), "every target is wrapped"
assert all(getattr(f, "__wrapped__", None) is not None for f in after)
second = patches.install()
assert second == first and snapshot() == after, "installing twice changes nothing"
assert Event.resolve_by_type("user") is Event.resolve_by_type("user")
print(json.dumps({"installed": first}))
