"""Shared fixtures and the test tiers.

Tiers (pytest markers, ``make test-fast`` runs the first):

* unmarked: no server, no browser, no embedding model — the small corpus and ``FakeEncoder``
  (``tests/fakes.py``) stand in for the real ones;
* ``slow``: the project's index and both real embedding models (given to every test that uses
  the ``engine`` or ``idx`` fixture);
* ``e2e``: starts the action server and Rasa; ``browser``: drives Chromium; ``scale``: the
  scaled-out stack (PostgreSQL, Redis, nginx).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot import config, index  # noqa: E402
from bot.engine import Engine  # noqa: E402
from tests.fakes import FakeEncoder, copy_small_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REAL = ("engine", "idx")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in REAL):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def settings() -> config.Settings:
    return config.Settings.from_env()


@pytest.fixture(scope="session")
def engine(settings: config.Settings) -> Engine:
    """The project's engine: its index (built on first use, as a user's first search would)
    and the real models."""
    real = Engine(settings)
    real.index  # noqa: B018
    return real


@pytest.fixture(scope="session")
def idx(engine: Engine) -> index.Index:
    return engine.index


def fake_factory(name: str) -> FakeEncoder:
    return FakeEncoder(name)


@pytest.fixture()
def small_settings(tmp_path: Path, settings: config.Settings) -> config.Settings:
    """The small corpus (two documents) with its own index folder; build it with
    ``encoder_factory=fake_factory``."""
    docs = copy_small_corpus(tmp_path / "documents")
    return dataclasses.replace(settings, documents_dir=docs, index_dir=tmp_path / "index",
                               guard_cache=tmp_path / "guard")


@pytest.fixture(scope="session")
def small_engine(tmp_path_factory: pytest.TempPathFactory, settings: config.Settings) -> Engine:
    """An engine over the small corpus with ``FakeEncoder``: answers, paging, citations, the
    guard's rules and every layout work as in production; retrieval quality does not (no
    trained fusion for these models: reciprocal-rank fusion and the heuristic confidence)."""
    tmp = tmp_path_factory.mktemp("small")
    docs = copy_small_corpus(tmp / "documents")
    small = dataclasses.replace(settings, documents_dir=docs, index_dir=tmp / "index", guard_cache=tmp / "guard",
                                min_confidence=0.0)
    eng = Engine(small, encoder_factory=fake_factory)
    eng.index  # noqa: B018
    return eng


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
