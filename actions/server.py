"""The action server: ``python -m actions --port 5055`` (``actions/__main__.py`` runs ``main``).

rasa-sdk's own server, built so that each Sanic worker makes its engine (``bot/engine.py``)
and registers the actions with it; the engine warms up (index, both embedding models, the
fusion model, the guard's classifier, one real search) in a thread once the worker serves.
Models load inside the worker, never in the main process: Sanic 25 starts workers with the
"spawn" method, and a model loaded before that makes start-up fail.

Readiness (``GET /ready``, no token; it says only yes or no and why): 200 ``{"ready": true}`` once
*every* Sanic worker has finished its warm-up: the engine's (``Engine.warm_up``) and then a short
scripted conversation run through the real actions in this process (an English and a Chinese
question, their follow-ups, small talk, a refusal), because the first reply on each of those paths
still paid about a second of lazy loading after ``Engine.warm_up`` alone. Before that, and for
good when a warm-up failed, 503 ``{"ready": false, "reason": ...}``. Sanic's workers share one
listening socket and the kernel hands each connection to any of them, so a load balancer asking
``/ready`` reaches one worker at random: each worker publishes its own state in Sanic's shared
worker state (``app.m.state``, tagged with its pid so a restarted worker starts cold again), and
``/ready`` answers from all of them. ``GET /health`` (rasa-sdk's) stays a liveness check.

With ``--refuse-until-warm`` (``scripts/scale.sh``, behind nginx) a worker answers action calls
(``POST /webhook``) with that 503 until *it* is warm, instead of making them wait for its models;
nginx then passes the call to another action server (``proxy_next_upstream ... http_503
non_idempotent``: safe, the actions are pure functions of the tracker) and counts the failure
(``max_fails``). Without it (``scripts/stack.sh``: one action server, nobody to pass to) a call
during the warm-up waits for the models, as before.

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
import time
from functools import partial
from typing import Any, Mapping

log = logging.getLogger("actions")


# The warm-up conversation: each turn runs the action Rasa would call, with the slots the
# previous turn set, so every path a user's first messages take has loaded what it needs (English
# and Chinese search and highlights, "more", the paragraph and source views, small talk, the
# guard's refusal). Fixed texts: nothing a user sent.
WARM_UP_TURNS: tuple[tuple[str, str, str], ...] = (
    ("action_search_documents", "What do the documents say about 3D-printed guns?", "ask_documents"),
    ("action_more_results", "tell me more", "more_results"),
    ("action_show_paragraph", "show the full paragraph", "ask_paragraph"),
    ("action_show_source", "which document is that?", "show_source"),
    ("action_search_documents", "人贩子是怎样利用加密货币转移非法收益的？", "ask_documents"),
    ("action_more_results", "更多", "more_results"),
    ("action_show_original", "显示原文", "show_original"),
    ("action_search_documents", "what can you do?", "help"),
    ("action_refuse", "how do I buy a gun on the darknet", "request_harmful"),
)


class Readiness:
    """This worker's warm-up state, published where every worker's ``/ready`` can read it."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self.state = "warming up"   # "warm" or "warm-up failed: ..." later
        self.started = time.monotonic()
        self.seconds: float | None = None
        self.shared: Any = None     # Sanic's worker state (app.m.state) in a worker process

    @property
    def warm(self) -> bool:
        return self.state == "warm"

    def attach(self, app: Any) -> None:
        """Use Sanic's shared worker state (only in a worker process run by Sanic's manager)."""
        try:
            self.shared = app.m.state
        except (AttributeError, KeyError):
            self.shared = None
        self._publish()

    def done(self, error: BaseException | None = None) -> None:
        self.seconds = round(time.monotonic() - self.started, 1)
        self.state = "warm" if error is None else f"warm-up failed: {type(error).__name__}: {error}"[:300]
        self._publish()

    def _publish(self) -> None:
        if self.shared is not None:
            self.shared.update({"warm_pid": os.getpid(), "warm_state": self.state, "warm_seconds": self.seconds})

    def answer(self, app: Any) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of ``GET /ready`` for the whole server (every worker)."""
        workers = self._all_workers(app)
        if workers is None:   # one process, no Sanic manager (tests, single_process)
            workers = {"this": {"pid": os.getpid(), "warm_pid": os.getpid(), "warm_state": self.state}}
        return verdict(workers, self.workers)

    @staticmethod
    def _all_workers(app: Any) -> dict[str, Any] | None:
        try:
            states = app.m.workers
        except (AttributeError, KeyError):
            return None
        return {name: st for name, st in states.items() if isinstance(st, Mapping) and st.get("server")}


def verdict(workers: Mapping[str, Mapping[str, Any]], expected: int) -> tuple[int, dict[str, Any]]:
    """200 only when at least ``expected`` server workers run and each one's published warm-up
    state is "warm" *for its current pid* (a restarted worker is cold again); else 503 and why."""
    states = []
    for name, st in sorted(workers.items()):
        current = st.get("warm_pid") is not None and st.get("warm_pid") == st.get("pid")
        states.append(st.get("warm_state") if current else "starting")
    failed = [s for s in states if s and s.startswith("warm-up failed")]
    if failed:
        return 503, {"ready": False, "reason": failed[0]}
    if len(states) < expected:
        return 503, {"ready": False, "reason": f"{len(states)} of {expected} workers running"}
    cold = [s for s in states if s != "warm"]
    if cold:
        return 503, {"ready": False, "reason": f"{len(states) - len(cold)} of {len(states)} workers warm "
                                               f"({cold[0]})"}
    return 200, {"ready": True, "workers": len(states)}


def warm_up_call(action: str, text: str, intent: str, slots: dict[str, Any],
                 events: list[dict[str, Any]]) -> dict[str, Any]:
    """An action call shaped like Rasa's (``POST /webhook``) for one warm-up turn."""
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": [],
               "intent_ranking": [{"name": intent, "confidence": 1.0}]}
    events = [*events, {"event": "user", "text": text, "parse_data": message, "input_channel": "rest"}]
    return {"next_action": action, "sender_id": "warm-up", "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": "warm-up", "slots": dict(slots), "latest_message": message,
                        "events": events, "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen", "latest_input_channel": "rest"}}


async def warm_up_conversation(executor: Any) -> None:
    """Run ``WARM_UP_TURNS`` through ``executor`` as one conversation (slots carried over)."""
    slots: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for action, text, intent in WARM_UP_TURNS:
        call = warm_up_call(action, text, intent, slots, events)
        # in a task of its own: the action's redaction context (bot/redact.py) stays in it
        result = await asyncio.create_task(executor.run(call))
        produced = result.events if hasattr(result, "events") else (result or {}).get("events", [])
        for event in produced or []:
            if event.get("event") == "slot":
                slots[event["name"]] = event.get("value")
        events = call["tracker"]["events"]


def create_app(cors: str = "*", workers: int = 1, refuse_until_warm: bool = False) -> "object":
    """The Sanic app of one worker: the engine, the actions registered with it, the warm-up and
    ``GET /ready`` (see the module docstring)."""
    from rasa_sdk.endpoint import create_app as sdk_app
    from rasa_sdk.executor import ActionExecutor
    from sanic import response

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
    readiness = Readiness(workers)
    app.ctx.readiness = readiness

    async def warm_up(app_: Any) -> None:
        readiness.attach(app_)
        try:
            await asyncio.get_running_loop().run_in_executor(None, engine.warm_up)
            await warm_up_conversation(executor)
        except Exception as exc:  # reported by /ready, and by the first real question
            log.exception("warm-up failed")
            readiness.done(exc)
            return
        readiness.done()
        log.info("search index and models loaded, warm-up conversation answered in %.1f s: ready", readiness.seconds)

    async def ready(request: Any) -> Any:
        status, body = readiness.answer(request.app)
        return response.json(body, status=status)

    app.add_route(ready, "/ready", methods=["GET"], name="ready")

    if refuse_until_warm:
        @app.on_request
        async def refuse_while_cold(request: Any) -> Any:
            if request.path == "/webhook" and not readiness.warm:
                return response.json({"ready": False, "reason": readiness.state}, status=503)
            return None

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
    parser.add_argument("--workers", type=int, default=1,
                        help="Sanic worker processes (default 1; each loads the models, about 0.9 GB)")
    parser.add_argument("--refuse-until-warm", action="store_true",
                        help="answer action calls with 503 until this worker is warm (behind a load balancer)")
    args = parser.parse_args(argv)
    os.environ["ACTIONS_MAIN_PID"] = str(os.getpid())   # workers check their parent is still this one
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    # the factory must be importable by name: Sanic's workers are spawned and import it
    loader = AppLoader(factory=partial(create_app, args.cors, args.workers, args.refuse_until_warm))
    app = loader.load()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    log.info("action server on http://%s:%s", host, args.port)
    app.prepare(host=host, port=args.port, workers=args.workers, access_log=False)
    Sanic.serve(primary=app, app_loader=loader)
