"""Cold first minute after "Ready" against a warm minute (issue #22), and throughput per instance.

For each stack it starts the stack the way a user does (``scripts/stack.sh start`` or
``scripts/scale.sh start``) on free ports with its state in a temporary folder, takes the time
until the script prints "Ready in N s" and returns, and at once runs ``--sessions`` simulated users
(the message mix of ``bench/load.py``: greeting, English and Chinese document questions,
follow-ups, small talk; each user sends its next message when the reply arrives) for
``--seconds``: the *cold* window. A second window of the same length with new users follows
straight away: the *warm* one. Per window: messages/s, p50/p95/p99 latency, errors, and replies
that are "search unavailable" or "index being rebuilt" (a stack reported ready too early shows
them, or very slow first replies), and the CPU time each part of the stack used per message
(Rasa, action servers, PostgreSQL, Redis, nginx, the load generator itself; from /proc), with the
whole machine's busy share (other users' work included). Then the stack is stopped.

Stacks (``--stacks``, comma-separated):

* ``single``: 1 Rasa + 1 action server (``stack.sh start actions rasa``, SQLite tracker store);
* ``scaled``: ``scale.sh`` as ``make scale-start`` runs it (2 instances, not pinned);
* ``scaled1-pinned``, ``scaled2-pinned``: 1 instance on CPU 0, and 2 instances on CPUs 0 and 1
  (``SCALE_INSTANCES``, ``SCALE_CPUS``: each instance's Rasa and action server under ``taskset``):
  throughput per added instance.

The per-sender rate limit is off (``RATE_LIMIT_PER_MINUTE=0``): a simulated user sends far faster
than a person. ``--root`` runs another checkout's scripts (e.g. a ``git worktree`` of an older
commit with ``.venv``, ``.venv-rasa`` and ``models`` linked in) for a before/after comparison in
one run. Writes ``bench/out/startup.json`` with a flat top-level ``summary`` ({figure: number}).

    flock /tmp/policy-bench.lock .venv/bin/python bench/startup.py [--stacks single,scaled] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/load.py: the message mix)
from bot import evaluate  # noqa: E402
from bot.texts import Texts  # noqa: E402
from tests.stack import free_port  # noqa: E402

STACKS = ("single", "scaled", "scaled1-pinned", "scaled2-pinned")
SCALED = {"scaled": {}, "scaled1-pinned": {"SCALE_INSTANCES": "1", "SCALE_CPUS": "0"},
          "scaled2-pinned": {"SCALE_INSTANCES": "2", "SCALE_CPUS": "0 1"}}


class Started:
    """A stack started by its script; ``url`` is where users send messages."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind, self.root = kind, root
        self.dir = Path(tempfile.mkdtemp(prefix=f"pa-startup-{kind}-"))
        self.dir.chmod(0o755)   # PostgreSQL runs as its own user and must reach its data folder
        self.env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "RATE_LIMIT_PER_MINUTE": "0",
                    "ENV_FILE": str(self.dir / "env"), "RASA_TOKEN": uuid.uuid4().hex, "STOP_TIMEOUT": "10"}
        for k in ("TRACKER_HOST", "TRACKER_PORT", "REDIS_HOST", "RASA_CORS", "REST_TOKEN", "SCALE_INSTANCES",
                  "SCALE_CPUS", "ENDPOINTS"):
            self.env.pop(k, None)
        if kind == "single":
            ports = {n: free_port() for n in ("RASA_PORT", "ACTIONS_PORT", "WEB_PORT")}
            self.env.update({k: str(v) for k, v in ports.items()})
            self.env.update({"RUN_DIR": str(self.dir), "TRACKER_DB": str(self.dir / "tracker.db")})
            self.command = ["scripts/stack.sh", "start", "actions", "rasa"]
            self.stop_command = ["scripts/stack.sh", "stop"]
            self.url = f"http://127.0.0.1:{ports['RASA_PORT']}"
        else:
            names = ["LB_PORT", "ACTIONS_LB_PORT", "PG_PORT", "REDIS_PORT", "WEB_PORT"] + [
                f"{p}_{i}" for p in ("RASA_PORT", "ACTIONS_PORT") for i in (1, 2)]
            ports = {n: free_port() for n in names}
            self.env.update({k: str(v) for k, v in ports.items()})
            self.env.update({"SCALE_DIR": str(self.dir), "TRACKER_PASSWORD": uuid.uuid4().hex, "RASA_PUBLIC_URL": "",
                             **SCALED[kind]})
            self.command = ["scripts/scale.sh", "start"]
            self.stop_command = ["scripts/scale.sh", "stop"]
            self.url = f"http://127.0.0.1:{ports['LB_PORT']}"

    def start(self) -> tuple[float, float | None]:
        """(seconds until the script returned, the "Ready in N s" it printed)."""
        t = time.perf_counter()
        run = subprocess.run(self.command, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=900)
        took = time.perf_counter() - t
        if run.returncode != 0:
            raise RuntimeError(f"{self.kind} did not start:\n{run.stdout}\n{run.stderr}")
        said = re.search(r"Ready in (\d+) s", run.stdout)
        return took, float(said.group(1)) if said else None

    def components(self) -> dict[str, list[tuple[str, int]]]:
        """{part: [("group", pgid) or ("tree", pid)]} of the running stack, from its pid files."""
        def number(path: Path) -> int | None:
            try:
                return int(path.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                return None

        parts: dict[str, list[tuple[str, int]]] = {}
        for f in sorted(self.dir.glob("*.pgid")):
            name = re.sub(r"\d+$", "", f.stem)
            if (n := number(f)) is not None:
                parts.setdefault(name, []).append(("group", n))
        for name, f in (("nginx", self.dir / "nginx.pid"), ("redis", self.dir / "redis.pid"),
                        ("postgres", self.dir / "pg" / "postmaster.pid")):
            if (n := number(f)) is not None:
                parts.setdefault(name, []).append(("tree", n))
        return parts

    def stop(self) -> None:
        subprocess.run(self.stop_command, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=300)
        shutil.rmtree(self.dir, ignore_errors=True)


async def window(url: str, sessions: int, seconds: float, seed: int, questions: dict[str, list[str]],
                 degraded: set[str], timeout: float = 120.0) -> dict[str, Any]:
    """``sessions`` users send messages one at a time for ``seconds``; the figures of the window."""
    rng = random.Random(seed)
    latencies: list[float] = []
    stats = {"sent": 0, "replied": 0, "errors": 0, "empty": 0, "degraded": 0}
    t0 = time.perf_counter()
    end = t0 + seconds
    limits = httpx.Limits(max_connections=sessions + 2, max_keepalive_connections=sessions + 2)

    async def user(client: httpx.AsyncClient) -> None:
        sender = f"startup-{uuid.uuid4().hex[:12]}"
        messages = load.script(rng, questions, 1000)
        for text in messages:
            if time.perf_counter() >= end:
                return
            stats["sent"] += 1
            t = time.perf_counter()
            try:
                resp = await client.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                         timeout=timeout, headers=load._auth())
            except httpx.HTTPError:
                stats["errors"] += 1
                continue
            latencies.append(time.perf_counter() - t)
            if resp.status_code != 200:
                stats["errors"] += 1
                continue
            replies = resp.json()
            if not replies:
                stats["empty"] += 1
            elif any(r.get("text") in degraded or (r.get("text") or "").startswith(tuple(degraded)) for r in replies):
                stats["degraded"] += 1
            else:
                stats["replied"] += 1

    async with httpx.AsyncClient(limits=limits) as client:
        await asyncio.gather(*(user(client) for _ in range(sessions)))
    wall = time.perf_counter() - t0
    lat = np.array(latencies or [float("nan")]) * 1000
    return {**stats, "wall_s": round(wall, 1), "msg_s": round(len(latencies) / wall, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1), "max_ms": round(float(np.max(lat)), 1)}


def degraded_texts() -> set[str]:
    """Replies that mean the stack was not ready: search unavailable, index being rebuilt."""
    texts = Texts.load(ROOT / "data")
    out = set()
    for lang in ("en", "zh"):
        out.add(texts.t(lang, "unavailable"))
        out.add(texts.t(lang, "rebuilding", seconds=0).split("0")[0])   # the part before the number
    return out


def measure(kind: str, root: Path, sessions: int, seconds: float) -> dict[str, Any]:
    items = evaluate.load_questions(ROOT / "tests" / "eval" / "dev-questions.json")
    questions = {lang: [it["question"] for it in items if it.get("lang") == lang] for lang in ("en", "zh")}
    degraded = degraded_texts()
    stack = Started(kind, root)
    try:
        took, said = stack.start()
        print(f"{kind}: ready after {took:.1f} s (printed: Ready in {said} s)", flush=True)
        parts = stack.components()
        before = load.cpu_sample(parts)
        cold = asyncio.run(window(stack.url, sessions, seconds, 1, questions, degraded))
        middle = load.cpu_sample(parts)
        cold.update(load.cpu_per_message(before, middle, cold["sent"]))
        print(f"  cold first window: {cold}", flush=True)
        warm = asyncio.run(window(stack.url, sessions, seconds, 2, questions, degraded))
        warm.update(load.cpu_per_message(middle, load.cpu_sample(parts), warm["sent"]))
        print(f"  warm window:       {warm}", flush=True)
    finally:
        stack.stop()
    return {"ready_s": round(took, 1), "ready_printed_s": said, "cold": cold, "warm": warm,
            "cold_vs_warm_msg_s": round(cold["msg_s"] / warm["msg_s"], 2) if warm["msg_s"] else None,
            "cold_vs_warm_p95": round(cold["p95_ms"] / warm["p95_ms"], 2) if warm["p95_ms"] else None}


def summary(results: dict[str, dict[str, Any]], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for kind, r in results.items():
        k = f"{prefix}{kind}"
        out[f"{k}_ready_s"] = r["ready_s"]
        for w in ("cold", "warm"):
            out[f"{k}_{w}_msg_s"] = r[w]["msg_s"]
            out[f"{k}_{w}_p95_ms"] = r[w]["p95_ms"]
            out[f"{k}_{w}_degraded_replies"] = r[w]["degraded"] + r[w]["empty"] + r[w]["errors"]
        for part, ms in r["warm"].get("cpu_ms_per_msg", {}).items():
            out[f"{k}_warm_cpu_ms_per_msg_{part.replace(' ', '_')}"] = ms
        if r["cold_vs_warm_msg_s"] is not None:
            out[f"{k}_cold_vs_warm_msg_s_ratio"] = r["cold_vs_warm_msg_s"]
        if r["cold_vs_warm_p95"] is not None:
            out[f"{k}_cold_vs_warm_p95_ratio"] = r["cold_vs_warm_p95"]
    one, two = results.get("scaled1-pinned"), results.get("scaled2-pinned")
    if one and two and one["warm"]["msg_s"]:
        out[f"{prefix}scale_2_vs_1_instance_warm_msg_s_ratio"] = round(two["warm"]["msg_s"] / one["warm"]["msg_s"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stacks", default=",".join(STACKS), help=f"comma-separated, of: {', '.join(STACKS)}")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the cold and of the warm window")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose scripts start the stacks")
    ap.add_argument("--label", default="", help="prefix of the summary's figure names (e.g. before_)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "startup.json")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # stop the stack on the way out (finally)
    kinds = [k for k in args.stacks.split(",") if k]
    unknown = [k for k in kinds if k not in STACKS]
    if unknown:
        ap.error(f"unknown stack(s): {', '.join(unknown)}")
    results = {kind: measure(kind, args.root.resolve(), args.sessions, args.seconds) for kind in kinds}
    out = {"summary": summary(results, args.label), "seconds": args.seconds, "sessions": args.sessions,
           "root": str(args.root.resolve()), "cpus": os.cpu_count(), "stacks": results,
           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(json.dumps(out["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
