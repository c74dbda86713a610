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


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ)
    from rasa.__main__ import main as rasa_main

    from rasa_addons import patches

    installed = patches.install()
    print(f"rasa_addons: patches installed: {', '.join(installed) or 'none'}", file=sys.stderr, flush=True)

    rasa_main()


if __name__ == "__main__":
    main()
