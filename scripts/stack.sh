#!/usr/bin/env bash
# Start, stop and inspect the assistant: action server (.venv, rasa-sdk), Rasa (.venv-rasa) and
# the web page.
#
#   scripts/stack.sh start [NAME...]    start all three in the background (pid files and logs in
#                                       run/), or only the ones named: actions, rasa, web
#   scripts/stack.sh stop [NAME...]     stop them (or only the ones named)
#   scripts/stack.sh restart [NAME...]  restart them, or only the ones named (the others keep running)
#   scripts/stack.sh status             each one: running + healthy / not answering / unhealthy, or
#                                       stopped (exit status 0 only when all three are healthy)
#   scripts/stack.sh demo               start in the foreground; Ctrl-C stops everything
#
# Supervision (docs/deployment.md, "Supervision"): each component runs in its own session and
# process group (setsid); run/NAME.pid holds the leader's pid, run/NAME.pgid its group. stop sends
# TERM to the group's other processes (Sanic workers, an index rebuild) and then to the leader,
# waits up to STOP_TIMEOUT seconds (10), then KILLs the whole group; a group whose leader died
# (kill -9) is cleared the same way. Ready means warm: the action server counts as started only
# once its GET /ready (actions/server.py) says every worker has loaded its models and index and
# answered its warm-up conversation (503 with the reason before; a failed warm-up stops the start),
# Rasa only once GET /ready (rasa_addons/serve.py) says a model is loaded (it listens only after
# loading and warming up its agent). "Ready in N s" is printed after both. The model (RASA_MODEL)
# is read to the end before anything starts (rasa_addons/preflight.py).
#
# Ports: RASA_PORT (5005), ACTIONS_PORT (5055), WEB_PORT (8080: chat page, presenter view, JSON API).
# Logs: run/actions.log, run/rasa.log, run/web.log. Conversations: run/tracker.db (SQLite; TRACKER_DB).
# RUN_DIR: another folder for pid files, logs and generated credentials.
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
COMPONENTS=(actions rasa web)
STOP_TIMEOUT=${STOP_TIMEOUT:-10}
RASA_START_TIMEOUT=${RASA_START_TIMEOUT:-240}
ACTIONS_START_TIMEOUT=${ACTIONS_START_TIMEOUT:-240}   # warm: models, index (a rebuild: about 2 min), warm-up conversation
mkdir -p "$RUN"

# --- processes (scripts/procs.sh: launch, stop_one, members, alive) -------------------------------
PROC_DIR=$RUN
. scripts/procs.sh

port_of() { case $1 in actions) echo "$ACTIONS_PORT" ;; rasa) echo "$RASA_PORT" ;; web) echo "$WEB_PORT" ;; esac; }
health_url() {
  case $1 in
    actions) echo "http://127.0.0.1:$ACTIONS_PORT/ready" ;;   # 200 only when every worker is warm (actions/server.py)
    rasa) echo "http://127.0.0.1:$RASA_PORT/ready" ;;   # 200 only with a loaded model (rasa_addons/serve.py)
    web) echo "http://127.0.0.1:$WEB_PORT/health" ;;
  esac
}
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-3}" "$1" 2>/dev/null; }
reason() {  # url: the "reason" of a JSON 503 from a /ready endpoint
  curl -s --max-time 3 "$1" 2>/dev/null | sed -n 's/.*"reason": *"\([^"]*\)".*/\1/p'
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
port_holders() {  # port: pids listening on it, where the system says (own processes, or root)
  ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | paste -sd' ' -
}

valid_names() {
  local n
  for n in "$@"; do
    case $n in
      actions | rasa | web) ;;
      *) echo "error: unknown component '$n' (actions, rasa or web)" >&2; return 1 ;;
    esac
  done
}

# --- status ------------------------------------------------------------------------------------
status_one() {  # name: one line; returns 0 when running and healthy
  local name=$1 pid port url code procs holders
  port=$(port_of "$name")
  url=$(health_url "$name")
  pid=$(recorded "$name" pid) || pid=
  if alive "$name"; then
    code=$(http_code "$url")
    if [ "$name" = rasa ] && [ "$code" = 404 ]; then   # a Rasa started before /ready existed
      url="http://127.0.0.1:$RASA_PORT/webhooks/rest/"
      code=$(http_code "$url")
    fi
    if [ "$name" = actions ] && [ "$code" = 404 ]; then   # an action server started before /ready existed
      url="http://127.0.0.1:$ACTIONS_PORT/health"
      code=$(http_code "$url")
    fi
    case $code in
      200) echo "$name: running (pid $pid), healthy at $url"; return 0 ;;
      503)
        if [ "$name" = rasa ]; then
          echo "$name: running (pid $pid), unhealthy: no model loaded (run make train; model $MODEL; see $RUN/rasa.log)"
        elif [ "$name" = actions ] && [[ $(reason "$url") != "warm-up failed"* ]]; then
          echo "$name: running (pid $pid), not ready yet at $url: $(reason "$url")"
        else
          echo "$name: running (pid $pid), unhealthy: $url answers 503 $(reason "$url")"
        fi ;;
      *) echo "$name: running (pid $pid), not answering at $url (starting up, or hung; see $RUN/$name.log)" ;;
    esac
    return 1
  fi
  procs=$(members "$name")
  if [ -n "$procs" ]; then
    holders=''
    port_free "$port" || holders=", holding port $port"
    echo "$name: unhealthy: pid ${pid:-?} is gone but its process group still runs (pids $(echo $procs))$holders; run: make stop (it clears them)"
    return 1
  fi
  if ! port_free "$port"; then
    holders=$(port_holders "$port")
    echo "$name: stopped, but port $port is in use by another program${holders:+ (pid $holders)} that this script did not start"
    return 1
  fi
  if [ -n "$pid" ]; then echo "$name: stopped (pid $pid exited; see $RUN/$name.log)"; else echo "$name: stopped"; fi
  return 1
}

status() {
  local name rc=0
  for name in "${COMPONENTS[@]}"; do status_one "$name" || rc=1; done
  return $rc
}

# --- start -------------------------------------------------------------------------------------
wait_ready() {  # name seconds
  local name=$1 limit=$2 url code i why
  url=$(health_url "$name")
  for ((i = 0; i < limit * 2; i++)); do
    code=$(http_code "$url" 2)
    [ "$code" = 200 ] && return 0
    if [ "$name" = rasa ] && [ "$code" = 404 ]; then   # no /ready: fall back to the REST channel
      url="http://127.0.0.1:$RASA_PORT/webhooks/rest/"
      continue
    fi
    if [ "$name" = rasa ] && [ "$code" = 503 ]; then
      echo "error: Rasa came up without a model: $MODEL could not be loaded (run: make train; see $RUN/rasa.log)" >&2
      grep -m 3 "Could not load model" "$RUN/rasa.log" | cut -c1-300 >&2
      return 1
    fi
    if [ "$name" = actions ] && [ "$code" = 503 ]; then   # warming up; a failed warm-up stops the start
      why=$(reason "$url")
      if [[ $why == "warm-up failed"* ]]; then
        echo "error: the action server's warm-up failed: $why (see $RUN/actions.log)" >&2
        return 1
      fi
    fi
    if ! alive "$name"; then
      echo "error: $name exited; see $RUN/$name.log" >&2
      tail -20 "$RUN/$name.log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "error: $name did not answer at $url within ${limit}s; see $RUN/$name.log" >&2
  return 1
}

CREDENTIALS_FILE=${CREDENTIALS:-$RUN/credentials.yml}
CHANNELS="REST and socket.io"
prepare() {  # names: the checks before anything starts (Rasa's model and stores, credentials, token)
  [[ " $* " == *" rasa "* ]] || return 0
  [ -f "$MODEL" ] || { echo "error: no trained Rasa model at $MODEL (run: make train)" >&2; return 1; }
  if [ -z "${CREDENTIALS:-}" ]; then   # credentials.yml + the messengers the environment enables
    CHANNELS=$(.venv/bin/python -m bot channels --write "$CREDENTIALS_FILE") || return 1
    CHANNELS=${CHANNELS#*: }
  fi
  secret RASA_TOKEN || return 1   # the Rasa HTTP API is on only with a token
  .venv-rasa/bin/python rasa_addons/preflight.py "$ENDPOINTS" --model "$MODEL" || return 1
}

launch_named() {  # names (none running): start them, wait until each is ready; on failure stop them
  local names=" $* " started=() name holders limit cors
  for name in "${COMPONENTS[@]}"; do
    [[ $names == *" $name "* ]] || continue
    if ! port_free "$(port_of "$name")"; then
      holders=$(port_holders "$(port_of "$name")")
      echo "error: port $(port_of "$name") ($name) is in use${holders:+ by pid $holders} (set ACTIONS_PORT / RASA_PORT / WEB_PORT, or run: make stop)" >&2
      return 1
    fi
  done
  read -ra cors <<<"$RASA_CORS"   # no glob expansion of "*"
  for name in "${COMPONENTS[@]}"; do
    [[ $names == *" $name "* ]] || continue
    case $name in
      actions)
        echo "Starting the action server on port $ACTIONS_PORT ..."
        launch actions .venv/bin/python -m actions --port "$ACTIONS_PORT" ;;
      rasa)
        echo "Starting Rasa on port $RASA_PORT ($CHANNELS) ..."
        launch rasa .venv-rasa/bin/python -m rasa_addons.serve run --model "$MODEL" --port "$RASA_PORT" \
          --interface "${RASA_INTERFACE:-127.0.0.1}" --credentials "$CREDENTIALS_FILE" --endpoints "$ENDPOINTS" \
          --enable-api --cors "${cors[@]}" ;;
      web)
        echo "Starting the web page on port $WEB_PORT ..."
        launch web .venv/bin/python -m bot web --port "$WEB_PORT" ;;
    esac || { stop_named "${started[@]}" "$name"; return 1; }
    started+=("$name")
  done
  for name in web actions rasa; do
    [[ $names == *" $name "* ]] || continue
    case $name in web) limit=30 ;; actions) limit=$ACTIONS_START_TIMEOUT ;; rasa) limit=$RASA_START_TIMEOUT ;; esac
    wait_ready "$name" "$limit" || { stop_named "${started[@]}"; return 1; }
  done
}

stop_named() {
  local name rc=0
  for name in "$@"; do stop_one "$name" || rc=1; done
  return $rc
}

start() {  # [names]: start the ones not running yet (default: all)
  local want=("$@") todo=() name t0=$SECONDS
  [ ${#want[@]} -gt 0 ] || want=("${COMPONENTS[@]}")
  valid_names "${want[@]}" || return 2
  for name in "${want[@]}"; do
    if alive "$name"; then
      echo "$name: already running (pid $(recorded "$name" pid))"
      continue
    fi
    if [ -n "$(members "$name")" ]; then stop_one "$name" || return 1; fi   # what a dead leader left
    todo+=("$name")
  done
  if [ ${#todo[@]} -eq 0 ]; then
    echo "Already running."
    status
    return 0
  fi
  prepare "${todo[@]}" || return 1
  launch_named "${todo[@]}" || return 1
  echo "Ready in $((SECONDS - t0)) s."
  if [ ${#todo[@]} -ne ${#COMPONENTS[@]} ]; then status; return 0; fi
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

stop() {  # [names]: default all, the web page first
  local want=("$@")
  [ ${#want[@]} -gt 0 ] || want=(web rasa actions)
  valid_names "${want[@]}" || return 2
  stop_named "${want[@]}"
}

restart() {  # [names]: the checks first (a damaged model leaves the running Rasa alone), then stop, start
  local want=("$@") name t0=$SECONDS
  [ ${#want[@]} -gt 0 ] || want=("${COMPONENTS[@]}")
  valid_names "${want[@]}" || return 2
  prepare "${want[@]}" || return 1
  for name in "${want[@]}"; do stop_one "$name" || return 1; done
  launch_named "${want[@]}" || return 1
  echo "Restarted ${want[*]} in $((SECONDS - t0)) s."
  status
  return 0
}

command=${1:-status}
[ $# -gt 0 ] && shift
case "$command" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  restart) restart "$@" ;;
  status) status ;;
  demo)
    trap 'echo; stop; exit 0' INT TERM
    start || exit 1
    echo
    echo "Press Ctrl-C to stop everything."
    tail -n 0 -f "$RUN/rasa.log" "$RUN/actions.log" "$RUN/web.log" >/dev/null &
    wait
    ;;
  *) echo "usage: $0 start|stop|restart [actions|rasa|web ...] | status | demo" >&2; exit 2 ;;
esac
