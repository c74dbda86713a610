"""The ``make bench`` report: every figure of this run next to the previous run's.

Each benchmark writes ``bench/out/<name>.json`` with a top-level ``"summary"``: a flat object
{figure name: number}. ``keep`` (run at the start of ``make bench``) copies those files to
``bench/out/previous/``; the report then prints, per file, each figure now, before and the
ratio now / before (figures only one of the two runs has are shown with a dash). Any file with
a summary is picked up, whichever benchmark wrote it.

    python bench/report.py keep      # before the benchmarks run
    python bench/report.py           # after them
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def summaries(folder: Path) -> dict[str, dict[str, float]]:
    """{file stem: summary} of every JSON file in ``folder`` that has a summary of numbers."""
    found: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        summary = data.get("summary") if isinstance(data, dict) else None
        if isinstance(summary, dict):
            found[path.stem] = {str(k): float(v) for k, v in summary.items()
                                if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return found


def keep(out: Path = OUT) -> int:
    """Copy this run's summary files to ``out/previous`` (the next run's "before")."""
    previous = out / "previous"
    files = [out / f"{stem}.json" for stem in summaries(out)]
    if files:
        previous.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copy2(path, previous / path.name)
    print(f"bench report: kept {len(files)} summaries of the last run in {previous}")
    return 0


def number(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if v != 0 and abs(v) < 1:
        return f"{v:.3f}"
    return f"{v:,.1f}" if abs(v) < 10_000 else f"{v:,.0f}"


def report(out: Path = OUT) -> str:
    now, before = summaries(out), summaries(out / "previous")
    if not now:
        return "bench report: no bench/out/*.json with a summary yet (run make bench)"
    lines = []
    width = max(len(name) for figures in now.values() for name in figures) if now else 20
    for stem in sorted(set(now) | set(before)):
        current, prev = now.get(stem, {}), before.get(stem, {})
        lines.append(f"{stem}.json" + ("" if stem in now else "  (not run this time)"))
        lines.append(f"  {'figure':<{width}}  {'now':>10}  {'before':>10}  {'now/before':>10}")
        for name in list(current) + [n for n in prev if n not in current]:
            a, b = current.get(name), prev.get(name)
            ratio = f"{a / b:.2f}x" if a is not None and b not in (None, 0) else "—"
            lines.append(f"  {name:<{width}}  {number(a):>10}  {number(b):>10}  {ratio:>10}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", nargs="?", choices=("report", "keep"), default="report")
    ap.add_argument("--out", type=Path, default=OUT, help="the benchmarks' output folder")
    args = ap.parse_args(argv)
    if args.action == "keep":
        return keep(args.out)
    print(report(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
