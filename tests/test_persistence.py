"""Conversations survive a restart: Rasa keeps them in a SQLite tracker store (endpoints.yml)."""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.stack import MODEL, RASA, ROOT, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not MODEL.exists(), reason="no trained Rasa model (run: make train)")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("persistence"))
    try:
        s.start_actions()
        yield s
    finally:
        s.stop()


def test_conversation_survives_a_rasa_restart(stack: Stack) -> None:
    token = secrets.token_hex(16)
    sender = uuid.uuid4().hex
    stack.start_rasa(api_token=token)
    assert stack.rasa is not None   # the token reaches Rasa, but not through the process list
    assert token.encode() not in Path(f"/proc/{stack.rasa.pid}/cmdline").read_bytes()
    stack.send("What do the documents say about 3D-printed guns?", sender)
    stack.send("tell me more", sender)
    stack.stop_rasa()
    assert Path(stack.env["TRACKER_DB"]).stat().st_size > 0
    stack.start_rasa(api_token=token)
    events = stack.tracker(sender, token)["events"]
    said = [e["text"] for e in events if e["event"] == "user"]
    assert said[:2] == ["What do the documents say about 3D-printed guns?", "tell me more"]
    assert any(e["event"] == "bot" and "A/CONF.234/11" in (e.get("text") or "") for e in events)
    # ... and the conversation continues where it was: "more" pages on from the restored slots
    reply = stack.send("more", sender)
    assert "passages 5–6" in reply[0]["text"] or "passages 5-6" in reply[0]["text"], reply[0]["text"][:200]


def test_the_launcher_takes_the_api_token_only_from_the_environment() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("serve", ROOT / "rasa_addons" / "serve.py")
    assert spec and spec.loader
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)   # without the package: its __init__ needs Rasa
    argv = serve.rasa_argv(["run", "--enable-api"], {"RASA_TOKEN": "t0ken"})
    assert argv == ["rasa", "run", "--enable-api", "--auth-token", "t0ken"]
    assert serve.rasa_argv(["run"], {}) == ["rasa", "run"]   # no API, no token needed
    with pytest.raises(SystemExit, match="RASA_TOKEN"):
        serve.rasa_argv(["run", "--enable-api"], {})
    with pytest.raises(SystemExit, match="not --auth-token"):
        serve.rasa_argv(["run", "--enable-api", "--auth-token", "t0ken"], {"RASA_TOKEN": "t0ken"})


def test_purge_deletes_conversations_idle_longer_than_n_days(stack: Stack) -> None:
    """On the store Rasa writes: a 1-day limit keeps today's conversations, a limit of 0 days
    (a minute from now) deletes them all; a missing or corrupt store is a clear error."""
    import time

    from bot import retention

    if stack.rasa is None or stack.rasa.poll() is not None:
        stack.start_rasa()
    db = Path(stack.env["TRACKER_DB"])
    sender = uuid.uuid4().hex
    stack.send("hello", sender)
    keep = retention.purge(1, db)
    assert keep.conversations == 0 and keep.kept >= 2
    preview = retention.purge(0, db, now=time.time() + 60, dry_run=True)
    assert preview.conversations == keep.kept and preview.events > 0
    done = retention.purge(0, db, now=time.time() + 60)
    assert (done.conversations, done.events, done.kept) == (preview.conversations, preview.events, 0)
    assert retention.purge(0, db).conversations == 0
    with pytest.raises(retention.RetentionError, match="no tracker store"):
        retention.purge(1, db.with_name("missing.db"))
    junk = db.with_name("junk.db")
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(retention.RetentionError, match="not a readable Rasa tracker store"):
        retention.purge(1, junk)


def test_cached_tracker_store_returns_what_the_database_holds(tmp_path: Path) -> None:
    """The in-memory tracker cache (rasa_addons/tracker_cache.py) never hides a write by another
    instance, a half-finished message or an evicted conversation (tests/rasa/tracker_cache_check.py)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    out = subprocess.run([str(RASA.parent / "python"), "tests/rasa/tracker_cache_check.py", str(tmp_path / "t.db")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
