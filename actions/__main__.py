"""``python -m actions``: the action server (``actions/server.py``)."""

from actions.server import main

main()
