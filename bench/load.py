"""Bounded load run against a running stack (``make load``).

N concurrent sessions each send M messages through Rasa's REST channel, one at a time as a
person would (wait for the reply, then send the next): English and Chinese document questions
from the dev set, greetings, thanks and follow-ups ("tell me more", "更多", "show the full
paragraph"). Prints messages sent, replies received, errors, lost replies, latency percentiles
and throughput; writes the figures as JSON (``--out``).

A *lost* reply is a message the server accepted (HTTP 200) without a bot message in the reply,
or, when ``--token`` is given, a user message missing from the conversation's tracker afterwards
(the tracker is checked through Rasa's HTTP API, and the order of the turns with it).

    python bench/load.py --url http://127.0.0.1:5005 --sessions 20 --messages 50 [--token T]
    python bench/load.py --start --out bench/out/load-single.json     # (make bench)

``--start``: start a single stack of its own on free ports (action server and Rasa, as
``tests/stack.py`` does; per-sender rate limit off, the tracker checked with a token), warm it
with one short run, measure, stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import evaluate  # noqa: E402

SMALL_TALK = {
    "en": ["hello", "thanks!", "what can you do?", "which documents do you have?"],
    "zh": ["你好", "谢谢", "你能做什么？", "有哪些文件？"],
}
FOLLOW_UPS = {
    "en": ["tell me more", "show the full paragraph", "which document is that?"],
    "zh": ["更多", "显示完整段落", "这是哪个文件？"],
}


def script(rng: random.Random, questions: dict[str, list[str]], n: int) -> list[str]:
    """One session's messages: a greeting, then questions mixed with follow-ups and small talk."""
    lang = rng.choice(["en", "zh"])
    out = [SMALL_TALK[lang][0]]
    while len(out) < n:
        r = rng.random()
        if r < 0.15:                       # users switch language now and then
            lang = "zh" if lang == "en" else "en"
        if r < 0.55:
            out.append(rng.choice(questions[lang]))
        elif r < 0.85:
            out.append(rng.choice(FOLLOW_UPS[lang]))
        else:
            out.append(rng.choice(SMALL_TALK[lang]))
    return out[:n]


def _limit_texts() -> set[str]:
    """The reply Rasa sends instead of processing a message over the per-sender rate limit."""
    from bot import config
    from bot.texts import Texts

    texts = Texts.load(config.ROOT / "data")
    return {texts.t(lang, "rate_limited") for lang in ("en", "zh")}


def _auth() -> dict[str, str]:
    """The REST channel's token, when one is set (docs/channels.md)."""
    token = os.environ.get("REST_TOKEN", "")
    return {"Authorization": f"Bearer {token}"} if token else {}


async def session(client: httpx.AsyncClient, url: str, sender: str, messages: list[str],
                  latencies: list[float], stats: dict[str, int], timeout: float,
                  accepted: list[str] | None = None) -> None:
    limited = _limit_texts()
    for text in messages:
        stats["sent"] += 1
        t = time.perf_counter()
        try:
            resp = await client.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                     timeout=timeout, headers=_auth())
        except httpx.HTTPError as exc:
            stats["errors"] += 1
            stats.setdefault(f"error:{type(exc).__name__}", 0)
            stats[f"error:{type(exc).__name__}"] += 1
            continue
        latencies.append(time.perf_counter() - t)
        if resp.status_code != 200:
            stats["errors"] += 1
            key = f"http:{resp.status_code}"
            stats[key] = stats.get(key, 0) + 1
            continue
        replies = resp.json()
        if replies and all(r.get("text") in limited for r in replies):
            stats["rate_limited"] += 1   # refused by the stack's per-sender limit, not processed
            continue
        if accepted is not None:
            accepted.append(text)
        if replies:
            stats["replied"] += 1
            stats["bot_messages"] += len(replies)
        else:
            stats["lost"] += 1


async def check_trackers(client: httpx.AsyncClient, url: str, token: str,
                         sent: dict[str, list[str]]) -> tuple[int, int]:
    """(user messages missing from trackers, conversations whose turns are out of order)."""
    missing = disordered = 0
    for sender, messages in sent.items():
        resp = await client.get(f"{url}/conversations/{sender}/tracker", params={"token": token}, timeout=60)
        resp.raise_for_status()
        events = resp.json()["events"]
        said = [e.get("text") for e in events if e.get("event") == "user"]
        missing += max(0, len(messages) - len(said))
        if said != messages[: len(said)]:
            disordered += 1
    return missing, disordered


async def run(url: str, sessions: int, messages: int, token: str | None, seed: int, timeout: float) -> dict[str, Any]:
    items = evaluate.load_questions(ROOT / "tests" / "eval" / "dev-questions.json")
    questions = {lang: [it["question"] for it in items if it.get("lang") == lang] for lang in ("en", "zh")}
    rng = random.Random(seed)
    plans = {f"load-{uuid.uuid4().hex[:12]}": script(rng, questions, messages) for _ in range(sessions)}
    stats = {"sent": 0, "replied": 0, "bot_messages": 0, "errors": 0, "lost": 0, "rate_limited": 0}
    accepted: dict[str, list[str]] = {s: [] for s in plans}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=sessions + 2, max_keepalive_connections=sessions + 2)
    async with httpx.AsyncClient(limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(session(client, url, s, m, latencies, stats, timeout, accepted[s])
                               for s, m in plans.items()))
        wall = time.perf_counter() - t0
        if token:
            missing, disordered = await check_trackers(client, url, token, accepted)
            stats["lost"] += missing
            stats["disordered_conversations"] = disordered
    lat = np.array(latencies or [float("nan")]) * 1000
    return {
        "url": url, "sessions": sessions, "messages_per_session": messages, **stats,
        "wall_s": round(wall, 1), "throughput_msg_s": round(stats["sent"] / wall, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1), "tracker_checked": bool(token),
    }


def summary(res: dict[str, Any]) -> dict[str, float]:
    """The figures ``bench/report.py`` shows next to the previous run's."""
    out = {"msg/s": res["throughput_msg_s"], "p50 ms": res["p50_ms"], "p95 ms": res["p95_ms"],
           "p99 ms": res["p99_ms"], "errors": res["errors"], "lost": res["lost"]}
    out.update({f"CPU ms per message, {part}": ms for part, ms in res.get("cpu_ms_per_msg", {}).items()})
    return out


TICK = os.sysconf("SC_CLK_TCK")


def _procs() -> dict[int, tuple[int, int, float]]:
    """{pid: (ppid, pgid, CPU seconds)} of every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                f = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = (int(f[1]), int(f[2]), (int(f[11]) + int(f[12])) / TICK)
    return out


def cpu_sample(parts: dict[str, list[tuple[str, int]]]) -> dict[str, float]:
    """CPU seconds so far of each part, of this process (the load generator) and of the machine."""
    procs = _procs()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, float] = {}
    for name, refs in parts.items():
        total = 0.0
        for how, n in refs:
            if how == "group":
                total += sum(cpu for pgid_pid, (_, pgid, cpu) in procs.items() if pgid == n)
            else:
                todo = [n]
                while todo:
                    pid = todo.pop()
                    total += procs.get(pid, (0, 0, 0.0))[2]
                    todo.extend(children.get(pid, []))
        out[name] = total
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["load generator"] = usage.ru_utime + usage.ru_stime
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    out["_machine_busy"] = (sum(fields) - fields[3] - fields[4]) / TICK
    out["_machine_all"] = sum(fields) / TICK
    return out


def cpu_per_message(before: dict[str, float], after: dict[str, float], messages: int) -> dict[str, Any]:
    used = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after if not k.startswith("_")}
    all_s = after["_machine_all"] - before["_machine_all"]
    return {"cpu_ms_per_msg": {k: round(v * 1000 / max(messages, 1), 1) for k, v in used.items()},
            "cpu_s": {k: round(v, 1) for k, v in used.items()},
            "machine_busy_share": round((after["_machine_busy"] - before["_machine_busy"]) / all_s, 2) if all_s else None}


def own_stack(args: argparse.Namespace) -> dict[str, Any]:
    """The load run against a single stack this process starts (and stops)."""
    import tempfile

    from tests.stack import Stack

    token = uuid.uuid4().hex
    os.environ.update({"RATE_LIMIT_PER_MINUTE": "0"})
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start_actions()
            stack.start_rasa(api_token=token)
            url = f"http://127.0.0.1:{stack.rasa_port}"
            stack.send("What is PhotoDNA?", sender="warm-up")
            asyncio.run(run(url, args.sessions, 10, None, args.seed + 1, args.timeout))   # warm: models, caches
            assert stack.actions is not None and stack.rasa is not None
            parts = {"action server": [("tree", stack.actions.pid)], "Rasa": [("tree", stack.rasa.pid)]}
            before = cpu_sample(parts)
            res = asyncio.run(run(url, args.sessions, args.messages, token, args.seed, args.timeout))
            res.update(cpu_per_message(before, cpu_sample(parts), res["sent"]))
        finally:
            stack.stop()
    res["url"] = "own single stack (bench/load.py --start)"
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:5005", help="Rasa (or the load balancer) base URL")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--messages", type=int, default=50, help="messages per session")
    ap.add_argument("--token", default=None, help="RASA_TOKEN: also check every turn reached the tracker")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a reply counts as an error")
    ap.add_argument("--label", default="", help="name of the stack, printed and saved")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    ap.add_argument("--start", action="store_true", help="start a single stack of its own on free ports")
    args = ap.parse_args(argv)
    if args.start:
        res = own_stack(args)
    else:
        try:
            httpx.get(f"{args.url}/webhooks/rest/", timeout=5).raise_for_status()
        except httpx.HTTPError as exc:
            print(f"error: no Rasa REST channel at {args.url} ({exc}); start the stack first (make start)",
                  file=sys.stderr)
            return 1
        res = asyncio.run(run(args.url, args.sessions, args.messages, args.token or None, args.seed, args.timeout))
    res["label"] = args.label
    res["summary"] = summary(res)
    print(f"load {args.label or args.url}: {res['sessions']} sessions x {res['messages_per_session']} messages")
    print(f"  sent {res['sent']}, replied {res['replied']} ({res['bot_messages']} bot messages), "
          f"errors {res['errors']}, lost {res['lost']}, rate-limited {res['rate_limited']}"
          + (f", conversations out of order {res['disordered_conversations']}" if res["tracker_checked"] else
             " (tracker not checked: no --token)"))
    print(f"  latency p50 {res['p50_ms']} ms, p95 {res['p95_ms']} ms, p99 {res['p99_ms']} ms; "
          f"throughput {res['throughput_msg_s']} msg/s over {res['wall_s']} s")
    if "cpu_ms_per_msg" in res:
        print("  CPU per message: " + ", ".join(f"{part} {ms} ms" for part, ms in res["cpu_ms_per_msg"].items())
              + f" (machine busy {res['machine_busy_share']:.0%}; {os.cpu_count()} cores allow about "
              f"{1000 * (os.cpu_count() or 1) / max(sum(res['cpu_ms_per_msg'].values()), 1e-9):.0f} msg/s "
              "at this CPU cost)")
    if res["rate_limited"]:
        print("  note: the stack's per-sender rate limit refused some messages (each simulated user sends "
              "without pause); for a capacity run start the stack with RATE_LIMIT_PER_MINUTE=0")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0 if res["errors"] == 0 and res["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
