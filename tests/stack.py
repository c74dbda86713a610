"""Start and stop the action server and Rasa on free ports (used by the end-to-end tests and
``bench/rasa_bench.py``)."""

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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "rasa" / "policy-assistant.tar.gz"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"


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
                    "PYTHONPATH": str(ROOT), "ACTIONS_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
                    "TRACKER_DB": str(tmp / "tracker.db")}
        self.actions: subprocess.Popen[bytes] | None = None
        self.rasa: subprocess.Popen[bytes] | None = None

    def start_actions(self) -> float:
        """Start the action server; returns seconds until its health check answers."""
        t = time.perf_counter()
        log = open(self.tmp / "actions.log", "ab")
        self.actions = subprocess.Popen([sys.executable, "-m", "actions", "--port", str(self.actions_port)],
                                        cwd=ROOT, env=self.env,
                                        stdout=log, stderr=log, start_new_session=True)
        wait_for(f"http://127.0.0.1:{self.actions_port}/health", 120, self.actions)
        return time.perf_counter() - t

    def stop_actions(self) -> None:
        if self.actions and self.actions.poll() is None:
            os.killpg(self.actions.pid, 15)
            self.actions.wait(timeout=30)

    def start_rasa(self, cors: list[str] | None = None, api_token: str | None = None,
                   credentials: Path | None = None, command: list[str] | None = None,
                   env: dict[str, str] | None = None) -> float:
        """Start Rasa with the trained model; returns seconds until its REST channel answers.
        ``cors``: browser origins allowed (the web page); ``api_token`` enables the HTTP API;
        ``credentials``: another credentials file; ``command``: how to run ``rasa`` (default
        ``.venv-rasa/bin/python -m rasa_addons.serve``, which takes the token from RASA_TOKEN);
        ``env``: extra environment variables."""
        t = time.perf_counter()
        log = open(self.tmp / "rasa.log", "ab")
        extra = (["--cors", *cors] if cors else []) + (["--enable-api"] if api_token else [])
        launcher = [str(RASA.parent / "python"), "-m", "rasa_addons.serve"]   # the token via the environment
        self.rasa = subprocess.Popen([*(command or launcher), "run", "--model", str(MODEL),
                                      "--port", str(self.rasa_port), "--interface", "127.0.0.1",
                                      "--credentials", str(credentials or "credentials.yml"),
                                      "--endpoints", "endpoints.yml", *extra], cwd=ROOT,
                                     env={**self.env, **({"RASA_CORS": " ".join(cors)} if cors else {}),
                                          **({"RASA_TOKEN": api_token} if api_token else {}), **(env or {})},
                                     stdout=log, stderr=log, start_new_session=True)
        wait_for(f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/", 240, self.rasa)
        return time.perf_counter() - t

    def stop_rasa(self) -> None:
        if self.rasa and self.rasa.poll() is None:
            os.killpg(self.rasa.pid, 15)
            self.rasa.wait(timeout=30)

    def stop(self) -> None:
        self.stop_actions()
        self.stop_rasa()

    def tracker(self, sender: str, token: str) -> dict[str, Any]:
        """The conversation's tracker through Rasa's HTTP API (needs ``api_token`` at start)."""
        url = f"http://127.0.0.1:{self.rasa_port}/conversations/{sender}/tracker?token={token}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.loads(resp.read().decode())

    def send(self, message: Any, sender: str | None = None) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender or uuid.uuid4().hex, "message": message}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            assert resp.status == 200
            return json.loads(resp.read().decode())


