#!/usr/bin/env bash
# Start, stop and inspect the assistant: action server (.venv, rasa-sdk) and Rasa (.venv-rasa).
#
#   scripts/stack.sh start     start both in the background (pid files and logs in run/)
#   scripts/stack.sh stop      stop them
#   scripts/stack.sh status    what is running, and health
#   scripts/stack.sh demo      start in the foreground; Ctrl-C stops everything
#
# Ports: RASA_PORT (5005), ACTIONS_PORT (5055), WEB_PORT (8080: chat page, presenter view, JSON API).
# Logs: run/actions.log, run/rasa.log, run/web.log. Conversations: run/tracker.db (SQLite; TRACKER_DB).
# ENDPOINTS (endpoints.yml): another endpoints file, e.g. deploy/endpoints.scale.yml for PostgreSQL
# and Redis; its stores are checked before anything starts (rasa_addons/preflight.py).
# RASA_CORS: origins allowed to talk to Rasa (HTTP and socket.io) from a browser (default: the
# project's own page); add the origin of any page that embeds the widget.
# Limits (rasa_addons/limits.py): MAX_MESSAGE_CHARS, RATE_LIMIT_PER_MINUTE, RATE_LIMIT_BURST.
# Messaging channels (docs/channels.md): set their variables in the environment or in a .env file
# (never committed); run/credentials.yml is generated from credentials.yml plus the channels they
# enable. CREDENTIALS=file uses your own credentials file instead. RASA_INTERFACE (127.0.0.1): the
# interface Rasa listens on; messengers reach it through your HTTPS reverse proxy or tunnel.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/env.sh   # ENV_FILE (.env) settings; secret NAME
RUN=${RUN_DIR:-$ROOT/run}   # pid files, logs, generated credentials
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
WEB_PORT=${WEB_PORT:-8080}
export WEB_PORT RASA_PORT
MODEL=${RASA_MODEL:-models/rasa/policy-assistant.tar.gz}
export RASA_TELEMETRY_ENABLED=false TOKENIZERS_PARALLELISM=false SANIC_HOST=${SANIC_HOST:-127.0.0.1}
export ACTIONS_URL="http://127.0.0.1:${ACTIONS_PORT}/webhook"
export TRACKER_DB=${TRACKER_DB:-$RUN/tracker.db}   # conversations (SQLite), kept across restarts
ENDPOINTS=${ENDPOINTS:-endpoints.yml}
export RASA_CORS=${RASA_CORS:-http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$RUN"

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

wait_http() {  # url seconds name
  local url=$1 limit=$2 name=$3 i
  for ((i = 0; i < limit * 2; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    if ! alive "$name"; then echo "error: $name exited; see $RUN/$name.log" >&2; tail -20 "$RUN/$name.log" >&2; return 1; fi
    sleep 0.5
  done
  echo "error: $name did not answer at $url within ${limit}s; see $RUN/$name.log" >&2
  return 1
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  [ -f "$MODEL" ] || { echo "error: no trained Rasa model at $MODEL (run: make train)" >&2; return 1; }
  if alive actions && alive rasa && alive web; then echo "Already running."; status; return 0; fi
  for p in "$ACTIONS_PORT" "$RASA_PORT" "$WEB_PORT"; do
    port_free "$p" || { echo "error: port $p is in use (set ACTIONS_PORT / RASA_PORT / WEB_PORT, or run: make stop)" >&2; return 1; }
  done
  local credentials=${CREDENTIALS:-$RUN/credentials.yml} channels="REST and socket.io"
  if [ -z "${CREDENTIALS:-}" ]; then   # credentials.yml + the messengers the environment enables
    channels=$(.venv/bin/python -m bot channels --write "$credentials") || return 1
    channels=${channels#*: }
  fi
  secret RASA_TOKEN || return 1   # the Rasa HTTP API is on only with a token
  .venv-rasa/bin/python rasa_addons/preflight.py "$ENDPOINTS" || return 1
  local t0=$SECONDS cors
  read -ra cors <<<"$RASA_CORS"   # no glob expansion of "*"
  echo "Starting the action server on port $ACTIONS_PORT ..."
  nohup .venv/bin/python -m actions --port "$ACTIONS_PORT" >"$RUN/actions.log" 2>&1 &
  echo $! >"$RUN/actions.pid"
  echo "Starting Rasa on port $RASA_PORT ($channels) ..."
  nohup .venv-rasa/bin/python -m rasa_addons.serve run --model "$MODEL" --port "$RASA_PORT" --interface "${RASA_INTERFACE:-127.0.0.1}" \
    --credentials "$credentials" --endpoints "$ENDPOINTS" --enable-api --cors "${cors[@]}" \
    >"$RUN/rasa.log" 2>&1 &
  echo $! >"$RUN/rasa.pid"
  echo "Starting the web page on port $WEB_PORT ..."
  nohup .venv/bin/python -m bot web --port "$WEB_PORT" >"$RUN/web.log" 2>&1 &
  echo $! >"$RUN/web.pid"
  wait_http "http://127.0.0.1:$WEB_PORT/health" 30 web || { stop; return 1; }
  wait_http "http://127.0.0.1:$ACTIONS_PORT/health" 60 actions || { stop; return 1; }
  wait_http "http://127.0.0.1:$RASA_PORT/webhooks/rest/" 180 rasa || { stop; return 1; }
  echo "Ready in $((SECONDS - t0)) s."
  cat <<EOF

  Chat in the browser:    http://localhost:$WEB_PORT/
  Workshop presenter:     http://localhost:$WEB_PORT/presenter
  Chat in the terminal:   make chat
  REST:                   curl -s -X POST http://localhost:$RASA_PORT/webhooks/rest/webhook \\
                            -H 'Content-Type: application/json' \\
                            -d '{"sender": "me", "message": "What do the documents say about 3D-printed guns?"}'
  socket.io:              http://localhost:$RASA_PORT/socket.io (events user_uttered / bot_uttered)
  Rasa HTTP API:          http://localhost:$RASA_PORT/conversations/<id>/tracker?token=\$RASA_TOKEN (token in .env)
  Logs:                   $RUN/rasa.log, $RUN/actions.log, $RUN/web.log
EOF
}

stop() {
  local name pid
  for name in web rasa actions; do
    if alive "$name"; then
      pid=$(cat "$RUN/$name.pid")
      kill "$pid" 2>/dev/null
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      pkill -9 -P "$pid" 2>/dev/null || true
      echo "Stopped $name."
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  local name url
  for name in actions rasa web; do
    case $name in
      actions) url="http://127.0.0.1:$ACTIONS_PORT/health" ;;
      rasa) url="http://127.0.0.1:$RASA_PORT/webhooks/rest/" ;;
      web) url="http://127.0.0.1:$WEB_PORT/health" ;;
    esac
    if alive "$name"; then
      if curl -fsS -o /dev/null "$url" 2>/dev/null; then echo "$name: running (pid $(cat "$RUN/$name.pid")), healthy at $url"
      else echo "$name: running (pid $(cat "$RUN/$name.pid")), not answering yet at $url"; fi
    else
      echo "$name: stopped"
    fi
  done
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  demo)
    trap 'echo; stop; exit 0' INT TERM
    start || exit 1
    echo
    echo "Press Ctrl-C to stop everything."
    tail -n 0 -f "$RUN/rasa.log" "$RUN/actions.log" "$RUN/web.log" >/dev/null &
    wait
    ;;
  *) echo "usage: $0 start|stop|status|demo" >&2; exit 2 ;;
esac
