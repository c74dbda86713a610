# Shared by scripts/stack.sh and scripts/scale.sh (sourced): each component runs in its own
# session and process group; PROC_DIR/NAME.pid holds the leader's pid, PROC_DIR/NAME.pgid its
# group. stop_one sends TERM to the group's other processes first, then to the leader, waits
# STOP_TIMEOUT seconds, then KILLs the whole group, so nothing survives, also when the leader
# was already killed (kill -9) and its children were left behind.
# Needs: PROC_DIR, STOP_TIMEOUT.

recorded() {  # name pid|pgid: the number in PROC_DIR/NAME.pid or PROC_DIR/NAME.pgid
  [ -s "$PROC_DIR/$1.$2" ] || return 1
  tr -cd '0-9' <"$PROC_DIR/$1.$2"
}
live() {  # pid: exists and is not a zombie (orphans may stay unreaped in a container)
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ ${state// /} != Z* ]]
}
alive() { local pid; pid=$(recorded "$1" pid) && [ -n "$pid" ] && live "$pid"; }
members() {  # name: live processes of its group (pid files of the old script, without a group: pid + children)
  local pid pgid
  pid=$(recorded "$1" pid) || pid=
  pgid=$(recorded "$1" pgid) || pgid=
  if [ -n "$pgid" ]; then
    ps -eo pid=,pgid=,stat= | awk -v g="$pgid" '$2 == g && $3 !~ /^Z/ {print $1}'
  elif [ -n "$pid" ]; then
    if live "$pid"; then echo "$pid"; fi
    ps -eo pid=,ppid=,stat= | awk -v p="$pid" '$2 == p && $3 !~ /^Z/ {print $1}'
  fi
}

launch() {  # name command...: in a new session and process group; records its pid and group
  local name=$1 i
  shift
  rm -f "$PROC_DIR/$name.pid" "$PROC_DIR/$name.pgid"
  # the session leader writes its own pid (== its group id), then becomes the command
  setsid bash -c 'echo $$ >"$0.pgid"; echo $$ >"$0.pid"; exec "$@"' "$PROC_DIR/$name" "$@" \
    >"$PROC_DIR/$name.log" 2>&1 </dev/null &
  for ((i = 0; i < 100; i++)); do
    [ -s "$PROC_DIR/$name.pid" ] && return 0
    sleep 0.05
  done
  echo "error: $name did not start; see $PROC_DIR/$name.log" >&2
  return 1
}

stop_one() {  # name: TERM the group's other processes, then the leader; KILL the group after STOP_TIMEOUT
  local name=$1 pid pgid procs p i forced='' note=''
  pid=$(recorded "$name" pid) || pid=
  pgid=$(recorded "$name" pgid) || pgid=
  procs=$(members "$name")
  if [ -n "$procs" ]; then
    if [ -n "$pid" ] && ! live "$pid"; then note=" (its pid $pid had exited; cleared what was left: $(echo $procs))"; fi
    for p in $procs; do [ "$p" = "$pid" ] || kill -TERM "$p" 2>/dev/null; done
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
      [ -z "$(members "$name")" ] && break
      sleep 0.25
    done
    procs=$(members "$name")
    if [ -n "$procs" ]; then
      forced=" (killed after ${STOP_TIMEOUT}s)"
      [ -n "$pgid" ] && kill -KILL -- "-$pgid" 2>/dev/null
      for p in $procs; do kill -KILL "$p" 2>/dev/null; done
      for ((i = 0; i < 20; i++)); do
        [ -z "$(members "$name")" ] && break
        sleep 0.25
      done
    fi
    procs=$(members "$name")
    if [ -n "$procs" ]; then
      echo "error: could not stop $name: processes $(echo $procs) still run" >&2
      return 1
    fi
    echo "Stopped $name$forced$note."
  fi
  rm -f "$PROC_DIR/$name.pid" "$PROC_DIR/$name.pgid"
}

