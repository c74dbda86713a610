"""Shared fixtures: the real index (built once if missing) and small throw-away indexes."""

from __future__ import annotations

import dataclasses
import os
import shutil
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
