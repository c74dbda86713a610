"""Shared fixtures: the real index (built once if missing) and small throw-away indexes."""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import Any
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot import config, index, search  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def settings() -> config.Settings:
    return config.settings()


@pytest.fixture(scope="session")
def idx(settings: config.Settings) -> index.Index:
    """The project's index (built on first use, as a user's first search would)."""
    loaded = index.ensure(settings, progress=False)
    search.set_index(loaded)
    return loaded


@pytest.fixture()
def small_settings(tmp_path: Path, settings: config.Settings) -> config.Settings:
    """A copy of two documents with their own index folder; primary model only (fast)."""
    docs = tmp_path / "documents"
    docs.mkdir()
    for name in ("congress-ws4-report.txt", "catalog.yml"):
        shutil.copy(settings.documents_dir / name, docs / name)
    return dataclasses.replace(settings, documents_dir=docs, index_dir=tmp_path / "index", extra_models=())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per messaging channel after tests/test_channels.py (``make test-channels``)."""
    from tests.channels import REPORT

    outcomes: dict[str, str] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for rep in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(rep, "nodeid", "")
            if "test_channels.py::test_" in nodeid and getattr(rep, "when", "call") in ("call", "setup"):
                name = nodeid.split("::test_", 1)[1]
                outcomes[name] = outcome if outcomes.get(name) in (None, "passed") else outcomes[name]
    if not outcomes:
        return
    terminalreporter.section("messaging channels")
    for name, outcome in outcomes.items():
        detail = REPORT.get(name, "") if outcome == "passed" else "see the failure above"
        terminalreporter.write_line(f"{name:<13} {outcome.upper():<7} {detail}")
