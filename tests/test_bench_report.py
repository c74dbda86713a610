"""bench/report.py: every summary file, each figure next to the previous run's."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report


def _write(path: Path, summary: dict[str, object], **extra: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"summary": summary, **extra}), encoding="utf-8")


def test_figures_are_shown_next_to_the_previous_run(tmp_path: Path) -> None:
    _write(tmp_path / "search.json", {"search p50 ms": 30.0, "search p95 ms": 40.0})
    _write(tmp_path / "other.json", {"msg/s": 80.0})
    (tmp_path / "nosummary.json").write_text(json.dumps({"x": 1}), encoding="utf-8")
    assert report.keep(tmp_path) == 0
    assert sorted(p.name for p in (tmp_path / "previous").iterdir()) == ["other.json", "search.json"]
    _write(tmp_path / "search.json", {"search p50 ms": 15.0, "new figure": 2.0, "flag": True})
    _write(tmp_path / "startup.json", {"first minute msg/s": 40.0})   # a benchmark added later
    text = report.report(tmp_path)
    line = next(x for x in text.splitlines() if "search p50 ms" in x)
    assert line.split()[-3:] == ["15.0", "30.0", "0.50x"]
    assert "search p95 ms" in text and "new figure" in text and "first minute msg/s" in text
    assert "flag" not in text and "nosummary" not in text
    assert "other.json" in text   # not re-run: still listed with its previous figures


def test_no_summaries_yet(tmp_path: Path) -> None:
    assert "no bench/out" in report.report(tmp_path)
