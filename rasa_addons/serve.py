"""Run ``rasa`` with the project's patches installed and the HTTP API token taken from the
environment, not the command line.

The patches (``rasa_addons/patches.py``: rate limits, the action-server fallback, Redis ticket
locks, CPU savings) are installed here, before Rasa's own CLI runs, and nowhere else.

``rasa run --enable-api --auth-token TOKEN`` puts the token in the process list (``ps``,
``/proc/PID/cmdline``), where every local user can read it. This launcher takes the same
arguments as ``rasa`` without ``--auth-token``; with ``--enable-api`` it reads ``RASA_TOKEN``
from the environment and hands it to Rasa inside the process, so the command line the
system shows never contains it::

    RASA_TOKEN=... .venv-rasa/bin/python -m rasa_addons.serve run --enable-api ...

It also adds ``GET /ready`` to the server (no token needed; it says nothing but yes or no):
200 ``{"ready": true}`` once an agent with a model is loaded, 503 ``{"ready": false, "reason":
"no agent loaded"}`` when Rasa came up without one (a damaged or unloadable model: Rasa then
answers every message with ``[]``). ``scripts/stack.sh`` waits on it at start and reports it in
``status``; the REST webhook alone answers in both cases.

Ready also means warm. Rasa loads the agent in a ``before_server_start`` listener
(``rasa.core.run.load_agent_on_start``), so nothing listens, and ``/ready`` cannot say yes, before
the model is loaded (checked: connection refused, then 200). But the first message after that took
6.4 s against 20–40 ms for the next ones (2 cores): the NLU graph and the policies (TensorFlow's
first call of each model) load lazily. ``warm_up_agent`` runs once after the agent is loaded and
before the server listens: a few messages in English and Chinese through the NLU graph, and the
policies' prediction on an in-memory tracker for each. Nothing is written to the tracker store,
the lock store or the action server, so no conversation appears in insights. A failed warm-up is
logged and the server starts anyway (the agent is loaded; the first messages are slower).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger("rasa_addons.serve")


def rasa_argv(args: list[str], environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """The argument list for Rasa's own CLI: ``args`` plus the token when the API is enabled."""
    if "--auth-token" in args:
        raise SystemExit("error: pass the token as RASA_TOKEN in the environment, not --auth-token "
                         "(a command-line argument is visible to every local user)")
    if "--enable-api" in args:
        token = environ.get("RASA_TOKEN", "")
        if not token:
            raise SystemExit("error: --enable-api needs RASA_TOKEN in the environment "
                             "(the Rasa HTTP API is only enabled with a token)")
        args = [*args, "--auth-token", token]
    return ["rasa", *args]


READY_ROUTE = "/ready"


def agent_ready(app: object) -> bool:
    """True when the Sanic app holds a loaded agent that can handle messages."""
    return agent_loaded(getattr(getattr(app, "ctx", None), "agent", None))


def add_readiness_route(app: object) -> object:
    """``GET /ready`` on Rasa's Sanic app (see the module docstring)."""
    from sanic import response

    async def ready(request: object) -> object:
        if agent_ready(request.app):  # type: ignore[attr-defined]
            return response.json({"ready": True})
        return response.json({"ready": False, "reason": "no agent loaded"}, status=503)

    app.add_route(ready, READY_ROUTE, methods=["GET"], name="rasa_addons_ready")  # type: ignore[attr-defined]
    return app


def install_readiness_route() -> None:
    """Make every app ``rasa run`` builds (``rasa.core.run.configure_app``) carry ``/ready``."""
    import rasa.core.run as run

    original = run.configure_app
    if getattr(original, "__rasa_addons_ready__", False):
        return

    def configure_app(*args: object, **kwargs: object) -> object:
        return add_readiness_route(original(*args, **kwargs))

    configure_app.__rasa_addons_ready__ = True  # type: ignore[attr-defined]
    run.configure_app = configure_app  # type: ignore[assignment]


# Fixed texts (nothing a user sent) that take the NLU and policy paths of a conversation's first
# messages: greeting, document questions in both languages, a follow-up, small talk.
WARM_UP_TEXTS = ("hello", "What do the documents say about 3D-printed guns?", "tell me more",
                 "你好", "人贩子是怎样利用加密货币转移非法收益的？", "更多", "thanks!")


async def warm_up_agent(agent: Any) -> float:
    """Parse ``WARM_UP_TEXTS`` and predict the next action for each on a tracker held in memory
    only; returns the seconds it took."""
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    t0 = time.perf_counter()
    processor = agent.processor
    events: list[Any] = [ActionExecuted("action_listen")]
    for text in WARM_UP_TEXTS:
        message = UserMessage(text, sender_id="warm-up")
        parsed = await processor.parse_message(message)
        events.append(UserUttered(text, parsed.get("intent"), parsed.get("entities"), parse_data=parsed))
        tracker = DialogueStateTracker.from_events("warm-up", list(events), processor.domain.slots,
                                                   domain=processor.domain)
        prediction = processor.predict_next_with_tracker(tracker)
        if prediction and prediction.get("scores"):
            best = max(prediction["scores"], key=lambda s: s["score"])["action"]
            events.append(ActionExecuted(best))
        events.append(ActionExecuted("action_listen"))
    return time.perf_counter() - t0


def install_agent_warm_up() -> None:
    """Make ``rasa run`` warm the agent up once it is loaded and before the server listens."""
    import rasa.core.run as run

    original = run.load_agent_on_start
    if getattr(original, "__rasa_addons_warm__", False):
        return

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await original(*args, **kwargs)
        if agent_loaded(agent):
            try:
                seconds = await warm_up_agent(agent)
                log.info("agent warmed up in %.1f s (NLU graph and policies)", seconds)
            except Exception:  # the agent is loaded: start anyway, just not warm
                log.exception("agent warm-up failed; starting anyway")
        return agent

    load_agent_on_start.__rasa_addons_warm__ = True  # type: ignore[attr-defined]
    run.load_agent_on_start = load_agent_on_start  # type: ignore[assignment]


def agent_loaded(agent: Any) -> bool:
    """True for a loaded agent that can handle messages (a half-built one is not ready)."""
    try:
        return bool(agent is not None and agent.is_ready())
    except Exception:
        return False


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ)
    from rasa.__main__ import main as rasa_main

    from rasa_addons import patches

    installed = patches.install()
    print(f"rasa_addons: patches installed: {', '.join(installed) or 'none'}", file=sys.stderr, flush=True)
    install_readiness_route()
    install_agent_warm_up()

    rasa_main()


if __name__ == "__main__":
    main()
