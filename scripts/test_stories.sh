#!/usr/bin/env bash
# Run the Rasa test stories (tests/test_stories.yml) with the real action server on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TOKENIZERS_PARALLELISM=false PYTHONPATH=$PWD
PORT=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
export ACTIONS_URL="http://127.0.0.1:$PORT/webhook" SANIC_HOST=127.0.0.1
mkdir -p run
export TRACKER_DB=$PWD/run/test-stories-tracker.db && rm -f "$TRACKER_DB"
.venv/bin/python -m actions --port "$PORT" >run/test-actions.log 2>&1 &
APID=$!
trap 'kill $APID 2>/dev/null; pkill -P $APID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.5; done
.venv-rasa/bin/rasa test core --model models/rasa/policy-assistant.tar.gz --stories tests/test_stories.yml \
  --endpoints endpoints.yml --fail-on-prediction-errors --out results/test-stories
echo "Test stories passed."
