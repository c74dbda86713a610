"""Small Rasa extensions loaded by the Rasa server (.venv-rasa): language detection, channels,
and two patches installed on import (action-server fallback, cached reply validation). Kept free of project dependencies: Rasa runs on Python 3.10."""

from rasa_addons import performance, resilience  # noqa: E402,F401  (patches applied on import)
