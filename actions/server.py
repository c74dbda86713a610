"""The action server: ``python -m actions --port 5055`` (``actions/__main__.py`` runs ``main``).

rasa-sdk's own server, built so that each Sanic worker makes its engine (``bot/engine.py``)
and registers the actions with it; the engine warms up (index, both embedding models, the
fusion model, the guard's classifier, one real search) in a thread once the worker serves.
Models load inside the worker, never in the main process: Sanic 25 starts workers with the
"spawn" method, and a model loaded before that makes start-up fail.

A worker dies with the process that started it (``die_with_parent``: Linux's
``PR_SET_PDEATHSIG``), so a ``kill -9`` of the main process does not leave a worker serving the
port or rebuilding the index on its own. ``scripts/stack.sh`` also runs the server in its own
process group and stops the whole group; this is the second line of defence.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from functools import partial

log = logging.getLogger("actions")


def create_app(cors: str = "*") -> "object":
    """The Sanic app of one worker: the engine, the actions registered with it, the warm-up."""
    from rasa_sdk.endpoint import create_app as sdk_app
    from rasa_sdk.executor import ActionExecutor

    from actions.actions import ACTIONS
    from bot.engine import Engine

    _configure_logging()   # a spawned worker starts with logging unconfigured
    if os.environ.get("SANIC_WORKER_NAME"):   # set by Sanic in its worker processes only
        die_with_parent()
    engine = Engine.from_env()
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(engine))
    app = sdk_app(executor, cors_origins=cors)

    async def warm_up(app_: object) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, engine.warm_up)
            log.info("search index and models loaded")
        except Exception:  # the first real question reports any problem to the user
            log.exception("warm-up failed")

    app.add_task(warm_up)
    return app


PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent exits (a Sanic worker whose
    main process was killed). True when set; False elsewhere (not Linux, no libc). If the parent
    is already gone (the worker was re-parented before the call), the signal is sent now.
    SIGKILL, not SIGTERM: a worker shutting down gracefully would first finish an index rebuild
    running in its thread pool and write ``models/index`` with nobody left to serve it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    parent = os.getppid()
    expected = os.environ.get("ACTIONS_MAIN_PID")
    gone = parent != int(expected) if expected and expected.isdigit() else parent == 1
    if gone:
        os.kill(os.getpid(), sig)   # the parent died before prctl: nobody would signal us
    return True


def _configure_logging() -> None:
    from bot import redact

    redact.install()   # no message text or sender id in any log line (bot/redact.py)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
        for noisy in ("faiss.loader", "sentence_transformers"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    parser = argparse.ArgumentParser(prog="python -m actions", description="Policy Assistant action server")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    parser.add_argument("--cors", default="*", help="origins allowed to call the server (default *)")
    args = parser.parse_args(argv)
    os.environ["ACTIONS_MAIN_PID"] = str(os.getpid())   # workers check their parent is still this one
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    # the factory must be importable by name: Sanic's workers are spawned and import it
    loader = AppLoader(factory=partial(create_app, args.cors))
    app = loader.load()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    log.info("action server on http://%s:%s", host, args.port)
    app.prepare(host=host, port=args.port, workers=1, access_log=False)
    Sanic.serve(primary=app, app_loader=loader)
