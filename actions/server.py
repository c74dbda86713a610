"""The action server: ``python -m actions --port 5055`` (``actions/__main__.py`` runs ``main``).

rasa-sdk's own server, built so that each Sanic worker makes its engine (``bot/engine.py``)
and registers the actions with it; the engine warms up (index, both embedding models, the
fusion model, the guard's classifier, one real search) in a thread once the worker serves.
Models load inside the worker, never in the main process: Sanic 25 starts workers with the
"spawn" method, and a model loaded before that makes start-up fail.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from functools import partial

log = logging.getLogger("actions")


def create_app(cors: str = "*") -> "object":
    """The Sanic app of one worker: the engine, the actions registered with it, the warm-up."""
    from rasa_sdk.endpoint import create_app as sdk_app
    from rasa_sdk.executor import ActionExecutor

    from actions.actions import ACTIONS
    from bot.engine import Engine

    _configure_logging()   # a spawned worker starts with logging unconfigured
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


def _configure_logging() -> None:
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    # the factory must be importable by name: Sanic's workers are spawned and import it
    loader = AppLoader(factory=partial(create_app, args.cors))
    app = loader.load()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    log.info("action server on http://%s:%s", host, args.port)
    app.prepare(host=host, port=args.port, workers=1, access_log=False)
    Sanic.serve(primary=app, app_loader=loader)
