"""Read Rasa's SQL tracker store (table ``events``) for the insights report (``bot/insights.py``).

One database URL names the store, as Rasa's endpoints do:

* SQLite: ``sqlite:///run/tracker.db`` or a plain file path (read with the standard library,
  opened read-only);
* PostgreSQL: ``postgresql://user:password@host:port/db`` (the scaled-out stack,
  deploy/endpoints.scale.yml). Read with psycopg2 or psycopg where this interpreter has one;
  otherwise through Rasa's own environment (``.venv-rasa``, which always has psycopg2 for Rasa's
  SQL tracker store): ``python -m bot.trackerdb`` there prints the rows as JSON lines. The URL
  goes to that process in its environment, never on its command line.

``default_url`` is the store ``make start`` / ``scripts/scale.sh`` use: ``BOT_INSIGHTS_DB`` if
set, else PostgreSQL from ``TRACKER_HOST``/``TRACKER_PORT``/``TRACKER_DB_NAME``/``TRACKER_USER``/
``TRACKER_PASSWORD`` when ``TRACKER_HOST`` is set, else SQLite ``TRACKER_DB`` (``run/tracker.db``).

Standard library only (plus the PostgreSQL driver where there is one): Rasa's environment runs it.
Only the event types the report needs are read (``user``, ``bot``, ``slot``), ordered by
conversation and event id. Nothing here logs a row.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
TYPES = ("user", "bot", "slot")
URL_VARIABLE = "POLICY_ASSISTANT_TRACKER_URL"   # how the URL reaches the reader in Rasa's environment


class TrackerDBError(RuntimeError):
    """The tracker store cannot be read (the message names the store, never its password)."""


@dataclass(frozen=True)
class Row:
    sender_id: str
    type_name: str
    timestamp: float
    data: dict[str, Any]


def default_url(environ: dict[str, str] | None = None) -> str:
    """The tracker store of ``make start`` (SQLite) or of the scaled-out stack (PostgreSQL)."""
    env = os.environ if environ is None else environ
    if env.get("BOT_INSIGHTS_DB"):
        return env["BOT_INSIGHTS_DB"]
    if env.get("TRACKER_HOST"):
        user = quote(env.get("TRACKER_USER", "rasa"), safe="")
        password = env.get("TRACKER_PASSWORD", "")
        auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
        return (f"postgresql://{auth}{env['TRACKER_HOST']}:{env.get('TRACKER_PORT', '5432')}/"
                f"{quote(env.get('TRACKER_DB_NAME', 'rasa'), safe='')}")
    return "sqlite:///" + str(Path(env.get("TRACKER_DB") or ROOT / "run" / "tracker.db"))


def dialect(url: str) -> str:
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else "sqlite"
    if scheme in ("postgres", "postgresql"):
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise TrackerDBError(f"unsupported tracker store {scheme!r} (sqlite:///FILE or postgresql://...)")


def describe(url: str) -> str:
    """The store, for messages and the report: without a password."""
    if dialect(url) == "sqlite":
        return f"sqlite {sqlite_path(url)}"
    parts = urlsplit(url)
    return f"postgresql {parts.username or ''}@{parts.hostname or ''}:{parts.port or 5432}{parts.path}"


def sqlite_path(url: str) -> Path:
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    if url.startswith("sqlite://"):
        return Path(url[len("sqlite://"):])
    return Path(url)


def _decode(sender: str, type_name: str, timestamp: Any, data: Any) -> Row | None:
    try:
        parsed = json.loads(data) if isinstance(data, (str, bytes)) else (data or {})
    except ValueError:
        return None   # a damaged event is skipped, not reported (its text would be in the message)
    if not isinstance(parsed, dict):
        return None
    return Row(str(sender), str(type_name), float(timestamp or 0.0), parsed)


QUERY = ("SELECT sender_id, type_name, timestamp, data FROM events WHERE type_name IN ('user', 'bot', 'slot') "
         "AND timestamp >= {mark} ORDER BY sender_id, id")


def _sqlite_rows(url: str, since: float) -> Iterator[Row]:
    path = sqlite_path(url)
    if not path.is_file():
        raise TrackerDBError(f"no tracker store at {path} (set TRACKER_DB or --db, or start the assistant once)")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise TrackerDBError(f"cannot open {path}: {exc}") from None
    try:
        for sender, type_name, timestamp, data in conn.execute(QUERY.format(mark="?"), (since,)):
            row = _decode(sender, type_name, timestamp, data)
            if row is not None:
                yield row
    except sqlite3.Error as exc:
        raise TrackerDBError(f"{path} is not a readable Rasa tracker store: {exc}") from None
    finally:
        conn.close()


def _driver() -> Any:
    for name in ("psycopg2", "psycopg"):
        try:
            return __import__(name)
        except ImportError:
            continue
    return None


def _postgres_direct(driver: Any, url: str, since: float) -> Iterator[Row]:
    parts = urlsplit(url)
    kwargs = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432,
              "dbname": unquote(parts.path.lstrip("/")) or "rasa", "user": unquote(parts.username or ""),
              "password": unquote(parts.password or ""), "connect_timeout": 10}
    try:
        conn = driver.connect(**kwargs)
    except Exception as exc:   # the driver's own error class; its message names no password
        raise TrackerDBError(f"cannot connect to {describe(url)}: {str(exc).strip().splitlines()[0]}") from None
    try:
        with conn.cursor() as cur:
            cur.execute(QUERY.format(mark="%s"), (since,))
            for sender, type_name, timestamp, data in cur:
                row = _decode(sender, type_name, timestamp, data)
                if row is not None:
                    yield row
    except Exception as exc:
        raise TrackerDBError(f"{describe(url)} is not a readable Rasa tracker store: "
                             f"{str(exc).strip().splitlines()[0]}") from None
    finally:
        conn.close()


def _postgres_via_rasa(url: str, since: float) -> Iterator[Row]:
    if not RASA_PYTHON.exists():
        raise TrackerDBError("reading PostgreSQL needs psycopg2 (in .venv-rasa, made by make setup)")
    env = {**os.environ, URL_VARIABLE: url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([str(RASA_PYTHON), "-m", "bot.trackerdb", repr(float(since))], cwd=ROOT, env=env,
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TrackerDBError(message[-1] if message else f"cannot read {describe(url)}")
    for line in proc.stdout.decode("utf-8").splitlines():
        sender, type_name, timestamp, data = json.loads(line)
        yield Row(sender, type_name, timestamp, data)


def rows(url: str, since: float = 0.0, delegate: bool = True) -> Iterator[Row]:
    """The ``user``, ``bot`` and ``slot`` events from ``since`` (epoch seconds), by conversation.
    (``delegate``: without a PostgreSQL driver here, read through Rasa's environment.)"""
    if dialect(url) == "sqlite":
        yield from _sqlite_rows(url, since)
        return
    driver = _driver()
    if driver is not None:
        yield from _postgres_direct(driver, url, since)
    elif delegate:
        yield from _postgres_via_rasa(url, since)
    else:
        raise TrackerDBError("reading PostgreSQL needs psycopg2 or psycopg")


def main(argv: list[str]) -> int:
    """``python -m bot.trackerdb SINCE`` with the URL in the environment: rows as JSON lines."""
    url = os.environ.get(URL_VARIABLE, "")
    try:
        since = float(argv[0]) if argv else 0.0
        out = sys.stdout
        for row in rows(url, since, delegate=False):
            out.write(json.dumps([row.sender_id, row.type_name, row.timestamp, row.data], ensure_ascii=False) + "\n")
    except TrackerDBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
