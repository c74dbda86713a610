"""Check, before Rasa starts, that its model is readable and the stores in an endpoints file
can be reached.

Rasa 3.6 waits forever for an unreachable SQL tracker store (a warning every five seconds,
the server never answers) and falls back to keeping conversations in memory when a store
cannot be created. scripts/stack.sh and scripts/scale.sh run this first, so a wrong host,
port, password or path stops the start-up with one clear line naming the store:

    .venv-rasa/bin/python rasa_addons/preflight.py [endpoints.yml] [--timeout SECONDS]

(run as a script: importing the ``rasa_addons`` package would load all of Rasa and TensorFlow).

Exit status 0 when every configured store answers, 1 with ``error: ...`` lines otherwise.
Uses Rasa's own reading of the file (``${VAR}`` substitution included) and the drivers Rasa
itself uses (SQLAlchemy, redis-py).

The model (``--model PATH``) is checked first, with the standard library only, so a damaged
model fails in well under a second instead of Rasa starting without an agent (it then answers
every message with ``[]`` and its API says "No agent loaded"). The check reads the archive to
the end (gzip's CRC and length catch truncation and corruption) and needs ``metadata.json``
with the parts Rasa loads. ``PATH.sha256`` (``sha256sum`` format, written by ``make train``
through ``--write-checksum``) is the fast path: a model matching it is taken as good; a missing
or different checksum falls back to the full read, and a model that passes it gets its checksum
(re)written. ``--remove-damaged`` deletes a damaged model (and its checksum) so that ``make``
trains it again; ``--model-only`` skips the stores::

    .venv-rasa/bin/python rasa_addons/preflight.py endpoints.yml --model models/rasa/policy-assistant.tar.gz
    .venv-rasa/bin/python rasa_addons/preflight.py --model-only --model M --remove-damaged   # Makefile
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tarfile
import zlib
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


MODEL_KEYS = ("domain", "model_id", "rasa_open_source_version", "train_schema", "predict_schema")


def checksum_path(model: Path) -> Path:
    return model.with_name(model.name + ".sha256")


def sha256(path: Path) -> Text:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_checksum(model: Path) -> Optional[Text]:
    try:
        text = checksum_path(model).read_text(encoding="utf-8").split()
    except OSError:
        return None
    return text[0].lower() if text else None


def write_checksum(model: Path, digest: Optional[Text] = None) -> Path:
    target = checksum_path(model)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(f"{digest or sha256(model)}  {model.name}\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def read_model(model: Path) -> Optional[Text]:
    """None when the archive reads to its end and has what Rasa loads, else the reason."""
    if not model.is_file():
        return "no such file"
    metadata: Optional[bytes] = None
    names = 0
    try:
        with tarfile.open(model, "r:gz") as archive:
            for member in archive:
                names += 1
                if not member.isfile():
                    continue
                f = archive.extractfile(member)
                if f is None:
                    continue
                data = f.read() if member.name.lstrip("./") == "metadata.json" else None
                if data is None:
                    while f.read(1 << 20):
                        pass
                else:
                    metadata = data
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        return f"the archive is truncated or corrupt ({type(exc).__name__}: {exc})"
    if names == 0:
        return "the archive is empty"
    if metadata is None:
        return "the archive has no metadata.json (not a Rasa 3 model, or cut short)"
    try:
        meta = json.loads(metadata.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"its metadata.json is not valid JSON ({exc})"
    missing = [k for k in MODEL_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        return f"its metadata.json lacks {', '.join(missing)}"
    return None


def check_model(model: Path, remember: bool = True) -> Optional[Text]:
    """None when ``model`` is usable. A model matching its recorded checksum is taken as good
    without reading the archive; otherwise the archive is read to the end, and a good one gets
    its checksum written (``remember``; skipped quietly where the folder is read-only)."""
    if not model.is_file():
        return f"no trained Rasa model at {model}"
    expected = recorded_checksum(model)
    digest = sha256(model) if expected else None
    if expected and digest == expected:
        return None
    problem = read_model(model)
    if problem:
        stale = " and does not match its checksum" if expected else ""
        return f"Rasa model {model} is damaged{stale}: {problem}"
    if remember:
        try:
            write_checksum(model, digest)
        except OSError:
            pass
    return None


def _model_step(args: argparse.Namespace) -> int:
    model = Path(args.model)
    if args.remove_damaged and not model.exists():
        return 0   # nothing to check: make trains it
    problem = check_model(model, remember=True)
    if not problem:
        if args.write_checksum:
            write_checksum(model)
        return 0
    if args.remove_damaged:
        for path in (model, checksum_path(model)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        print(f"warning: {problem}; removed it so that it is trained again", file=sys.stderr)
        return 0
    retrain = "make train" if not model.exists() else f"make train; make start retrains a damaged model itself, or: rm {model} && make train"
    print(f"error: {problem} (run: {retrain})", file=sys.stderr)
    return 1


def main(argv: Optional[List[Text]] = None) -> int:
    ap = argparse.ArgumentParser(description="Check that Rasa's tracker and lock stores can be reached.")
    ap.add_argument("endpoints", nargs="?", default="endpoints.yml")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each store")
    ap.add_argument("--model", help="the Rasa model archive to check first (read to the end)")
    ap.add_argument("--model-only", action="store_true", help="check the model, not the stores")
    ap.add_argument("--write-checksum", action="store_true", help="write MODEL.sha256 after a good check")
    ap.add_argument("--remove-damaged", action="store_true",
                    help="delete a damaged model (exit 0) so that make trains it again")
    args = ap.parse_args(argv)
    if args.model:
        status = _model_step(args)
        if status or args.model_only:
            return status
    elif args.model_only:
        ap.error("--model-only needs --model")
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
