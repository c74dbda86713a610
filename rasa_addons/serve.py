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
"""

from __future__ import annotations

import os
import sys


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
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    try:
        return bool(agent is not None and agent.is_ready())
    except Exception:  # a half-built agent is not ready
        return False


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


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ)
    from rasa.__main__ import main as rasa_main

    from rasa_addons import patches

    installed = patches.install()
    print(f"rasa_addons: patches installed: {', '.join(installed) or 'none'}", file=sys.stderr, flush=True)
    install_readiness_route()

    rasa_main()


if __name__ == "__main__":
    main()
