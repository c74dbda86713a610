"""While the index is being rebuilt (by another process or thread), a question gets "being
rebuilt; about N s left" at once instead of waiting for the build (#19 finding 4)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot import config, guard, index
from bot.conversation import Context
from bot.engine import Engine
from tests.fakes import FakeEncoder

ROOT = Path(__file__).resolve().parent.parent
LEFT = re.compile(r"being rebuilt; about (\d+) s left\. Please ask again shortly\.")
LEFT_ZH = re.compile(r"文件索引正在重建，大约还需 (\d+) 秒")

HOLD = """
import sys
from bot import config, guard, index
settings = config.Settings.from_env()
with index.build_lock(settings):
    print("locked", flush=True)
    sys.stdin.read()   # until the test closes it
"""

pytestmark = pytest.mark.chaos   # part of the fault suite (make chaos)


def _damaged_index(settings: config.Settings, build_seconds: float) -> None:
    """A built index whose last build took ``build_seconds``, then one file truncated."""
    index.ensure(settings, progress=False, encoder_factory=FakeEncoder)
    manifest_path = settings.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["build_seconds"] = build_seconds
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    damaged = settings.index_dir / "original-sentences-0.faiss"
    damaged.write_bytes(damaged.read_bytes()[:100])


@pytest.fixture(autouse=True)
def quick_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard trained on a few examples of each label (the guard is not what is tested here)."""
    texts, labels = guard.training_examples(ROOT)
    few = [i for label in guard.LABELS for i in [j for j, x in enumerate(labels) if x == label][:15]]
    monkeypatch.setattr(guard, "training_examples", lambda root: ([texts[i] for i in few], [labels[i] for i in few]))


def test_question_while_another_process_rebuilds_gets_the_rebuilding_reply_at_once(
        small_settings: config.Settings) -> None:
    _damaged_index(small_settings, build_seconds=90)
    env = {**os.environ, "BOT_INDEX_DIR": str(small_settings.index_dir),
           "BOT_DOCUMENTS_DIR": str(small_settings.documents_dir), "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env=env, cwd=ROOT, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        time.sleep(1.0)
        engine = Engine(small_settings, encoder_factory=FakeEncoder)
        started = time.perf_counter()
        reply = engine.handle("How do traffickers use cryptocurrency?", Context())
        assert time.perf_counter() - started < 3
        assert reply.kind == "info" and reply.data["status"] == "rebuilding"
        left = LEFT.search(reply.text)
        assert left and 80 <= int(left.group(1)) <= 89, reply.text   # 90 s build, started over a second ago
        zh = engine.handle("人贩子如何利用加密货币？", Context())
        assert LEFT_ZH.search(zh.text) and zh.lang == "zh", zh.text
    finally:
        if holder.stdin:
            holder.stdin.close()
        holder.wait(30)
    # the lock released (the holder built nothing): the next question rebuilds and is answered
    reply = engine.handle("How do traffickers use cryptocurrency?", Context())
    assert reply.kind != "info" or not LEFT.search(reply.text)
    assert index.status(small_settings)[0] == "current"


def test_question_while_this_process_rebuilds_gets_the_rebuilding_reply(small_settings: config.Settings) -> None:
    """The action server's warm-up thread rebuilds; a request in another thread does not wait."""
    _damaged_index(small_settings, build_seconds=30)

    def slow_factory(name: str) -> FakeEncoder:
        time.sleep(1.5)
        return FakeEncoder(name)

    engine = Engine(small_settings, encoder_factory=FakeEncoder, build_encoder_factory=slow_factory)
    warm = threading.Thread(target=lambda: engine.index)
    warm.start()
    deadline = time.time() + 20
    while index.rebuilding(small_settings) is None:
        assert time.time() < deadline, "the build never started"
        time.sleep(0.05)
    started = time.perf_counter()
    reply = engine.handle("How do traffickers use cryptocurrency?", Context())
    assert time.perf_counter() - started < 2
    left = LEFT.search(reply.text)
    assert left and 5 <= int(left.group(1)) <= 30, reply.text
    warm.join(60)
    assert engine.handle("How do traffickers use cryptocurrency?", Context()).data.get("status") != "rebuilding"


def test_other_actions_tell_the_user_too(small_settings: config.Settings) -> None:
    """Every Rasa action (not only questions) answers "being rebuilt" instead of waiting."""
    rasa_sdk = pytest.importorskip("rasa_sdk")
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ACTIONS

    _damaged_index(small_settings, build_seconds=60)
    engine = Engine(small_settings, encoder_factory=FakeEncoder)
    with index.build_lock(small_settings):   # another thread of this process holds it
        for action_type in ACTIONS:
            dispatcher = CollectingDispatcher()
            tracker = Tracker("user", {}, {"text": "list the documents", "intent": {"name": "list_documents"}},
                              [], False, None, {}, "rest")
            started = time.perf_counter()
            action_type(engine).respond(dispatcher, tracker)
            assert time.perf_counter() - started < 2, action_type.__name__
            assert any(LEFT.search(m.get("text") or "") for m in dispatcher.messages), (action_type.__name__,
                                                                                         dispatcher.messages)
    assert rasa_sdk
