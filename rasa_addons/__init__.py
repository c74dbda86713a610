"""Small Rasa extensions loaded by the Rasa server (.venv-rasa): language detection, channels,
and patches installed on import: action-server fallback (resilience), per-sender rate limit and
message size (limits), atomic Redis lock tickets (locking), CPU savings (performance). Kept free of project dependencies: Rasa runs on Python 3.10."""

from rasa_addons import limits, locking, performance, resilience  # noqa: E402,F401  (patches applied on import)
