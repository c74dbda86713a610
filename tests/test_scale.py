"""Scale-out stack (scripts/scale.sh, docs/deployment.md): PostgreSQL tracker store, Redis lock
store, two Rasa instances and two action servers behind nginx, all on free local ports.

One conversation's messages go to both Rasa instances; nothing is lost or reordered, even when
messages of one conversation arrive at both instances at once (the lock store serialises them),
and the conversation goes on when an instance or an action server dies. Also: the limits in front
of Rasa, and a clear error when the database cannot be reached at start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.stack import MODEL, RASA, ROOT, free_port

NEEDS = [shutil.which("redis-server"), shutil.which("nginx"), next(Path("/usr/lib/postgresql").glob("*/bin/initdb"), None)
         if Path("/usr/lib/postgresql").is_dir() else None]
pytestmark = [
    pytest.mark.scale,
    pytest.mark.skipif(not (RASA.exists() and MODEL.exists()), reason="needs .venv-rasa and a trained model"),
    pytest.mark.skipif(not all(NEEDS), reason="needs PostgreSQL, Redis and nginx (scripts/services.sh)"),
]


class Scaled:
    """scripts/scale.sh on free ports, with its state in a throw-away folder."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pa-scale-"))
        self.dir.chmod(0o755)  # PostgreSQL runs as its own user and must reach its data folder
        names = ["LB_PORT", "ACTIONS_LB_PORT", "RASA_PORT_1", "RASA_PORT_2", "ACTIONS_PORT_1", "ACTIONS_PORT_2",
                 "PG_PORT", "REDIS_PORT", "WEB_PORT"]
        self.ports = {n: free_port() for n in names}
        self.token = uuid.uuid4().hex
        self.env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, "SCALE_DIR": str(self.dir),
                    "ENV_FILE": str(self.dir / "env"), "RASA_TOKEN": self.token,
                    "TRACKER_PASSWORD": uuid.uuid4().hex, "RASA_PUBLIC_URL": "",
                    # small per-sender allowance, so the rate-limit test needs few messages
                    "RATE_LIMIT_PER_MINUTE": "6", "RATE_LIMIT_BURST": "12"}
        for k in ("TRACKER_HOST", "TRACKER_PORT", "REDIS_HOST", "RASA_CORS"):
            self.env.pop(k, None)

    def script(self, command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["scripts/scale.sh", command], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def url(self, port: str = "LB_PORT") -> str:
        return f"http://127.0.0.1:{self.ports[port]}"

    def send(self, message: str, sender: str, port: str = "LB_PORT") -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        req = urllib.request.Request(f"{self.url(port)}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read().decode())

    def events(self, sender: str) -> list[dict[str, Any]]:
        url = f"{self.url()}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=60) as resp:
            return json.loads(resp.read().decode())["events"]

    def kill(self, name: str, port: str) -> None:
        """Kill a server and wait until its port is closed (down, not crashing mid-request)."""
        pid = int((self.dir / f"{name}.pid").read_text())
        subprocess.run(["pkill", "-9", "-P", str(pid)], check=False)  # the server's workers, then itself
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.ports[port])) != 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{name} still listening")


def turns(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(user text, number of bot messages before the next user message), in tracker order."""
    out: list[tuple[str, int]] = []
    for e in events:
        if e["event"] == "user":
            out.append((e.get("text") or "", 0))
        elif e["event"] == "bot" and out:
            out[-1] = (out[-1][0], out[-1][1] + 1)
    return out


@pytest.fixture(scope="module")
def scaled() -> Iterator[Scaled]:
    s = Scaled()
    try:
        started = s.script("start")
        assert started.returncode == 0, started.stdout + started.stderr
        yield s
    finally:
        s.script("stop", timeout=120)
        if not os.environ.get("KEEP_SCALE_DIR"):
            shutil.rmtree(s.dir, ignore_errors=True)


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read().decode())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode() or "null")


def _logged_at(line: str) -> float:
    """The time of a log line ``2026-12-03 12:32:54,193 INFO ...`` (local time)."""
    return time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + int(line[20:23]) / 1000


def test_ready_means_every_instance_warm_before_nginx_opens(scaled: Scaled) -> None:
    """Every action server and Rasa instance says ready, nginx's own /ready says so, and nginx
    was started only after each action server had finished its warm-up (its log line)."""
    for n in (1, 2):
        assert _get(f"{scaled.url(f'ACTIONS_PORT_{n}')}/ready") == (200, {"ready": True, "workers": 1})
        assert _get(f"{scaled.url(f'RASA_PORT_{n}')}/ready") == (200, {"ready": True})
    assert _get(f"{scaled.url()}/ready") == (200, {"ready": True})
    nginx_started = (scaled.dir / "nginx.pid").stat().st_mtime
    for n in (1, 2):
        warm = [line for line in (scaled.dir / f"actions{n}.log").read_text().splitlines()
                if "warm-up conversation answered" in line]
        assert warm and _logged_at(warm[0]) <= nginx_started, (n, warm)
    conf = (scaled.dir / "nginx.conf").read_text()
    assert "http_503 non_idempotent" in conf and "auth_request /_actions_ready" in conf
    assert "proxy_request_buffering on" in conf   # a body already streamed cannot go to the next server
    for n in (1, 2):
        assert f"server 127.0.0.1:{scaled.ports[f'ACTIONS_PORT_{n}']} max_fails=1" in conf


def test_one_conversation_spread_over_both_instances_keeps_every_turn_in_order(scaled: Scaled) -> None:
    sender = f"spread-{uuid.uuid4().hex[:8]}"
    said = ["hello", "What do the documents say about 3D-printed guns?", "tell me more", "人贩子如何利用加密货币？",
            "更多", "show the full paragraph", "What is PhotoDNA?", "thanks!"]
    before = (scaled.dir / "nginx-access.log").read_text().count("POST /webhooks/rest/webhook")
    for message in said:
        assert scaled.send(message, sender), f"no reply to {message!r}"
    log = [line for line in (scaled.dir / "nginx-access.log").read_text().splitlines()
           if "POST /webhooks/rest/webhook" in line][before:]
    served_by = {line.split("upstream=")[1].split()[0] for line in log}
    assert served_by == {f"127.0.0.1:{scaled.ports['RASA_PORT_1']}", f"127.0.0.1:{scaled.ports['RASA_PORT_2']}"}
    conversation = turns(scaled.events(sender))
    assert [t for t, _ in conversation] == said
    assert all(n >= 1 for _, n in conversation), conversation
    kinds = [((e.get("data") or {}).get("custom") or {}).get("kind") for e in scaled.events(sender)
             if e["event"] == "bot"]
    assert "answer" in kinds


def test_simultaneous_messages_on_both_instances_are_handled_one_at_a_time(scaled: Scaled) -> None:
    sender = f"race-{uuid.uuid4().hex[:8]}"
    scaled.send("hello", sender)
    said = [f"What do the documents say about topic {i}: {q}?" for i, q in
            enumerate(["dark web markets", "grooming", "deepfakes", "cryptocurrency", "firearms", "trafficking"])]
    ports = ["RASA_PORT_1", "RASA_PORT_2"] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda mp: scaled.send(mp[0], sender, mp[1]), zip(said, ports)))
    assert all(replies)
    conversation = turns(scaled.events(sender))
    assert sorted(t for t, _ in conversation[1:]) == sorted(said)  # none lost
    assert all(n >= 1 for _, n in conversation), conversation      # each answered before the next began


def test_limits_in_front_of_rasa(scaled: Scaled) -> None:
    big = json.dumps({"sender": "big", "message": "x" * 70_000}).encode()
    req = urllib.request.Request(f"{scaled.url()}/webhooks/rest/webhook", data=big,
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 413 and "too large" in json.loads(err.value.read())[0]["text"]

    sender = f"flood-{uuid.uuid4().hex[:8]}"
    texts = [" ".join(r.get("text", "") for r in scaled.send("hi", sender)) for _ in range(34)]
    limited = [t for t in texts if "faster than I can take them" in t]
    assert limited and len(limited) <= 34 - 24 + 2  # 12 per instance, a little refill
    assert not any("faster" in r.get("text", "") for r in scaled.send("hi", f"other-{sender}"))
    said = [t for t, _ in turns(scaled.events(sender))]
    assert len(said) == 34 - len(limited)  # refused messages are not written to the conversation


def test_conversation_goes_on_when_an_instance_and_an_action_server_die(scaled: Scaled) -> None:
    sender = f"failover-{uuid.uuid4().hex[:8]}"
    scaled.send("What do the documents say about 3D-printed guns?", sender)
    scaled.kill("rasa1", "RASA_PORT_1")
    scaled.kill("actions1", "ACTIONS_PORT_1")
    for message in ["tell me more", "How do traffickers use cryptocurrency?", "更多", "What is PhotoDNA?"]:
        replies = scaled.send(message, sender)
        assert replies and "unavailable" not in json.dumps(replies), (message, replies)
    said = [t for t, _ in turns(scaled.events(sender))]
    assert said == ["What do the documents say about 3D-printed guns?", "tell me more",
                    "How do traffickers use cryptocurrency?", "更多", "What is PhotoDNA?"]


def test_a_cold_action_server_in_the_upstream_is_passed_over(scaled: Scaled, tmp_path: Path) -> None:
    """An action server that (re)joins and is still warming up (held cold here: the test holds the
    build lock of its copy of the index) answers action calls 503; nginx passes each to the warm
    one, so no user gets "unavailable". Runs after actions1 was killed above, on its port."""
    import fcntl

    index = tmp_path / "index"
    shutil.copytree(ROOT / "models" / "index", index)
    # an out-of-date copy: its warm-up must rebuild it, and waits for the build lock held below
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    (index / "manifest.json").write_text(json.dumps({**manifest, "fingerprint": "out-of-date"}), encoding="utf-8")
    lock = os.open(tmp_path / "index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)
    port = scaled.ports["ACTIONS_PORT_1"]
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "actions1 should be down after the failover test"
    cold = subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), "-m", "actions", "--port", str(port),
                             "--refuse-until-warm"], cwd=ROOT, start_new_session=True,
                            env={**scaled.env, "BOT_INDEX_DIR": str(index), "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (_listening(port) and _get(f"http://127.0.0.1:{port}/ready")[0] == 503):
            assert cold.poll() is None and time.monotonic() < deadline, "the cold action server did not come up"
            time.sleep(0.2)
        log = scaled.dir / "nginx-access.log"
        before = len(log.read_text().splitlines())
        passed_over, replies = [], []   # a new conversation per message: the per-sender limit is small here
        deadline = time.monotonic() + 40   # nginx tries a failed server again after fail_timeout (10 s)
        while not passed_over and time.monotonic() < deadline:
            replies.append(scaled.send("How do traffickers use cryptocurrency?", f"rejoin-{uuid.uuid4().hex[:8]}"))
            passed_over = [line for line in log.read_text().splitlines()[before:]
                           if "POST /webhook" in line and f"upstream=127.0.0.1:{port}, " in line]
        assert passed_over, "nginx never tried the cold action server"
        assert all(r and "unavailable" not in json.dumps(r) for r in replies), replies
        assert " 200 POST /webhook" in passed_over[0]
        assert _get(f"http://127.0.0.1:{port}/ready")[0] == 503   # it was cold all along
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
        os.killpg(cold.pid, signal.SIGKILL)
        cold.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _listening(port) and time.monotonic() < deadline:   # its worker exits a moment later
            time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.chaos
def test_stop_leaves_no_process_behind_after_a_kill_9_of_a_leader(scaled: Scaled) -> None:
    """Each server runs in its own process group; stop clears the group even when its leader was
    killed with -9 (the old stop killed the recorded pid's children only, and missed the rest)."""
    groups = {name: int((scaled.dir / f"{name}.pgid").read_text()) for name in ("actions2", "rasa2", "web")}
    os.kill(int((scaled.dir / "actions2.pid").read_text()), signal.SIGKILL)   # the leader only
    # its worker dies with it; actions1 was killed above: nginx's /ready says no action server is warm
    deadline = time.monotonic() + 10
    while any(_listening(scaled.ports[p]) for p in ("ACTIONS_PORT_1", "ACTIONS_PORT_2")):
        assert time.monotonic() < deadline, "an action server still listens"
        time.sleep(0.1)
    assert _get(f"{scaled.url()}/ready") == (503, {"ready": False, "reason": "no action server is warm"})
    stopped = scaled.script("stop", timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    def left(pgid: int) -> list[str]:
        ps = subprocess.run(["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True).stdout.split("\n")
        return [line for line in ps if line.split()[1:2] == [str(pgid)] and not line.split()[2].startswith("Z")]

    for name, pgid in groups.items():
        assert not left(pgid), (name, left(pgid))
    started = scaled.script("start")   # and it starts again for whatever runs next
    assert started.returncode == 0, started.stdout + started.stderr


def test_unreachable_database_at_start_is_a_clear_error(tmp_path: Path) -> None:
    dead_pg, dead_redis = free_port(), free_port()
    env = {**os.environ, "RUN_DIR": str(tmp_path), "ENV_FILE": str(tmp_path / "env"), "RASA_TOKEN": "t",
           "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()), "WEB_PORT": str(free_port()),
           "ENDPOINTS": "deploy/endpoints.scale.yml", "TRACKER_HOST": "127.0.0.1", "TRACKER_PORT": str(dead_pg),
           "TRACKER_DB_NAME": "rasa", "TRACKER_USER": "rasa", "TRACKER_PASSWORD": "x",
           "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(dead_redis)}
    t = time.monotonic()
    run = subprocess.run(["scripts/stack.sh", "start"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and time.monotonic() - t < 60
    assert f"tracker store postgresql database rasa@127.0.0.1:{dead_pg}/rasa is unreachable" in run.stderr
    assert f"lock store Redis at 127.0.0.1:{dead_redis} is unreachable" in run.stderr
    assert not list(tmp_path.glob("*.pid"))  # nothing was started
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(env["RASA_PORT"]))) != 0
