"""Guard benchmark (``make bench``): cost of the safety check per message, classifier training
time and memory, and the share of a full guarded reply the guard takes.

Prints percentiles and ratios; writes bench/out/guard.json. Figures are recorded in
docs/performance.md and docs/safety.md. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.search_bench import pct, rss_mb  # noqa: E402
from bot import config, guard, safety  # noqa: E402
from bot.engine import Engine  # noqa: E402


def main() -> int:
    settings = config.settings()
    engine = Engine(settings)
    engine.searcher  # noqa: B018 - the index and models, as in the action server
    before = rss_mb()
    for cached in settings.guard_cache.glob("classifier.*"):
        cached.unlink()
    t0 = time.perf_counter()
    engine.guard.classifier  # noqa: B018 - trains it (no cache)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    guard.load_classifier(settings, engine.encode_texts, engine.index.models[0])
    load_s = time.perf_counter() - t0
    after = rss_mb()

    messages = []
    for path in sorted((ROOT / "tests" / "eval").glob("safety*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                messages.append((item["text"], item.get("history") or []))
    guard_ms, total_ms = [], []
    for text, history in messages:
        t0 = time.perf_counter()
        engine.guard.check(text, history=history)
        guard_ms.append((time.perf_counter() - t0) * 1000)
    policy = [json.loads(line)["text"] for line in (ROOT / "tests" / "eval" / "safety.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip() and json.loads(line)["label"] == "policy"]
    shares = []
    for text in policy:
        t0 = time.perf_counter()
        engine.guard.check(text)
        g = time.perf_counter() - t0
        t0 = time.perf_counter()
        safety.handle(engine, text)
        whole = time.perf_counter() - t0
        total_ms.append(whole * 1000)
        shares.append(g / whole)
    report = {
        "messages": len(messages),
        "guard_ms": {p: pct(guard_ms, p) for p in (50, 95, 99)},
        "guarded_answer_ms": {p: pct(total_ms, p) for p in (50, 95)},
        "guard_share_of_answer_p50": pct(shares, 50),
        "classifier_train_s": train_s, "classifier_load_from_cache_s": load_s,
        "classifier_rss_mb": after - before,
    }
    report["summary"] = {
        "guard check p50 ms": report["guard_ms"][50], "guard check p95 ms": report["guard_ms"][95],
        "guarded answer p50 ms": report["guarded_answer_ms"][50],
        "guarded answer p95 ms": report["guarded_answer_ms"][95],
        "guard share of answer p50": report["guard_share_of_answer_p50"],
        "classifier train s": train_s,
    }
    print(f"Guard over {len(messages)} messages: p50 {report['guard_ms'][50]:.1f} ms, p95 {report['guard_ms'][95]:.1f} ms, "
          f"p99 {report['guard_ms'][99]:.1f} ms")
    print(f"Guarded policy answer: p50 {report['guarded_answer_ms'][50]:.1f} ms, p95 {report['guarded_answer_ms'][95]:.1f} ms;"
          f" guard share of it p50 {report['guard_share_of_answer_p50']:.0%}")
    print(f"Classifier: train {train_s:.1f} s (first run), load from cache {load_s:.2f} s; RSS +{report['classifier_rss_mb']:.0f} MB "
          f"after training (mostly the encoder's batch arena; loading from cache adds a few MB)")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "guard.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
