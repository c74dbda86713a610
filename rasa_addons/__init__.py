"""Small Rasa extensions loaded by the Rasa server (.venv-rasa): language detection and a
socket.io channel fix. Kept free of project dependencies: Rasa runs on Python 3.10."""

from rasa_addons import resilience  # noqa: E402,F401  (installs the action-server fallback)
