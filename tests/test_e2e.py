"""End to end: the action server and Rasa on free ports, talking over REST in both languages."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "rasa" / "policy-assistant.tar.gz"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"

pytestmark = pytest.mark.skipif(not (RASA.exists() and MODEL.exists()),
                                reason="needs .venv-rasa and a trained model (make setup train)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited while waiting for {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise TimeoutError(url)


class Stack:
    """Action server + Rasa server, started and stopped by the tests."""

    def __init__(self, tmp: Path) -> None:
        self.actions_port, self.rasa_port = free_port(), free_port()
        self.tmp = tmp
        self.env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "SANIC_HOST": "127.0.0.1",
                    "PYTHONPATH": str(ROOT), "ACTIONS_URL": f"http://127.0.0.1:{self.actions_port}/webhook"}
        self.actions: subprocess.Popen[bytes] | None = None
        self.rasa: subprocess.Popen[bytes] | None = None

    def start_actions(self) -> None:
        log = open(self.tmp / "actions.log", "ab")
        self.actions = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                                         "--port", str(self.actions_port)], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=log, start_new_session=True)
        wait_for(f"http://127.0.0.1:{self.actions_port}/health", 120, self.actions)

    def stop_actions(self) -> None:
        if self.actions and self.actions.poll() is None:
            os.killpg(self.actions.pid, 15)
            self.actions.wait(timeout=30)

    def start_rasa(self) -> None:
        log = open(self.tmp / "rasa.log", "ab")
        self.rasa = subprocess.Popen([str(RASA), "run", "--model", str(MODEL), "--port", str(self.rasa_port),
                                      "--interface", "127.0.0.1", "--credentials", "credentials.yml",
                                      "--endpoints", "endpoints.yml"], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=log, start_new_session=True)
        wait_for(f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/", 240, self.rasa)

    def stop(self) -> None:
        self.stop_actions()
        if self.rasa and self.rasa.poll() is None:
            os.killpg(self.rasa.pid, 15)
            self.rasa.wait(timeout=30)

    def send(self, message: Any, sender: str | None = None) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender or uuid.uuid4().hex, "message": message}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            assert resp.status == 200
            return json.loads(resp.read().decode())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("stack"))
    try:
        s.start_actions()
        s.start_rasa()
        s.send("warm up", sender="warm-up")
        yield s
    finally:
        s.stop()


def custom(replies: list[dict[str, Any]]) -> dict[str, Any]:
    payloads = [r["custom"] for r in replies if "custom" in r]
    assert len(payloads) == 1, replies
    return payloads[0]


def text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_english_question_answered_with_citation_and_disclaimer(stack: Stack) -> None:
    replies = stack.send("What do the documents say about 3D-printed guns?")
    payload = custom(replies)
    assert payload["kind"] == "answer" and payload["lang"] == "en"
    assert payload["citations"] and payload["citations"][0]["doc_symbol"] == "A/CONF.234/11"
    assert "Source: A/CONF.234/11" in text(replies)
    assert payload["disclaimer"] in text(replies)
    assert any(b["payload"] == "/more_results" for r in replies for b in r.get("buttons", []))


def test_chinese_question_answered_in_chinese(stack: Stack) -> None:
    replies = stack.send("人贩子如何利用加密货币转移非法收益？")
    payload = custom(replies)
    assert payload["kind"] == "answer" and payload["lang"] == "zh"
    assert "出处：" in text(replies) and "不构成法律意见" in payload["disclaimer"]


def test_follow_ups_in_one_conversation(stack: Stack) -> None:
    sender = uuid.uuid4().hex
    first = custom(stack.send("How do traffickers use social media to recruit victims?", sender))
    more = custom(stack.send("tell me more", sender))
    assert more["kind"] == "answer" and more["offset"] == 2
    assert not {c["id"] for c in first["citations"]} & {c["id"] for c in more["citations"]}
    full = custom(stack.send("show the full paragraph", sender))
    assert full["passages"][0]["id"] == more["citations"][0]["id"]
    para = custom(stack.send("show paragraph 26 of A/CONF.234/11", sender))
    assert [p["id"] for p in para["passages"]] == ["a-conf-234-11:26"]


def test_off_corpus_question_gets_an_honest_no(stack: Stack) -> None:
    payload = custom(stack.send("What is the capital of Australia?"))
    assert payload["kind"] == "no_answer" and payload["citations"] == []


def test_greeting_in_chinese_uses_the_chinese_response(stack: Stack) -> None:
    replies = stack.send("你好")
    assert "您好" in text(replies)


def test_refusal_and_referral_route(stack: Stack) -> None:
    refusal = custom(stack.send("how can I buy an untraceable gun on the dark web"))
    assert refusal["kind"] == "refusal" and refusal["citations"] == []
    support = custom(stack.send("有人威胁要把我的裸照发到网上，我该怎么办"))
    assert support["kind"] == "support" and "110" in support["text"]


@pytest.mark.parametrize("junk", ["", "   ", "x" * 10_000, "🤔🤔🤔🙈", "\x00\x01\x02\ufffd\x7f",
                                  "<script>alert('x')</script><img src=x onerror=alert(1)>"])
def test_bad_input_gets_a_reply_and_no_crash(stack: Stack, junk: str) -> None:
    replies = stack.send(junk)
    assert replies, "a sensible reply, not silence"
    assert "<script>" not in text(replies) and "onerror" not in text(replies)
    assert stack.send("What is PhotoDNA?")  # still working afterwards


def test_action_server_down_gets_a_clear_reply_and_recovers(stack: Stack) -> None:
    sender = uuid.uuid4().hex
    stack.stop_actions()
    replies = stack.send("How is cryptocurrency used to launder money?", sender)
    assert "unavailable" in text(replies).lower()
    zh = stack.send("加密货币如何被用于洗钱？", sender)
    assert "暂时无法使用" in text(zh)
    stack.start_actions()
    payload = custom(stack.send("How is cryptocurrency used to launder money?", sender))
    assert payload["kind"] == "answer"
