#!/usr/bin/env bash
# Scale-out stack on one machine (docs/deployment.md): PostgreSQL tracker store, Redis lock store,
# SCALE_INSTANCES (2) instances of one Rasa + one action server each, nginx in front, the web page.
#
#   scripts/scale.sh start     start everything in the background (state, logs, pids in SCALE_DIR)
#   scripts/scale.sh stop      stop everything (the PostgreSQL data stays: conversations persist)
#   scripts/scale.sh status    what is running
#
# Ready means warm: the action servers start with --refuse-until-warm and count as started only when
# their GET /ready says every worker is warm; Rasa only listens once its agent is loaded and warmed
# up, and counts when GET /ready says 200; nginx is started only after all of them, so its ports
# open with warm instances behind them, and "Ready in N s" is printed after nginx's own GET /ready
# (an action server and a Rasa instance ready behind it) answers 200. An instance restarted later
# is passed over by nginx until it is warm (docs/deployment.md, "Readiness behind nginx").
#
# Needs Debian's postgresql, redis-server and nginx (scripts/services.sh installs them).
# Settings (environment or .env): SCALE_DIR (run/scale), LB_PORT (8005: chat, REST, socket.io, API),
# ACTIONS_LB_PORT (8055, internal), SCALE_INSTANCES (2), RASA_PORT_<i> (5104+i: 5105, 5106, ...),
# ACTIONS_PORT_<i> (5154+i), SCALE_CPUS (unset; e.g. "0 1": instance i's Rasa and action server
# run on CPU word i of that list, round robin, with taskset),
# PG_PORT (5433), REDIS_PORT (6380), WEB_PORT (8080), TRACKER_PASSWORD (generated into .env),
# RASA_TOKEN (generated into .env), LB_RATE_PER_SECOND (100) and LB_BURST (200) per client
# address, LB_MAX_BODY (64k), and the per-sender limits of scripts/stack.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/env.sh   # ENV_FILE (.env) settings; secret NAME
SCALE_DIR=$(mkdir -p "${SCALE_DIR:-run/scale}" && cd "${SCALE_DIR:-run/scale}" && pwd)
export SCALE_DIR
export LB_PORT=${LB_PORT:-8005} ACTIONS_LB_PORT=${ACTIONS_LB_PORT:-8055} LB_INTERFACE=${LB_INTERFACE:-127.0.0.1}
SCALE_INSTANCES=${SCALE_INSTANCES:-2}
[[ $SCALE_INSTANCES =~ ^[1-9][0-9]?$ ]] || { echo "error: SCALE_INSTANCES must be 1 to 99" >&2; exit 2; }
INSTANCES=$(seq 1 "$SCALE_INSTANCES")
read -ra CPUS <<<"${SCALE_CPUS:-}"
for i in $INSTANCES; do
  v=RASA_PORT_$i; export "$v=${!v:-$((5104 + i))}"
  v=ACTIONS_PORT_$i; export "$v=${!v:-$((5154 + i))}"
done
export LB_RATE_PER_SECOND=${LB_RATE_PER_SECOND:-100} LB_BURST=${LB_BURST:-200} LB_MAX_BODY=${LB_MAX_BODY:-64k}
PG_PORT=${PG_PORT:-5433}
REDIS_PORT=${REDIS_PORT:-6380}
WEB_PORT=${WEB_PORT:-8080}
PG_DATA=$SCALE_DIR/pg
MODEL=${RASA_MODEL:-models/rasa/policy-assistant.tar.gz}
export RASA_TELEMETRY_ENABLED=false TOKENIZERS_PARALLELISM=false SANIC_HOST=127.0.0.1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# The variables deploy/endpoints.scale.yml reads.
export ACTIONS_URL="http://127.0.0.1:$ACTIONS_LB_PORT/webhook"
export TRACKER_HOST=${TRACKER_HOST:-127.0.0.1} TRACKER_PORT=${TRACKER_PORT:-$PG_PORT}
export TRACKER_DB_NAME=${TRACKER_DB_NAME:-rasa} TRACKER_USER=${TRACKER_USER:-rasa}
export REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT
export RASA_CORS=${RASA_CORS:-http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT}
ENDPOINTS=deploy/endpoints.scale.yml
AS_PG=()
[ "$(id -u)" -eq 0 ] && AS_PG=(runuser -u postgres --)   # PostgreSQL refuses to run as root
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

PROC_DIR=$SCALE_DIR STOP_TIMEOUT=${STOP_TIMEOUT:-10}
. scripts/procs.sh   # launch / stop_one / alive: each component in its own process group

wait_http() {  # url seconds name
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    if [ -f "$SCALE_DIR/$3.pid" ] && ! alive "$3"; then
      echo "error: $3 exited; see $SCALE_DIR/$3.log" >&2; tail -20 "$SCALE_DIR/$3.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "error: $3 did not answer at $1 within $2 s; see $SCALE_DIR/$3.log" >&2
  return 1
}

need() {
  local missing=()
  [ -n "$PG_BIN" ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nginx >/dev/null || missing+=(nginx)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "error: ${missing[*]} not installed (run: scripts/services.sh)" >&2; return 1
  fi
  [ -f "$MODEL" ] || { echo "error: no trained Rasa model at $MODEL (run: make train)" >&2; return 1; }
}

start_postgres() {
  if "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then return 0; fi
  chmod o+x "$SCALE_DIR"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    echo "Creating the PostgreSQL cluster in $PG_DATA ..."
    mkdir -p "$PG_DATA" && chmod 700 "$PG_DATA"
    [ ${#AS_PG[@]} -gt 0 ] && chown postgres: "$PG_DATA"
    local pw
    pw=$(mktemp) && printf '%s\n' "$TRACKER_PASSWORD" >"$pw" && chmod 644 "$pw"
    "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U "$TRACKER_USER" --pwfile="$pw" --auth-local=scram-sha-256 \
      --auth-host=scram-sha-256 -E UTF8 --no-locale >"$SCALE_DIR/initdb.log" 2>&1 \
      || { rm -f "$pw"; echo "error: initdb failed; see $SCALE_DIR/initdb.log" >&2; return 1; }
    rm -f "$pw"
  fi
  echo "Starting PostgreSQL on port $PG_PORT ..."
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -l "$PG_DATA/postgres.log" \
    -o "-p $PG_PORT -k $PG_DATA -c listen_addresses=127.0.0.1" start >/dev/null \
    || { echo "error: PostgreSQL did not start; see $PG_DATA/postgres.log" >&2; return 1; }
  PGPASSWORD=$TRACKER_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$TRACKER_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$TRACKER_DB_NAME'" | grep -q 1 \
    || PGPASSWORD=$TRACKER_PASSWORD createdb -h 127.0.0.1 -p "$PG_PORT" -U "$TRACKER_USER" "$TRACKER_DB_NAME"
}

start_redis() {
  alive redis && return 0
  echo "Starting Redis on port $REDIS_PORT ..."
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$SCALE_DIR/redis.pid" --logfile "$SCALE_DIR/redis.log" --dir "$SCALE_DIR" \
    || { echo "error: Redis did not start; see $SCALE_DIR/redis.log" >&2; return 1; }
  for _ in $(seq 1 20); do alive redis && return 0; sleep 0.25; done
}

servers() {  # PORT_VARIABLE_PREFIX: one upstream "server" line per instance
  local i v
  for i in $INSTANCES; do
    v=$1$i
    printf '        server 127.0.0.1:%s max_fails=1 fail_timeout=10s;\n' "${!v}"
  done
}

start_nginx() {
  alive nginx && return 0
  mkdir -p "$SCALE_DIR/nginx-tmp"
  local user=""
  [ "$(id -u)" -eq 0 ] && user="user root;"   # workers must reach SCALE_DIR
  NGINX_USER=$user RASA_SERVERS=$(servers RASA_PORT_) ACTIONS_SERVERS=$(servers ACTIONS_PORT_) \
    envsubst '${NGINX_USER} ${SCALE_DIR} ${LB_PORT} ${LB_INTERFACE} ${ACTIONS_LB_PORT} ${RASA_SERVERS} ${ACTIONS_SERVERS} ${LB_RATE_PER_SECOND} ${LB_BURST} ${LB_MAX_BODY}' \
    <deploy/nginx.conf.template >"$SCALE_DIR/nginx.conf"
  echo "Starting nginx on port $LB_PORT ..."
  nginx -p "$SCALE_DIR" -c "$SCALE_DIR/nginx.conf" -e "$SCALE_DIR/nginx-error.log" \
    || { echo "error: nginx did not start; see $SCALE_DIR/nginx-error.log" >&2; return 1; }
}

pinned() {  # n: the taskset prefix of instance n (SCALE_CPUS), or nothing
  [ ${#CPUS[@]} -gt 0 ] || return 0
  echo taskset -c "${CPUS[$((($1 - 1) % ${#CPUS[@]}))]}"
}

start_actions() {  # n port
  alive "actions$1" && return 0
  # 503 to action calls until warm: nginx passes them to a warm action server meanwhile
  launch "actions$1" $(pinned "$1") .venv/bin/python -m actions --port "$2" --refuse-until-warm
}

start_rasa() {  # n port
  alive "rasa$1" && return 0
  local cors
  read -ra cors <<<"$RASA_CORS"
  launch "rasa$1" $(pinned "$1") .venv-rasa/bin/python -m rasa_addons.serve run --model "$MODEL" --port "$2" \
    --interface 127.0.0.1 --credentials "$SCALE_DIR/credentials.yml" --endpoints "$ENDPOINTS" --enable-api \
    --cors "${cors[@]}"
}

wait_warm() {  # n: action server n's /ready says 200 (a failed warm-up stops the start at once)
  local url=http://127.0.0.1:$(port ACTIONS_PORT_ "$1")/ready body i
  for ((i = 0; i < ${ACTIONS_START_TIMEOUT:-240} * 2; i++)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    body=$(curl -s --max-time 3 "$url" 2>/dev/null)
    if [[ $body == *'"warm-up failed'* ]]; then
      echo "error: action server $1's warm-up failed: $body (see $SCALE_DIR/actions$1.log)" >&2; return 1
    fi
    if ! alive "actions$1"; then
      echo "error: actions$1 exited; see $SCALE_DIR/actions$1.log" >&2; tail -20 "$SCALE_DIR/actions$1.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "error: action server $1 was not warm within ${ACTIONS_START_TIMEOUT:-240} s: $body; see $SCALE_DIR/actions$1.log" >&2
  return 1
}

port() { local v=$1$2; echo "${!v}"; }   # PREFIX n: RASA_PORT_n / ACTIONS_PORT_n

start() {
  need || return 1
  secret RASA_TOKEN
  secret TRACKER_PASSWORD
  local t0=$SECONDS
  start_postgres || { stop; return 1; }
  start_redis || { stop; return 1; }
  .venv-rasa/bin/python rasa_addons/preflight.py "$ENDPOINTS" || { stop; return 1; }
  .venv/bin/python -m bot channels --write "$SCALE_DIR/credentials.yml" >/dev/null || { stop; return 1; }
  local i
  echo "Starting $SCALE_INSTANCES action server(s) (ports$(for i in $INSTANCES; do printf ' %s' "$(port ACTIONS_PORT_ "$i")"; done))${CPUS:+, pinned to CPUs ${CPUS[*]}} ..."
  for i in $INSTANCES; do start_actions "$i" "$(port ACTIONS_PORT_ "$i")" || { stop; return 1; }; done
  echo "Starting $SCALE_INSTANCES Rasa instance(s) (ports$(for i in $INSTANCES; do printf ' %s' "$(port RASA_PORT_ "$i")"; done)) ..."
  start_rasa 1 "$RASA_PORT_1" || { stop; return 1; }   # the first alone: it creates the tables
  wait_http "http://127.0.0.1:$RASA_PORT_1/ready" 240 rasa1 || { stop; return 1; }
  for i in $INSTANCES; do [ "$i" = 1 ] || start_rasa "$i" "$(port RASA_PORT_ "$i")" || { stop; return 1; }; done
  if ! alive web; then
    RASA_PUBLIC_URL=${RASA_PUBLIC_URL:-http://localhost:$LB_PORT} launch web .venv/bin/python -m bot web --port "$WEB_PORT"
  fi
  # every instance warm before nginx opens the ports users and Rasa reach them through
  for i in $INSTANCES; do wait_warm "$i" || { stop; return 1; }; done
  for i in $INSTANCES; do
    wait_http "http://127.0.0.1:$(port RASA_PORT_ "$i")/ready" 240 "rasa$i" || { stop; return 1; }
  done
  start_nginx || { stop; return 1; }
  wait_http "http://127.0.0.1:$LB_PORT/ready" 30 nginx || { stop; return 1; }
  wait_http "http://127.0.0.1:$WEB_PORT/health" 30 web || { stop; return 1; }
  echo "Ready in $((SECONDS - t0)) s."
  cat <<EOF

  Chat in the browser:    http://localhost:$WEB_PORT/   (talks to the load balancer)
  Load balancer:          http://localhost:$LB_PORT/  (REST, socket.io, Rasa HTTP API with the token)
  Readiness:              http://localhost:$LB_PORT/ready  (200: a warm Rasa and a warm action server behind it)
  Load test:              make load LOAD_URL=http://127.0.0.1:$LB_PORT LOAD_LABEL=scaled
  State and logs:         $SCALE_DIR
EOF
}

started_instances() {  # names of every rasaN / actionsN with a pid file, and those of SCALE_INSTANCES
  local f names=() i
  for i in $INSTANCES; do names+=("rasa$i"); done
  for f in "$SCALE_DIR"/rasa[0-9]*.pid; do [ -e "$f" ] && names+=("$(basename "$f" .pid)"); done
  for i in $INSTANCES; do names+=("actions$i"); done
  for f in "$SCALE_DIR"/actions[0-9]*.pid; do [ -e "$f" ] && names+=("$(basename "$f" .pid)"); done
  printf '%s\n' "${names[@]}" | awk '!seen[$0]++'
}

stop() {
  local name
  if alive nginx; then nginx -p "$SCALE_DIR" -c "$SCALE_DIR/nginx.conf" -e "$SCALE_DIR/nginx-error.log" -s stop 2>/dev/null \
    && echo "Stopped nginx."; fi
  for name in web $(started_instances); do
    stop_one "$name"   # the whole process group, also after a kill -9 of its leader
  done
  if alive redis; then kill "$(cat "$SCALE_DIR/redis.pid")" && echo "Stopped Redis."; fi
  if [ -n "$PG_BIN" ] && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null && echo "Stopped PostgreSQL."
  fi
}

status() {
  local name
  for name in $(started_instances) nginx web redis; do
    if alive "$name"; then echo "$name: running (pid $(cat "$SCALE_DIR/$name.pid"))"; else echo "$name: stopped"; fi
  done
  if [ -n "$PG_BIN" ] && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    echo "postgresql: running (port $PG_PORT)"
  else
    echo "postgresql: stopped"
  fi
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
