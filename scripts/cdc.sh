#!/usr/bin/env bash
# Start/stop the change-data-capture path beside the broker of scripts/services.sh:
# PostgreSQL (Debian's binaries, logical replication) holding the sample one-stop schema,
# and a Kafka Connect worker (Apache Kafka's jars) running the Debezium PostgreSQL
# connector (Maven Central), configured by examples/one-stop/connector.json.
#
#   scripts/cdc.sh up          start what is not running yet (Kafka must already run:
#                              scripts/services.sh up), wait until it answers, register the
#                              connector, then print (stdout, eval-able):
#                                TTHC_PG_DSN=postgresql://onestop:...@127.0.0.1:15432/onestop
#                                TTHC_CONNECT_URL=http://127.0.0.1:18083
#                                TTHC_CDC_STARTED=postgres,connect   (what THIS call started)
#   scripts/cdc.sh down [postgres|connect]   stop what this script started, wipe data dirs
#   scripts/cdc.sh status      show what runs; exit 0 only if both run and answer
#   scripts/cdc.sh jars        fetch Kafka Connect + Debezium jars (once), print their folder
#   scripts/cdc.sh register [FILE]  (re)register a connector from FILE (default
#                              examples/one-stop/connector.json) on the running worker
#   scripts/cdc.sh createdb NAME    create database NAME owned by the application role
#
# Everything else (progress, errors) goes to stderr, so `eval "$(scripts/cdc.sh up)"` works.
#
# Environment:
#   TTHC_KAFKA_PORT        the broker's port on 127.0.0.1 (default 19092)
#   TTHC_PG_PORT           PostgreSQL port (default 15432)
#   TTHC_CONNECT_PORT      Kafka Connect REST port (default 18083)
#   TTHC_PG_DATABASE       database of the sample schema (default onestop)
#   TTHC_PG_APP_PASSWORD   password of role onestop, the application (default onestop-dev)
#   TTHC_PG_CDC_PASSWORD   password of role tthc_cdc, the replication login Debezium uses
#                          (default cdc-dev); Connect reads it from its environment
#   TTHC_CDC_TOPIC_PREFIX, TTHC_CDC_SLOT, TTHC_CDC_DATABASE, TTHC_CDC_CONNECTOR
#                          override topic.prefix, slot.name, database.dbname and the
#                          connector name of the file at registration (one capture per
#                          test, say)
#   TTHC_CDC_REGISTER      0: up does not register the connector
#   TTHC_RUN_DIR           state root; pids, data and logs in $TTHC_RUN_DIR/cdc (default $PWD/.run)
#   TTHC_CACHE_DIR         jar cache root (default ~/.cache/tthc-monitor)
#   TTHC_KAFKA_VERSION     Kafka Connect version (default 4.1.1)
#   TTHC_DEBEZIUM_VERSION  Debezium version (default 3.6.1.Final)
#   TTHC_PG_BIN            PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin)
#   TTHC_CONNECT_HEAP      JVM -Xmx of the Connect worker (default 512m)
#   TTHC_SERVICES_TIMEOUT  seconds to wait for readiness (default 120)
#   PYTHON                 interpreter for the JSON handling of `register` (default python3)
#   JAVA_HOME / JAVA       java to run (default $JAVA_HOME/bin/java, else java on PATH)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
HOST=127.0.0.1
KAFKA_PORT=${TTHC_KAFKA_PORT:-19092}
PG_PORT=${TTHC_PG_PORT:-15432}
CONNECT_PORT=${TTHC_CONNECT_PORT:-18083}
PG_DATABASE=${TTHC_PG_DATABASE:-onestop}
APP_PASSWORD=${TTHC_PG_APP_PASSWORD:-onestop-dev}
CDC_PASSWORD=${TTHC_PG_CDC_PASSWORD:-cdc-dev}
KAFKA_VERSION=${TTHC_KAFKA_VERSION:-4.1.1}
DEBEZIUM_VERSION=${TTHC_DEBEZIUM_VERSION:-3.6.1.Final}
CACHE_DIR=${TTHC_CACHE_DIR:-${HOME:-/tmp}/.cache/tthc-monitor}
TIMEOUT=${TTHC_SERVICES_TIMEOUT:-120}
STOP_TIMEOUT=${TTHC_SERVICES_STOP_TIMEOUT:-30}
CONNECT_HEAP=${TTHC_CONNECT_HEAP:-512m}
CONNECTOR_FILE_DEFAULT=$ROOT/examples/one-stop/connector.json
SCHEMA_FILE=$ROOT/examples/one-stop/schema.sql
PY=${PYTHON:-python3}
if [[ -n ${JAVA:-} ]]; then :
elif [[ -n ${JAVA_HOME:-} && -x ${JAVA_HOME}/bin/java ]]; then JAVA=$JAVA_HOME/bin/java
else JAVA=java; fi

log() { printf 'cdc: %s\n' "$*" >&2; }
die() { printf 'cdc: ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

for p in KAFKA_PORT PG_PORT CONNECT_PORT; do
  if ! [[ ${!p} =~ ^[0-9]+$ ]] || ((${!p} < 1 || ${!p} > 65535)); then
    die "${p}=${!p} is not a valid port"
  fi
done
[[ $PG_DATABASE =~ ^[a-z_][a-z0-9_]*$ ]] || die "TTHC_PG_DATABASE=$PG_DATABASE: use [a-z_][a-z0-9_]*"

RUN_ROOT=${TTHC_RUN_DIR:-$PWD/.run}
mkdir -p "$RUN_ROOT/cdc"
RUN_DIR=$(cd "$RUN_ROOT/cdc" && pwd)

pg_bin() {
  if [[ -n ${TTHC_PG_BIN:-} ]]; then printf '%s\n' "$TTHC_PG_BIN"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $dir && -x $dir/initdb ]] ||
    die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
  printf '%s\n' "$dir"
}

# PostgreSQL refuses to run as root: as root, its programs run as the postgres user.
as_pg() {
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "running as root needs the postgres user (apt-get install postgresql)"
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# ---------------------------------------------------------------------------------------------
# bookkeeping, as in services.sh: <svc>.pid holds "pid starttime"

proc_start() {
  local stat rest
  [[ -r /proc/$1/stat ]] || return 1
  stat=$(<"/proc/$1/stat") || return 1
  rest=${stat##*) }
  local -a fields
  read -r -a fields <<<"$rest"
  printf '%s\n' "${fields[19]}"
}

svc_pid() {
  local f=$RUN_DIR/$1.pid pid start now
  [[ -f $f ]] || return 1
  read -r pid start <"$f" || true
  [[ -n ${pid:-} && -n ${start:-} ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  now=$(proc_start "$pid") || return 1
  [[ $now == "$start" ]] || return 1
  printf '%s\n' "$pid"
}

record_pid() {  # record_pid svc pid logs...
  local svc=$1 pid=$2 start
  shift 2
  start=$(proc_start "$pid") || start=unknown
  printf '%s %s\n' "$pid" "$start" >"$RUN_DIR/$svc.pid"
  printf 'LOGS=%s\n' "$*" >"$RUN_DIR/$svc.state"
}

port_open() {
  # shellcheck disable=SC2016
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

require_free_port() {
  if port_open "$1"; then
    die "$2 port $HOST:$1 is already in use by a process this script did not start; pick another with $3=<port>"
  fi
}

spawn() {  # spawn LOG cmd...: detached, own session, stdin closed; sets LAST_PID
  local logfile=$1
  shift
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  LAST_PID=$!
}

stop_pid() {
  local svc=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "$svc (pid $pid) did not exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

show_logs() {
  local f
  [[ -f $RUN_DIR/$1.state ]] || return 0
  for f in $(sed -n 's/^LOGS=//p' "$RUN_DIR/$1.state"); do
    [[ -s $f ]] || continue
    printf '%s\n' "----- last 40 lines of $f -----" >&2
    tail -n 40 "$f" >&2 || true
  done
}

# ---------------------------------------------------------------------------------------------
# jars

connect_libs() { printf '%s\n' "$CACHE_DIR/connect-$KAFKA_VERSION-debezium-$DEBEZIUM_VERSION/libs"; }

ensure_connect_jars() {
  local libs base pom stamp tmp
  libs=$(connect_libs)
  base=$(dirname "$libs")
  pom=$SCRIPT_DIR/cdc/pom.xml
  stamp="$KAFKA_VERSION $DEBEZIUM_VERSION $(cksum <"$pom" | cut -d' ' -f1)"
  if [[ -f $libs/.complete && $(<"$libs/.complete") == "$stamp" ]]; then
    return 0
  fi
  have mvn || die "mvn not found; it is needed once to fetch Kafka Connect and Debezium jars (apt-get install maven)"
  mkdir -p "$base"
  tmp=$(mktemp -d "$base/libs.tmp.XXXXXX")
  log "fetching Kafka Connect $KAFKA_VERSION and Debezium $DEBEZIUM_VERSION jars from Maven Central (one-time)..."
  if ! mvn -B -q -f "$pom" -Dkafka.version="$KAFKA_VERSION" -Ddebezium.version="$DEBEZIUM_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
        >"$base/mvn.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 30 "$base/mvn.log" >&2 || true
    die "Maven could not fetch the Connect jars (full log: $base/mvn.log)"
  fi
  [[ -f $tmp/connect-runtime-$KAFKA_VERSION.jar && -f $tmp/debezium-connector-postgres-$DEBEZIUM_VERSION.jar ]] || {
    rm -rf "$tmp"
    die "Maven finished but connect-runtime or debezium-connector-postgres is missing (log: $base/mvn.log)"
  }
  printf '%s\n' "$stamp" >"$tmp/.complete"
  rm -rf "$libs"
  mv "$tmp" "$libs"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

psql_admin() {  # psql_admin DB args...: as the cluster's superuser over the socket
  local db=$1 bin
  shift
  bin=$(pg_bin)
  as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR/postgres/socket" -p "$PG_PORT" \
    -U postgres -d "$db" "$@"
}

start_postgres() {
  local bin dir
  bin=$(pg_bin)
  dir=$RUN_DIR/postgres
  rm -rf "$dir"
  mkdir -p "$dir/socket" "$dir/logs"
  # A new cluster gets new Kafka Connect topics (below): connectors registered against an
  # earlier, wiped cluster (their offsets and slots gone) must not come back with it.
  head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RUN_DIR/instance"
  if ((EUID == 0)); then
    chown -R postgres:postgres "$dir"
    as_pg test -x "$dir" ||
      die "the postgres user cannot enter $dir: use a TTHC_RUN_DIR whose parents it may traverse (mode 755)"
  fi
  local pwfile=$dir/socket/.pw
  (umask 077; printf '%s\n' "$(head -c 18 /dev/urandom | base64)" >"$pwfile")
  if ((EUID == 0)); then chown postgres "$pwfile"; fi
  if ! as_pg "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
       -A scram-sha-256 >"$dir/logs/initdb.log" 2>&1; then
    tail -n 20 "$dir/logs/initdb.log" >&2
    die "initdb failed (log: $dir/logs/initdb.log)"
  fi
  rm -f "$pwfile"
  # The superuser only over the socket (a directory of the run dir, not /tmp); the
  # application and the replication role over TCP on 127.0.0.1, with passwords.
  cat >"$dir/data/pg_hba.conf" <<EOF
local all         postgres                 peer map=owner
host  all         onestop    127.0.0.1/32  scram-sha-256
host  all         tthc_cdc   127.0.0.1/32  scram-sha-256
host  replication tthc_cdc   127.0.0.1/32  scram-sha-256
EOF
  local os_user
  os_user=$( ((EUID == 0)) && echo postgres || id -un)
  printf 'owner %s postgres\n' "$os_user" >"$dir/data/pg_ident.conf"
  cat >>"$dir/data/postgresql.conf" <<EOF
# generated by scripts/cdc.sh
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$dir/socket'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
# A slot that nobody reads keeps WAL forever; cap it (docs/cdc.md, "the replication slot").
max_slot_wal_keep_size = 2GB
timezone = 'Asia/Ho_Chi_Minh'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
logging_collector = off
EOF
  if ((EUID == 0)); then
    # setpriv execs (no parent left behind), so the recorded pid is the postmaster's.
    spawn "$dir/logs/postgres.log" setpriv --reuid=postgres --regid=postgres --init-groups -- \
      "$bin/postgres" -D "$dir/data"
  else
    spawn "$dir/logs/postgres.log" "$bin/postgres" -D "$dir/data"
  fi
  record_pid postgres "$LAST_PID" "$dir/logs/postgres.log"
  log "postgres starting, pid $LAST_PID, $HOST:$PG_PORT"
}

postgres_ready() {
  local bin
  bin=$(pg_bin)
  "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2
}

create_database() {  # create_database NAME: owned by onestop, schema applied, publication
  local name=$1
  [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name $name: use [a-z_][a-z0-9_]*"
  psql_admin postgres -c "CREATE DATABASE $name OWNER onestop"
  # The replication role reads the captured tables for the snapshot, nothing else.
  PGPASSWORD=$APP_PASSWORD "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" \
    -U onestop -d "$name" -f "$SCHEMA_FILE" >&2
  psql_admin "$name" -c "GRANT USAGE ON SCHEMA public TO tthc_cdc; GRANT SELECT ON ALL TABLES IN SCHEMA public TO tthc_cdc"
}

init_roles() {
  psql_admin postgres <<EOF
CREATE ROLE onestop LOGIN PASSWORD '$APP_PASSWORD';
CREATE ROLE tthc_cdc LOGIN REPLICATION PASSWORD '$CDC_PASSWORD';
EOF
  create_database "$PG_DATABASE"
}

# ---------------------------------------------------------------------------------------------
# Kafka Connect (distributed mode: offsets, configs and status in Kafka topics, so a
# restarted worker resumes where it stopped)

start_connect() {
  have "$JAVA" || die "java not found (set JAVA_HOME or apt-get install openjdk-17-jre-headless)"
  ensure_connect_jars
  local libs dir props
  libs=$(connect_libs)
  dir=$RUN_DIR/connect
  mkdir -p "$dir/logs"
  : >"$dir/logs/connect.log"
  props=$dir/worker.properties
  local group
  group=tthc-cdc-$CONNECT_PORT-$(cat "$RUN_DIR/instance" 2>/dev/null || echo shared)
  cat >"$props" <<EOF
# generated by scripts/cdc.sh
bootstrap.servers=$HOST:$KAFKA_PORT
group.id=$group
config.storage.topic=$group-configs
offset.storage.topic=$group-offsets
status.storage.topic=$group-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.flush.interval.ms=1000
# One worker: a task whose worker vanished is reassigned at once, not after 5 minutes.
scheduled.rebalance.max.delay.ms=0
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
listeners=http://$HOST:$CONNECT_PORT
rest.advertised.host.name=$HOST
rest.advertised.port=$CONNECT_PORT
plugin.discovery=only_scan
config.providers=env
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
EOF
  spawn "$dir/logs/stdout.log" env TTHC_PG_HOST="$HOST" TTHC_PG_PORT="$PG_PORT" TTHC_PG_CDC_PASSWORD="$CDC_PASSWORD" \
    TTHC_PG_DATABASE="$PG_DATABASE" \
    "$JAVA" "-Xmx$CONNECT_HEAP" -Xms64m -XX:+UseSerialGC -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$SCRIPT_DIR/cdc/log4j2.properties" "-Dconnect.logs.dir=$dir/logs" \
    -cp "$libs/*" org.apache.kafka.connect.cli.ConnectDistributed "$props"
  record_pid connect "$LAST_PID" "$dir/logs/stdout.log" "$dir/logs/connect.log"
  log "kafka connect starting, pid $LAST_PID, REST http://$HOST:$CONNECT_PORT"
}

connect_ready() {
  curl -fsS -m 3 "http://$HOST:$CONNECT_PORT/connectors" >/dev/null 2>&1
}

register() {  # register FILE: PUT the file's config (with the env overrides) on the worker
  local file=${1:-$CONNECTOR_FILE_DEFAULT} body name
  [[ -f $file ]] || die "no connector file $file"
  have "$PY" || die "register needs python ($PY) to read $file"
  body=$("$PY" - "$file" <<'PYEOF'
import json, os, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
config = dict(doc["config"])
overrides = {
    "topic.prefix": "TTHC_CDC_TOPIC_PREFIX",
    "slot.name": "TTHC_CDC_SLOT",
    "database.dbname": "TTHC_CDC_DATABASE",
}
for key, var in overrides.items():
    if os.environ.get(var):
        config[key] = os.environ[var]
name = os.environ.get("TTHC_CDC_CONNECTOR") or doc["name"]
config["name"] = name
print(name)
print(json.dumps(config))
PYEOF
)
  name=$(head -n 1 <<<"$body")
  local code
  code=$(tail -n +2 <<<"$body" | curl -sS -o "$RUN_DIR/register.out" -w '%{http_code}' -m 60 \
    -X PUT -H 'Content-Type: application/json' --data-binary @- \
    "http://$HOST:$CONNECT_PORT/connectors/$name/config")
  [[ $code == 200 || $code == 201 ]] || die "Kafka Connect refused connector $name (HTTP $code): $(cat "$RUN_DIR/register.out")"
  local i state=""
  for ((i = 0; i < TIMEOUT; i++)); do
    state=$(curl -fsS -m 3 "http://$HOST:$CONNECT_PORT/connectors/$name/status" 2>/dev/null || true)
    if [[ $state == *'"tasks":[{'*'"state":"RUNNING"'* ]]; then
      log "connector $name running"
      return 0
    fi
    if [[ $state == *'"state":"FAILED"'* ]]; then
      die "connector $name failed: $state"
    fi
    sleep 1
  done
  die "connector $name not running after ${TIMEOUT}s: $state"
}

# ---------------------------------------------------------------------------------------------
# commands

lock() {
  exec 9>"$RUN_DIR/.lock"
  flock -w 180 9 || die "another cdc.sh is busy with $RUN_DIR"
}

STARTED=()
abort_started() {
  local svc pid
  for svc in "${STARTED[@]}"; do
    if pid=$(svc_pid "$svc"); then
      log "stopping $svc (pid $pid) started by this call"
      stop_pid "$svc" "$pid"
    fi
    rm -f "$RUN_DIR/$svc.pid"
  done
}

wait_ready() {  # wait_ready svc probe
  local svc=$1 probe=$2 deadline=$((SECONDS + TIMEOUT))
  while ! "$probe"; do
    if ! svc_pid "$svc" >/dev/null; then
      show_logs "$svc"
      die "$svc exited before it became ready (logs in $RUN_DIR/$svc/logs)"
    fi
    if ((SECONDS >= deadline)); then
      show_logs "$svc"
      die "$svc not ready after ${TIMEOUT}s (logs in $RUN_DIR/$svc/logs)"
    fi
    sleep 0.5
  done
}

cmd_up() {
  lock
  port_open "$KAFKA_PORT" || die "no broker on $HOST:$KAFKA_PORT: start it first (scripts/services.sh up with TTHC_KAFKA_PORT=$KAFKA_PORT)"
  local t0=$SECONDS
  trap 'rc=$?; if ((rc)); then abort_started; fi' EXIT
  trap 'log "interrupted"; exit 130' INT TERM
  if svc_pid postgres >/dev/null; then
    log "postgres already running"
  else
    require_free_port "$PG_PORT" PostgreSQL TTHC_PG_PORT
    STARTED+=(postgres)
    start_postgres
    wait_ready postgres postgres_ready
    init_roles
  fi
  if svc_pid connect >/dev/null; then
    log "kafka connect already running"
  else
    require_free_port "$CONNECT_PORT" "Kafka Connect REST" TTHC_CONNECT_PORT
    STARTED+=(connect)
    start_connect
    wait_ready connect connect_ready
  fi
  if [[ ${TTHC_CDC_REGISTER:-1} != 0 ]]; then
    register "$CONNECTOR_FILE_DEFAULT"
  fi
  trap - INT TERM EXIT
  log "ready after $((SECONDS - t0))s: postgres $HOST:$PG_PORT, connect http://$HOST:$CONNECT_PORT"
  local started
  started=$(IFS=,; printf '%s' "${STARTED[*]}")
  printf 'TTHC_PG_DSN=postgresql://onestop:%s@%s:%s/%s\n' "$APP_PASSWORD" "$HOST" "$PG_PORT" "$PG_DATABASE"
  printf 'TTHC_CONNECT_URL=http://%s:%s\n' "$HOST" "$CONNECT_PORT"
  printf 'TTHC_CDC_STARTED=%s\n' "$started"
}

cmd_down() {
  local -a svcs=()
  local svc pid
  (($#)) && svcs=("$@") || svcs=(connect postgres)
  lock
  for svc in "${svcs[@]}"; do
    case $svc in postgres | connect) ;; *) die "unknown service '$svc' (postgres or connect)" ;; esac
    if pid=$(svc_pid "$svc"); then
      log "stopping $svc (pid $pid)"
      stop_pid "$svc" "$pid"
    else
      log "$svc: not running"
    fi
    rm -f "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc.state"
  done
  for svc in "${svcs[@]}"; do
    [[ $svc == postgres ]] && rm -rf "$RUN_DIR/postgres/data" "$RUN_DIR/instance"
  done
  return 0
}

cmd_status() {
  local rc=0 pid
  if pid=$(svc_pid postgres) && postgres_ready; then
    printf 'postgres running  pid %-7s %s:%s\n' "$pid" "$HOST" "$PG_PORT"
  else
    printf 'postgres stopped or not answering\n'; rc=3
  fi
  if pid=$(svc_pid connect) && connect_ready; then
    printf 'connect  running  pid %-7s http://%s:%s  connectors: %s\n' "$pid" "$HOST" "$CONNECT_PORT" \
      "$(curl -fsS -m 3 "http://$HOST:$CONNECT_PORT/connectors")"
  else
    printf 'connect  stopped or not answering\n'; rc=3
  fi
  printf 'state: %s\n' "$RUN_DIR"
  return "$rc"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

case ${1:-} in
  up) shift; cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  jars) ensure_connect_jars; connect_libs ;;
  register) shift; register "${1:-$CONNECTOR_FILE_DEFAULT}" ;;
  createdb) shift; (($# == 1)) || usage; create_database "$1" ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
