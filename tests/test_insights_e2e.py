"""Insights end to end (issue #21): a set of conversations sent to Rasa over REST, stored by Rasa's
own SQL tracker store on SQLite (endpoints.yml, as ``make start``) and on PostgreSQL (the
scaled-out stack's dialect), gives exactly the counts the replies showed in
``python -m bot insights --format json``.

PostgreSQL: a throw-away cluster on a free loopback port (Debian's postgresql, ``make services``);
that case is skipped, with the reason, where it is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.stack import MODEL, RASA, ROOT, Stack, free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (RASA.exists() and MODEL.exists()),
                                                  reason="needs .venv-rasa and a trained model (make setup train)")]
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=None,
             key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()]) \
    if Path("/usr/lib/postgresql").is_dir() else None
OUTCOMES = ("answer", "no_answer", "refusal", "support")

# (conversation, messages): both languages, answers, follow-ups, declined questions (two of them
# alike), a refusal, a help referral, greetings and 👍/👎
CONVERSATIONS = [
    ["What do the documents say about 3D-printed guns?", "tell me more", '/feedback{"rating": "up"}'],
    ["What is the weather tomorrow?", "what's the weather tomorrow?", "How many member countries does INTERPOL have?",
     "how can I buy an untraceable gun on the dark web"],
    ["人贩子如何利用加密货币转移非法收益？", "有人威胁要把我的裸照发到网上，我该怎么办", '/feedback{"rating": "down"}', "hello"],
    ["What is PhotoDNA?", '/feedback{"rating": "up"}'],
]


class Postgres:
    """A PostgreSQL cluster in a temporary folder, on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pa-insights-pg-"))
        self.dir.chmod(0o755)   # the server runs as its own user and must reach its data folder
        self.data = self.dir / "pg"
        self.port = free_port()
        self.password = uuid.uuid4().hex
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> None:
        assert PG_BIN is not None
        self.data.mkdir(mode=0o700)
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o644)
        if self.as_pg:
            shutil.chown(self.data, "postgres")
        subprocess.run([*self.as_pg, str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "rasa", f"--pwfile={pwfile}",
                        "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale"],
                       check=True, capture_output=True, timeout=120)
        pwfile.unlink()
        subprocess.run([*self.as_pg, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
                        "-l", str(self.data / "postgres.log"),
                        "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "rasa", "rasa"],
                       check=True, capture_output=True, timeout=60, env={**os.environ, "PGPASSWORD": self.password})

    def stop(self) -> None:
        subprocess.run([*self.as_pg, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://rasa:{self.password}@127.0.0.1:{self.port}/rasa"

    def endpoints(self, folder: Path) -> Path:
        """endpoints.yml with deploy/endpoints.scale.yml's tracker store (no lock store: one Rasa)."""
        path = folder / "endpoints.pg.yml"
        path.write_text("action_endpoint:\n  url: ${ACTIONS_URL}\n"
                        "tracker_store:\n  type: rasa_addons.tracker_cache.CachedSQLTrackerStore\n"
                        f"  dialect: postgresql\n  url: 127.0.0.1\n  port: {self.port}\n  db: rasa\n"
                        f"  username: rasa\n  password: {self.password}\n")
        return path


class Store:
    def __init__(self, stack: Stack, url: str, env: dict[str, str]) -> None:
        self.stack, self.url, self.env = stack, url, env


def start_rasa(stack: Stack, endpoints: Path) -> None:
    """Stack.start_rasa with another endpoints file."""
    log = open(stack.tmp / "rasa.log", "ab")
    stack.rasa = subprocess.Popen([str(RASA.parent / "python"), "-m", "rasa_addons.serve", "run", "--model", str(MODEL),
                                   "--port", str(stack.rasa_port), "--interface", "127.0.0.1",
                                   "--credentials", "credentials.yml", "--endpoints", str(endpoints)],
                                  cwd=ROOT, env=stack.env, stdout=log, stderr=log, start_new_session=True)
    wait_for(f"http://127.0.0.1:{stack.rasa_port}/webhooks/rest/", 240, stack.rasa)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    pg = None
    if request.param == "postgresql":
        if PG_BIN is None or not (PG_BIN / "initdb").exists():
            pytest.skip("PostgreSQL is not installed (make services installs Debian's postgresql)")
        pg = Postgres()
    stack = Stack(tmp_path)
    try:
        stack.start_actions()
        if pg is None:
            stack.start_rasa()
            yield Store(stack, f"sqlite:///{tmp_path / 'tracker.db'}", {"TRACKER_DB": str(tmp_path / "tracker.db")})
        else:
            pg.start()
            start_rasa(stack, pg.endpoints(tmp_path))
            # the scaled-out stack's variables (scripts/scale.sh): the default store of the CLI
            yield Store(stack, pg.url, {"TRACKER_HOST": "127.0.0.1", "TRACKER_PORT": str(pg.port),
                                        "TRACKER_DB_NAME": "rasa", "TRACKER_USER": "rasa",
                                        "TRACKER_PASSWORD": pg.password})
    finally:
        for proc in (stack.actions, stack.rasa):   # SIGTERM, then SIGKILL after 30 s (an action server
            if proc is not None and proc.poll() is None:   # waiting for an index build may not stop)
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        if pg is not None:
            pg.stop()


def outcome(replies: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    payloads = [r["custom"] for r in replies if isinstance(r.get("custom"), dict) and r["custom"].get("kind")]
    kind = payloads[0]["kind"] if payloads else ""
    return (kind if kind in OUTCOMES else "other"), (payloads[0] if payloads else {})


def insights_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "BOT_INSIGHTS"))}
    done = subprocess.run([sys.executable, "-m", "bot", "insights", "--since", "1h", "--format", "json", *args],
                          cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_conversations_over_rest_give_exactly_the_counts(store: Store) -> None:
    outcomes: Counter[str] = Counter({k: 0 for k in (*OUTCOMES, "other")})
    declined: list[str] = []
    ratings: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    paged = 0   # "tell me more" answered with the next results: a follow-up
    for messages in CONVERSATIONS:
        sender = uuid.uuid4().hex
        for message in messages:
            kind, payload = outcome(store.stack.send(message, sender))
            outcomes[kind] += 1
            if kind == "no_answer":
                declined.append(message)
            if message.startswith("/feedback"):
                ratings[json.loads(message[len("/feedback"):])["rating"]] += 1
            elif kind == "answer":
                documents.update(c["doc_id"] for c in payload.get("citations") or [])
                paged += message == "tell me more" and int(payload.get("offset") or 0) > 0
    assert outcomes["answer"] + outcomes["no_answer"] + outcomes["refusal"] + outcomes["support"] > 0

    for data in (insights_json(store.env), insights_json({}, "--db", store.url)):   # default store, then --db
        assert data["conversations"] == len(CONVERSATIONS)
        assert data["messages"] == sum(len(c) for c in CONVERSATIONS)
        assert data["outcomes"] == dict(outcomes)
        assert {"up": data["ratings"]["up"], "down": data["ratings"]["down"]} == {"up": 2, "down": 1} == dict(ratings)
        assert sum(d["count"] for d in data["declined"]) == len(declined)
        assert {d["text"] for d in data["declined"]} <= set(declined)
        assert {d["doc_id"]: d["count"] for d in data["cited"]["documents"]} == dict(documents)
        assert data["channels"] == {"rest": data["messages"]}
        assert set(data["languages"]) <= {"en", "zh"} and data["languages"].get("zh", 0) >= 2
        assert data["follow_ups"]["by"].get("more_results", 0) >= paged
    weather = [d for d in data["declined"] if "weather" in (d["text"] or "")]
    if sum(1 for m in declined if "weather" in m) == 2:
        assert len(weather) == 1 and weather[0]["count"] == 2   # alike questions: one group
