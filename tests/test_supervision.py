"""Supervision of the single-instance stack (issue #19, findings 3 and 4): process groups,
per-component status and restart (``scripts/stack.sh``), workers that die with their parent
(``actions/server.py``), and damaged Rasa models (``rasa_addons/preflight.py``, ``GET /ready``
in ``rasa_addons/serve.py``).

The unmarked tests need no server and no real model. The ``e2e`` ones run ``scripts/stack.sh``
with a temporary RUN_DIR and free ports; they start only the components they need (the action
server starts in a few seconds; Rasa only where the test is about Rasa)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.stack import MODEL, free_port

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "scripts" / "stack.sh"
PREFLIGHT = ROOT / "rasa_addons" / "preflight.py"

pytestmark = pytest.mark.chaos   # part of the fault suite (make chaos)


# --- the model check (no server, no real model) -----------------------------------------------
def small_model(path: Path, metadata: dict | None = None) -> Path:
    """A tar.gz shaped like a Rasa 3 model: a component file, then metadata.json (last, as Rasa
    writes it)."""
    meta = metadata if metadata is not None else {
        "domain": {}, "model_id": "x", "rasa_open_source_version": "3.6.21", "train_schema": {"nodes": {}},
        "predict_schema": {"nodes": {}}, "trained_at": "2026-01-01T00:00:00"}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("components/train_X/data.bin", os.urandom(200_000)),
                           ("metadata.json", json.dumps(meta).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def preflight(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PREFLIGHT), "--model-only", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_truncated_model_is_named_and_refused(tmp_path: Path) -> None:
    model = small_model(tmp_path / "m.tar.gz")
    model.write_bytes(model.read_bytes()[:60_000])
    run = preflight("--model", str(model))
    assert run.returncode == 1
    assert f"Rasa model {model} is damaged" in run.stderr and "make train" in run.stderr


def test_good_model_passes_and_gets_a_checksum(tmp_path: Path) -> None:
    model = small_model(tmp_path / "m.tar.gz")
    assert preflight("--model", str(model)).returncode == 0
    recorded = (tmp_path / "m.tar.gz.sha256").read_text().split()
    assert recorded[1] == "m.tar.gz" and len(recorded[0]) == 64
    # the checksum is the fast path; a model that no longer matches it is read again and refused
    data = model.read_bytes()
    model.write_bytes(data[:-100])
    run = preflight("--model", str(model))
    assert run.returncode == 1 and "does not match its checksum" in run.stderr


def test_model_without_metadata_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "m.tar.gz"
    with tarfile.open(model, "w:gz") as tar:
        info = tarfile.TarInfo("components/x.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    run = preflight("--model", str(model))
    assert run.returncode == 1 and "no metadata.json" in run.stderr


def test_remove_damaged_deletes_it_so_make_trains_again(tmp_path: Path) -> None:
    model = small_model(tmp_path / "m.tar.gz")
    assert preflight("--model", str(model)).returncode == 0   # writes m.tar.gz.sha256
    model.write_bytes(model.read_bytes()[:1000])
    run = preflight("--model", str(model), "--remove-damaged")
    assert run.returncode == 0 and "removed it" in run.stderr
    assert not model.exists() and not (tmp_path / "m.tar.gz.sha256").exists()
    assert preflight("--model", str(model), "--remove-damaged").returncode == 0   # nothing to remove


def test_sanic_worker_dies_with_its_parent(tmp_path: Path) -> None:
    """A process that called ``die_with_parent`` is killed when its parent is ``kill -9``ed."""
    pid_file = tmp_path / "child.pid"
    code = f"""
import os, sys, time, subprocess
sys.path.insert(0, {str(ROOT)!r})
child = subprocess.Popen([sys.executable, "-c", '''
import os, sys, time
sys.path.insert(0, {str(ROOT)!r})
from actions.server import die_with_parent
assert die_with_parent()
open({str(pid_file)!r}, "w").write(str(os.getpid()))
time.sleep(60)
'''], env={{**os.environ, "ACTIONS_MAIN_PID": str(os.getpid())}})
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.time() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.time() + 5
        while _live(child) and time.time() < deadline:
            time.sleep(0.05)
        assert not _live(child)
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- scripts/stack.sh (real servers) ----------------------------------------------------------
def _live(pid: int) -> bool:
    """Exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _group(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def _descendants(pid: int) -> list[int]:
    """pid and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def _pgid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _listeners(port: int) -> list[int]:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return sorted({int(p.split("=")[1]) for p in out.replace(",", " ").split() if p.startswith("pid=")})


class Run:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "run"
        self.ports = {"actions": free_port(), "rasa": free_port(), "web": free_port()}
        self.env = {**os.environ, "RUN_DIR": str(self.dir), "ENV_FILE": str(tmp / "env"), "RASA_TOKEN": "t0ken",
                    "RASA_TELEMETRY_ENABLED": "false", "ACTIONS_PORT": str(self.ports["actions"]),
                    "RASA_PORT": str(self.ports["rasa"]), "WEB_PORT": str(self.ports["web"]), "STOP_TIMEOUT": "10"}

    def __call__(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(STACK), *args], cwd=ROOT, env={**self.env, **env}, capture_output=True,
                              text=True, timeout=timeout)

    def pid(self, name: str) -> int:
        return int((self.dir / f"{name}.pid").read_text())

    def line(self, name: str) -> str:
        return next(line for line in self("status").stdout.splitlines() if line.startswith(f"{name}:"))

    def clean(self) -> None:
        """Whatever happens in a test (the old script left orphans): nothing of it survives."""
        try:
            self("stop", timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for pid_file in self.dir.glob("*.pid"):
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
        mark = f"RUN_DIR={self.dir}".encode()
        for entry in Path("/proc").iterdir():   # every process started for this test inherited RUN_DIR
            try:
                if entry.name.isdigit() and mark in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        for port in self.ports.values():
            for pid in _listeners(port):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture()
def stack(tmp_path: Path) -> Iterator[Run]:
    run = Run(tmp_path)
    try:
        yield run
    finally:
        run.clean()


needs_model = pytest.mark.skipif(not MODEL.exists(), reason="no trained Rasa model (make train)")


@pytest.mark.e2e
def test_kill_9_of_the_action_server_then_status_stop_start(stack: Run) -> None:
    port = stack.ports["actions"]
    started = stack("start", "actions")
    assert started.returncode == 0, started.stderr
    leader = stack.pid("actions")
    pgid = _pgid(leader)
    assert pgid == leader and len(_group(pgid)) > 1   # its own group: the leader and its Sanic processes
    assert (stack.dir / "actions.pgid").read_text().strip() == str(pgid)
    os.kill(leader, signal.SIGKILL)
    time.sleep(1)
    line = stack.line("actions")
    assert "unhealthy" in line and "make stop" in line, line
    assert not _listening(port)   # the worker died with its parent (PR_SET_PDEATHSIG)
    t = time.monotonic()
    stopped = stack("stop")
    assert stopped.returncode == 0 and "Stopped actions" in stopped.stdout, stopped
    assert time.monotonic() - t < 15
    assert _group(pgid) == [] and not _listening(port)
    assert stack.line("actions") == "actions: stopped"
    again = stack("start", "actions")
    assert again.returncode == 0, again.stderr
    assert "healthy" in stack.line("actions")


@pytest.mark.e2e
def test_stop_ends_every_process_of_the_group(stack: Run) -> None:
    assert stack("start", "actions").returncode == 0
    members = _descendants(stack.pid("actions"))
    assert len(members) > 1   # Sanic's worker, its state manager, multiprocessing's resource tracker
    assert stack("stop", "actions").returncode == 0
    assert not any(_live(p) for p in members) and not _listening(stack.ports["actions"])
    assert not (stack.dir / "actions.pid").exists()


@pytest.mark.e2e
def test_restart_of_one_component_keeps_the_others(stack: Run) -> None:
    started = stack("start", "actions", "web")
    assert started.returncode == 0, started.stderr
    web, actions = stack.pid("web"), stack.pid("actions")
    restarted = stack("restart", "actions")
    assert restarted.returncode == 0, restarted.stderr + restarted.stdout
    assert stack.pid("web") == web and _live(web)
    assert stack.pid("actions") != actions and not _live(actions)
    assert "healthy" in stack.line("actions") and "healthy" in stack.line("web")
    assert stack.line("rasa").startswith("rasa: stopped")
    assert stack("restart", "nonsense").returncode == 2


@pytest.mark.e2e
@needs_model
def test_truncated_model_stops_the_start_at_once(stack: Run, tmp_path: Path) -> None:
    model = tmp_path / "policy-assistant.tar.gz"
    model.write_bytes(MODEL.read_bytes()[: MODEL.stat().st_size // 2])
    t = time.monotonic()
    try:
        run = stack("start", RASA_MODEL=str(model), timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the start did not stop at the damaged model")
    assert run.returncode != 0 and time.monotonic() - t < 20
    assert f"Rasa model {model} is damaged" in run.stderr and "make train" in run.stderr
    assert not list(stack.dir.glob("*.pid"))   # nothing was started
    assert not any(_listening(p) for p in stack.ports.values())


@pytest.mark.e2e
@needs_model
def test_rasa_without_an_agent_is_not_ready(stack: Run, tmp_path: Path) -> None:
    """A model that reads to its end but that Rasa cannot load (a bad date in metadata.json):
    Rasa comes up without an agent, answers every message with ``[]``; the start must fail,
    naming the model, instead of reporting it ready."""
    model = tmp_path / "unloadable.tar.gz"
    with tarfile.open(MODEL, "r:gz") as src, tarfile.open(model, "w:gz", compresslevel=1) as dst:
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name == "metadata.json" and data is not None:
                meta = json.loads(data)
                meta["trained_at"] = "not a date"
                data = json.dumps(meta).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    t = time.monotonic()
    run = stack("start", "rasa", RASA_MODEL=str(model), timeout=300)
    assert run.returncode != 0, run.stdout
    assert f"Rasa came up without a model: {model} could not be loaded" in run.stderr, run.stderr
    assert time.monotonic() - t < 200
    assert not _listening(stack.ports["rasa"]) and not list(stack.dir.glob("*.pid"))


# --- ready means warm (issue #22): GET /ready of the action server ------------------------------
def test_ready_verdict_needs_every_worker_warm_for_its_current_pid() -> None:
    """What ``GET /ready`` answers from Sanic's shared worker state (no server needed)."""
    from actions.server import verdict

    warm = {"pid": 11, "warm_pid": 11, "warm_state": "warm", "server": True}
    cold = {"pid": 12, "warm_pid": 12, "warm_state": "warming up", "server": True}
    restarted = {"pid": 13, "warm_pid": 7, "warm_state": "warm", "server": True}   # warm before a restart
    assert verdict({"w0": warm}, 1) == (200, {"ready": True, "workers": 1})
    status, body = verdict({"w0": warm, "w1": cold}, 2)
    assert status == 503 and body["ready"] is False and "1 of 2 workers warm" in body["reason"]
    assert verdict({"w0": warm, "w1": restarted}, 2)[0] == 503
    assert verdict({"w0": warm}, 2)[0] == 503   # the second worker has not even registered yet
    failed = {**cold, "warm_state": "warm-up failed: OSError: disk"}
    assert verdict({"w0": warm, "w1": failed}, 2) == (503, {"ready": False, "reason": "warm-up failed: OSError: disk"})


def _get(url: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read().decode() or "null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode() or "null")


def _wait_listening(port: int, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not _listening(port):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the action server never listened"
        time.sleep(0.2)


@pytest.mark.e2e
def test_action_server_is_ready_only_when_warm_and_start_waits_for_it(stack: Run, tmp_path: Path) -> None:
    """The warm-up is held back (the test holds the index's build lock of a copy of the index):
    the server listens and is alive, /ready says 503 and why, and ``stack.sh start`` has not
    reported ready; once the lock is released the start finishes, /ready says 200 and an action
    call is answered."""
    import fcntl
    import shutil
    import urllib.request

    index = tmp_path / "index"
    shutil.copytree(ROOT / "models" / "index", index)
    lock = os.open(tmp_path / "index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)   # Engine.warm_up waits for "the build" holding it
    port = stack.ports["actions"]
    start = subprocess.Popen([str(STACK), "start", "actions"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**stack.env, "BOT_INDEX_DIR": str(index)})
    try:
        _wait_listening(port, start)
        assert _get(f"http://127.0.0.1:{port}/health")[0] == 200   # alive ...
        time.sleep(1)
        status, body = _get(f"http://127.0.0.1:{port}/ready")    # ... but not ready
        assert status == 503 and body == {"ready": False, "reason": "0 of 1 workers warm (warming up)"}
        assert start.poll() is None   # the start is still waiting
        assert "not ready yet" in stack.line("actions")
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    out, err = start.communicate(timeout=300)
    assert start.returncode == 0, out + err
    assert "Ready in" in out
    assert _get(f"http://127.0.0.1:{port}/ready") == (200, {"ready": True, "workers": 1})
    call = {"next_action": "action_search_documents", "sender_id": "t", "domain": {},
            "tracker": {"sender_id": "t", "slots": {}, "events": [], "paused": False, "active_loop": {},
                        "latest_message": {"text": "What do the documents say about 3D-printed guns?",
                                           "intent": {"name": "ask_documents", "confidence": 1.0}, "entities": []}}}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=json.dumps(call).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert json.loads(resp.read().decode())["responses"]
    assert "healthy" in stack.line("actions")


@pytest.mark.e2e
def test_failed_warm_up_is_not_ready_and_stops_the_start(stack: Run, tmp_path: Path) -> None:
    """A warm-up that fails (the index folder cannot be created) keeps /ready at 503 naming the
    error, and ``stack.sh start`` fails with it instead of reporting ready."""
    (tmp_path / "not-a-folder").write_text("")
    run = stack("start", "actions", BOT_INDEX_DIR=str(tmp_path / "not-a-folder" / "index"), timeout=200)
    assert run.returncode != 0, run.stdout
    assert "the action server's warm-up failed: warm-up failed: FileExistsError" in run.stderr, run.stderr
    assert "Ready in" not in run.stdout
    assert not list(stack.dir.glob("*.pid")) and not _listening(stack.ports["actions"])


@pytest.mark.e2e
def test_refuse_until_warm_answers_action_calls_503_while_cold(tmp_path: Path) -> None:
    """Behind nginx (``--refuse-until-warm``) a cold action server answers an action call with 503
    at once, so nginx passes it to a warm one. (That it answers once warm is what every test of
    ``tests/test_scale.py`` relies on: scale.sh starts its action servers with the flag.)"""
    import fcntl
    import shutil
    import urllib.error
    import urllib.request

    index = tmp_path / "index"
    shutil.copytree(ROOT / "models" / "index", index)
    lock = os.open(tmp_path / "index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "actions", "--port", str(port), "--refuse-until-warm"], cwd=ROOT,
                              env={**os.environ, "BOT_INDEX_DIR": str(index), "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    call = json.dumps({"next_action": "action_list_documents", "sender_id": "t", "domain": {},
                       "tracker": {"sender_id": "t", "slots": {}, "events": [], "paused": False, "active_loop": {},
                                   "latest_message": {"text": "which documents do you have?"}}}).encode()

    def post() -> tuple[int, dict]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=call,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read().decode())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read().decode())

    try:
        _wait_listening(port, server)
        assert post() == (503, {"ready": False, "reason": "warming up"})
        assert _get(f"http://127.0.0.1:{port}/health")[0] == 200   # only action calls are refused
    finally:
        os.close(lock)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
