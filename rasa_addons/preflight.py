"""Check, before Rasa starts, that the stores in an endpoints file can be reached.

Rasa 3.6 waits forever for an unreachable SQL tracker store (a warning every five seconds,
the server never answers) and falls back to keeping conversations in memory when a store
cannot be created. scripts/stack.sh and scripts/scale.sh run this first, so a wrong host,
port, password or path stops the start-up with one clear line naming the store:

    .venv-rasa/bin/python rasa_addons/preflight.py [endpoints.yml] [--timeout SECONDS]

(run as a script: importing the ``rasa_addons`` package would load all of Rasa and TensorFlow).

Exit status 0 when every configured store answers, 1 with ``error: ...`` lines otherwise.
Uses Rasa's own reading of the file (``${VAR}`` substitution included) and the drivers Rasa
itself uses (SQLAlchemy, redis-py).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any, List, Optional, Text


warnings.showwarning = lambda *args, **kwargs: None  # Rasa's import-time deprecation noise


def _describe_sql(cfg: Any) -> Text:
    kw = cfg.kwargs
    dialect = kw.get("dialect", "sqlite")
    if dialect == "sqlite":
        return f"SQLite file {kw.get('db', 'rasa.db')}"
    user = f"{kw['username']}@" if kw.get("username") else ""
    return f"{dialect} database {user}{cfg.url or 'localhost'}:{kw.get('port') or '(default port)'}/{kw.get('db', '')}"


def check_tracker_store(cfg: Any, timeout: float) -> Optional[Text]:
    """None when the tracker store answers, else the reason."""
    if cfg is None or not cfg.type:
        return None
    kind = cfg.type.lower()
    if kind == "sql" or kind.endswith("sqltrackerstore"):
        kw = cfg.kwargs
        if kw.get("dialect", "sqlite") == "sqlite":
            path = Path(str(kw.get("db", "rasa.db")))
            folder = path.parent if str(path.parent) else Path(".")
            if not folder.is_dir() or not os.access(folder, os.W_OK):
                return f"tracker store {_describe_sql(cfg)}: folder {folder} does not exist or is not writable"
            return None
        import sqlalchemy as sa

        host = cfg.url or "localhost"
        url = host if "://" in host else sa.engine.url.URL.create(
            kw["dialect"], kw.get("username"), kw.get("password"), host,
            int(kw["port"]) if kw.get("port") else None, kw.get("login_db") or kw.get("db", "rasa"))
        args = {"connect_timeout": max(1, int(timeout))} if str(kw.get("dialect")).startswith("postgres") else {}
        try:
            engine = sa.create_engine(url, connect_args=args)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # any driver error: report it, do not crash
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            return f"tracker store {_describe_sql(cfg)} is unreachable: {reason}"
        return None
    if kind == "redis":
        return _check_redis("tracker store", cfg, timeout)
    return None  # other stores: Rasa reports them itself


def _check_redis(what: Text, cfg: Any, timeout: float) -> Optional[Text]:
    import redis

    kw = cfg.kwargs
    host, port = cfg.url or "localhost", int(kw.get("port") or 6379)
    try:
        client = redis.Redis(host=host, port=port, db=int(kw.get("db") or 0), password=kw.get("password") or None,
                             ssl=bool(kw.get("use_ssl", False)), socket_connect_timeout=timeout, socket_timeout=timeout)
        client.ping()
    except Exception as exc:
        return f"{what} Redis at {host}:{port} is unreachable: {exc}"
    return None


def check_lock_store(cfg: Any, timeout: float) -> Optional[Text]:
    if cfg is None or not cfg.type or cfg.type.lower() != "redis":
        return None
    return _check_redis("lock store", cfg, timeout)


def main(argv: Optional[List[Text]] = None) -> int:
    ap = argparse.ArgumentParser(description="Check that Rasa's tracker and lock stores can be reached.")
    ap.add_argument("endpoints", nargs="?", default="endpoints.yml")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each store")
    args = ap.parse_args(argv)
    from rasa.utils.endpoints import read_endpoint_config

    try:
        tracker = read_endpoint_config(args.endpoints, "tracker_store")
        lock = read_endpoint_config(args.endpoints, "lock_store")
    except Exception as exc:  # missing ${VAR}, bad YAML, ...
        print(f"error: cannot read {args.endpoints}: {exc}", file=sys.stderr)
        return 1
    problems = [p for p in (check_tracker_store(tracker, args.timeout), check_lock_store(lock, args.timeout)) if p]
    for p in problems:
        print(f"error: {p} (configured in {args.endpoints})", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
