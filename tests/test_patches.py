"""The Rasa patches are installed explicitly, checked against Rasa, and change no prediction."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.stack import MODEL, RASA, ROOT

PYTHON = RASA.parent / "python"
pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs .venv-rasa")


def run(*args: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    out = subprocess.run([str(PYTHON), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_patches_are_installed_only_on_request_and_only_where_they_fit() -> None:
    result = run("tests/rasa/patches_check.py")
    assert set(result["installed"]) >= {"limits", "resilience", "action-validator", "action-call", "prediction",
                                        "event-types", "ticket-mutex:issue_ticket", "sqlite-wal", "slot-values",
                                        "log-redaction"}


@pytest.mark.slow
@pytest.mark.skipif(not MODEL.exists(), reason="needs a trained model (make train)")
def test_the_shortened_tracker_predicts_as_the_full_one_on_the_test_stories() -> None:
    result = run("tests/rasa/prediction_check.py", str(MODEL), str(Path("tests") / "test_stories.yml"))
    assert result["compared"] >= 50 and result["shortened"] >= 20


def test_action_replies_are_accepted_and_rejected_as_rasa_does() -> None:
    """The per-event-type check (rasa_addons/performance.py) gives Rasa's verdict and error on
    valid replies (15 event types, a bot response with a payload) and on broken ones."""
    result = run("tests/rasa/validation_check.py")
    assert result["checked"] == 11


def test_slots_hold_only_values_their_domain_allows() -> None:
    """``/feedback{"rating": "<b>…</b>"}`` used to store markup in the categorical slot."""
    plain = run("tests/rasa/slots_check.py", "--plain")
    assert plain["markup_rating"] == {"rating": "<b>Jane Roe</b>"}   # what Rasa alone does
    checked = run("tests/rasa/slots_check.py")
    assert checked["valid_rating"] == {"rating": "up"} and checked["valid_topic"] == {"topic": "3D-printed guns"}
    for name in ("markup_rating", "unknown_rating", "huge_topic", "markup_topic", "object_document"):
        assert checked[name] == {}, name
