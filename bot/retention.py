"""Retention: delete conversations older than N days from Rasa's SQL tracker store.

A conversation's age is the time since its last event, so an ongoing conversation is never cut
in half. Works on the default SQLite store (``TRACKER_DB``, ``run/tracker.db``) while Rasa runs
(SQLite locks the file for the delete).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bot import config


class RetentionError(RuntimeError):
    """The tracker store cannot be read or changed."""


@dataclass(frozen=True)
class Purged:
    conversations: int
    events: int
    kept: int


def default_db() -> Path:
    value = os.environ.get("TRACKER_DB")
    return Path(value) if value else config.settings().root / "run" / "tracker.db"


def purge(days: float, db: Path | None = None, now: float | None = None, dry_run: bool = False) -> Purged:
    """Delete every conversation whose last event is more than ``days`` days old."""
    if days < 0:
        raise RetentionError("days must be 0 or more")
    path = db or default_db()
    if not path.is_file():
        raise RetentionError(f"no tracker store at {path} (set TRACKER_DB, or start the assistant once)")
    cutoff = (now if now is not None else time.time()) - days * 86400
    try:
        with sqlite3.connect(path, timeout=30) as conn:
            old = [r[0] for r in conn.execute(
                "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < ?", (cutoff,))]
            total = conn.execute("SELECT COUNT(DISTINCT sender_id) FROM events").fetchone()[0]
            events = 0
            for i in range(0, len(old), 500):
                batch = old[i:i + 500]
                marks = ",".join("?" * len(batch))
                if dry_run:
                    events += conn.execute(f"SELECT COUNT(*) FROM events WHERE sender_id IN ({marks})", batch).fetchone()[0]
                else:
                    events += conn.execute(f"DELETE FROM events WHERE sender_id IN ({marks})", batch).rowcount
    except sqlite3.DatabaseError as exc:
        raise RetentionError(f"{path} is not a readable Rasa tracker store: {exc}") from exc
    return Purged(conversations=len(old), events=events, kept=total - len(old))
