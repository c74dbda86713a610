"""NLU cross-validation with per-intent F1 per language (part of ``make eval``).

Splits data/nlu.yml into stratified folds (by intent and language), trains the NLU pipeline
of config.yml on each training part with Rasa, predicts the held-out part, and reports
precision/recall/F1 per intent for English and Chinese separately plus macro F1.
Writes bench/out/nlu_cv.json; figures are recorded in docs/nlu.md.

Usage: .venv/bin/python bench/nlu_eval.py [--folds 5] [--config config.yml]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
CJK = re.compile(r"[\u4e00-\u9fff]")
ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]+\)|\{[^}]+\})")


def plain(example: str) -> str:
    """Example text as a user types it (entity annotations removed)."""
    return ANNOTATION.sub(lambda m: m.group(1), example)


def load(path: Path) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples, other = [], []
    for block in data["nlu"]:
        if "intent" in block:
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append((block["intent"], line[2:]))
        else:
            other.append(block)
    return examples, other


def write(path: Path, examples: list[tuple[str, str]], other: list[dict[str, Any]]) -> None:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for intent, ex in examples:
        by_intent[intent].append(ex)
    lines = ['version: "3.1"', "nlu:"]
    for intent, exs in by_intent.items():
        lines += [f"  - intent: {intent}", "    examples: |"] + [f"      - {e}" for e in exs]
    for block in other:  # regex / lookup / synonym blocks go to every fold unchanged
        kind = next(k for k in ("regex", "lookup", "synonym") if k in block)
        lines += [f"  - {kind}: {block[kind]}", "    examples: |"]
        lines += [f"      {x.strip()}" for x in block["examples"].splitlines() if x.strip()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    yaml.safe_load(path.read_text(encoding="utf-8"))  # fail early on a malformed fold file


def run(cmd: list[str]) -> None:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")


def scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Per-intent precision/recall/F1 and macro F1 from (gold, predicted) pairs."""
    intents = sorted({g for g, _ in pairs})
    per: dict[str, dict[str, float]] = {}
    for intent in intents:
        tp = sum(1 for g, p in pairs if g == intent and p == intent)
        fp = sum(1 for g, p in pairs if g != intent and p == intent)
        fn = sum(1 for g, p in pairs if g == intent and p != intent)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[intent] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    macro = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    accuracy = sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0
    return {"macro_f1": macro, "accuracy": accuracy, "n": len(pairs), "intents": per}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--config", default="config.yml")
    ap.add_argument("--nlu", default="data/nlu.yml")
    ap.add_argument("--out", default="bench/out/nlu_cv.json")
    args = ap.parse_args()
    if not RASA.exists():
        print("error: .venv-rasa is missing; run make setup", file=sys.stderr)
        return 1
    examples, other = load(ROOT / args.nlu)
    rng = random.Random(42)
    groups: dict[tuple[str, bool], list[tuple[str, str]]] = defaultdict(list)
    for intent, ex in examples:
        groups[(intent, bool(CJK.search(ex)))].append((intent, ex))
    fold_of: dict[tuple[str, str], int] = {}
    for key in sorted(groups):
        items = groups[key]
        rng.shuffle(items)
        for i, item in enumerate(items):
            fold_of[item] = i % args.folds
    work = ROOT / "bench" / "out" / "nlu_cv"
    work.mkdir(parents=True, exist_ok=True)
    predictions: list[dict[str, Any]] = []
    started = time.perf_counter()
    for k in range(args.folds):
        fold = work / f"fold{k}"
        fold.mkdir(exist_ok=True)
        train = [e for e in examples if fold_of[e] != k]
        test = [e for e in examples if fold_of[e] == k]
        write(fold / "train.yml", train, other)
        write(fold / "test.yml", test, other)
        t = time.perf_counter()
        run([str(RASA), "train", "nlu", "--nlu", str(fold / "train.yml"), "--config", args.config,
             "--out", str(fold), "--fixed-model-name", "nlu"])
        train_s = time.perf_counter() - t
        run([str(RASA), "test", "nlu", "--nlu", str(fold / "test.yml"), "--model", str(fold / "nlu.tar.gz"),
             "--out", str(fold / "report"), "--successes", "--no-plot"])
        for name in ("intent_successes.json", "intent_errors.json"):
            path = fold / "report" / name
            if path.exists():
                for row in json.loads(path.read_text(encoding="utf-8")):
                    predictions.append({"text": row["text"], "gold": row["intent"],
                                        "predicted": (row.get("intent_prediction") or {}).get("name") or "",
                                        "fold": k})
        print(f"fold {k + 1}/{args.folds}: trained in {train_s:.0f} s, {len(test)} held-out examples", flush=True)
    report: dict[str, Any] = {"folds": args.folds, "config": args.config, "examples": len(examples),
                              "seconds": round(time.perf_counter() - started)}
    for lang in ("en", "zh"):
        pairs = [(p["gold"], p["predicted"]) for p in predictions if bool(CJK.search(p["text"])) == (lang == "zh")]
        report[lang] = scores(pairs)
        # routing view: low confidence on a question goes to document search anyway
        routed = [(g, g if (g == "ask_documents" and p == "nlu_fallback") else p) for g, p in pairs]
        report[lang]["routing_accuracy"] = scores(routed)["accuracy"]
    report["errors"] = [p for p in predictions if p["gold"] != p["predicted"]]
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")

    intents = sorted(report["en"]["intents"])
    print(f"\n{'intent':<18} {'EN F1':>6} {'ZH F1':>6}   (support EN/ZH)")
    for intent in intents:
        e, z = report["en"]["intents"].get(intent, {}), report["zh"]["intents"].get(intent, {})
        print(f"{intent:<18} {e.get('f1', 0):>6.3f} {z.get('f1', 0):>6.3f}   ({e.get('support', 0)}/{z.get('support', 0)})")
    for lang in ("en", "zh"):
        r = report[lang]
        print(f"[{lang}] macro F1 {r['macro_f1']:.3f}, accuracy {r['accuracy']:.3f}, "
              f"routing accuracy {r['routing_accuracy']:.3f} over {r['n']} held-out examples")
    print(f"{len(report['errors'])} errors listed in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
