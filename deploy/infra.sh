#!/usr/bin/env bash
# Local infrastructure for development and tests, without Docker:
#   - Apache Kafka 4.x from Maven Central jars: one KRaft node (broker+controller) by default,
#     or a cluster of KAFKA_NODES combined nodes (KAFKA_NODES=3: three brokers, three voters)
#   - PostgreSQL from Debian packages, private cluster under the project folder
#
# Usage: deploy/infra.sh up|down|status|reset|kafka-stop [NODE]|kafka-start [NODE]|bootstrap
#   up      start both (idempotent: succeeds at once when already running)
#   down    stop both gracefully (idempotent; stops the single node and every cluster node)
#   status  one line per component (per Kafka node); exit 0 when all are up, 1 otherwise
#   reset   down, then delete all data and logs (the downloaded jars are kept)
#   kafka-stop / kafka-start [NODE]   stop or start the brokers, or node NODE alone (drills)
#   bootstrap   print FRONTDESK_KAFKA_BOOTSTRAP_SERVERS for the configured nodes
#
# Everything lives under ${FRONTDESK_HOME:-<repo>/.local}. Settings (env, defaults):
#   KAFKA_NODES=1 KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 KAFKA_HEAP_OPTS="-Xms256m -Xmx512m"
#   KAFKA_START_TIMEOUT=60 KAFKA_LIBS=<FRONTDESK_HOME>/kafka/libs
#   PGHOST=127.0.0.1 PGPORT=55432 PGUSER=frontdesk PGPASSWORD=frontdesk
#   FRONTDESK_DATABASES="checkin cases verification notifications keystore"
# With KAFKA_NODES=N>1, node i (1..N) listens on KAFKA_PORT+2(i-1) (broker) and
# KAFKA_CONTROLLER_PORT+2(i-1) (controller), keeps its data in kafka/cluster/node-i, and
# internal topics get min(3,N) replicas (2 in sync from 3 nodes on).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
FRONTDESK_HOME=${FRONTDESK_HOME:-$REPO_ROOT/.local}

KAFKA_NODES=${KAFKA_NODES:-1}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-55432}
PGUSER=${PGUSER:-frontdesk}
PGPASSWORD=${PGPASSWORD:-frontdesk}
FRONTDESK_DATABASES=${FRONTDESK_DATABASES:-checkin cases verification notifications keystore}

KAFKA_SRC="$SCRIPT_DIR/kafka"
POM="$KAFKA_SRC/pom.xml"

log() { printf '[infra] %s\n' "$*"; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }
# A live (not zombie) process: a killed daemon may linger as a zombie when nothing reaps it.
alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] && { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
tail_file() { [[ -f $1 ]] && { printf '[infra] --- last lines of %s ---\n' "$1" >&2; tail -n "${2:-40}" "$1" >&2; }; return 0; }

init_paths() {
  mkdir -p "$FRONTDESK_HOME"
  FRONTDESK_HOME=$(cd "$FRONTDESK_HOME" && pwd)
  KAFKA_DIR="$FRONTDESK_HOME/kafka"
  KAFKA_LIBS=${KAFKA_LIBS:-$KAFKA_DIR/libs}
  KAFKA_CLUSTER_DIR="$KAFKA_DIR/cluster"
  [[ $KAFKA_NODES =~ ^[1-9]$ ]] || die "KAFKA_NODES must be 1 to 9 (got: $KAFKA_NODES)"
  kafka_node 1
  PG_BASE="$FRONTDESK_HOME/postgres"
  PG_DATA="$PG_BASE/data"
  PG_LOGS="$PG_BASE/logs"
  PG_SOCK="$PG_BASE/run"
}

# Select Kafka node $1: its ports, folders and files. The single node (KAFKA_NODES=1) keeps the
# historical layout (kafka/data, kafka/logs, kafka/server.properties, kafka.pid); cluster
# nodes live in kafka/cluster/node-<i> and share kafka/cluster/cluster.id.
kafka_node() {
  local i=$1 home
  KAFKA_NODE_ID=$i
  KAFKA_NODE_PORT=$((KAFKA_PORT + 2 * (i - 1)))
  KAFKA_NODE_CONTROLLER_PORT=$((KAFKA_CONTROLLER_PORT + 2 * (i - 1)))
  if ((KAFKA_NODES == 1)); then
    home=$KAFKA_DIR
    KAFKA_DATA="$home/data"
    KAFKA_CLUSTER_ID_FILE="$KAFKA_DATA/cluster.id"
    KAFKA_NODE_NAME=kafka
  else
    home="$KAFKA_CLUSTER_DIR/node-$i"
    KAFKA_DATA="$home/data"
    KAFKA_CLUSTER_ID_FILE="$KAFKA_CLUSTER_DIR/cluster.id"
    KAFKA_NODE_NAME="kafka node $i"
  fi
  KAFKA_NODE_DIR=$home
  KAFKA_LOG_DIRS="$KAFKA_DATA/kraft-logs"
  KAFKA_LOGS="$home/logs"
  KAFKA_CONF="$home/server.properties"
  KAFKA_PID_FILE="$home/kafka.pid"
}

kafka_bootstrap() {
  local i servers=""
  for ((i = 1; i <= KAFKA_NODES; i++)); do
    servers+="${servers:+,}127.0.0.1:$((KAFKA_PORT + 2 * (i - 1)))"
  done
  printf '%s\n' "$servers"
}

# Serialise concurrent invocations (e.g. several test workers calling `up`).
# Children started in the background get fd 9 closed so they never hold the lock.
take_lock() {
  exec 9>"$FRONTDESK_HOME/.infra.lock"
  flock -w 300 9 || die "could not get the lock $FRONTDESK_HOME/.infra.lock"
}

apt_install() {
  is_root || die "missing $*; install it (apt-get install $*) or run this script as root"
  local out="$FRONTDESK_HOME/apt.log"
  log "installing Debian packages: $* ..."
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } >"$out" 2>&1; then
    tail_file "$out"; die "apt-get install $* failed"
  fi
}

# ---------------------------------------------------------------- Kafka

ensure_java() {
  local major
  if ! command -v java >/dev/null 2>&1; then apt_install default-jre-headless; fi
  major=$(java -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
  [[ ${major:-0} -ge 17 ]] || die "Kafka 4 needs Java 17 or newer (found: ${major:-unknown})"
}

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n 1; }

ensure_kafka_libs() {
  local version tmp
  version=$(kafka_version)
  [[ -n $version ]] || die "no <kafka.version> in $POM"
  if [[ -f $KAFKA_LIBS/.complete && $(<"$KAFKA_LIBS/.complete") == "$version" ]]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "kafka: downloading Kafka $version jars with Maven (one time) ..."
  mkdir -p "$KAFKA_DIR"
  tmp="$KAFKA_DIR/libs.tmp"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" >"$KAFKA_DIR/maven.log" 2>&1; then
    tail_file "$KAFKA_DIR/maven.log"; rm -rf "$tmp"; die "Maven could not fetch the Kafka jars"
  fi
  [[ -f $tmp/kafka_2.13-$version.jar ]] || die "Maven finished but kafka_2.13-$version.jar is missing"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  printf '%s\n' "$version" >"$KAFKA_LIBS/.complete"
  log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS"
}

kafka_tool() {
  java -Xmx256m -Dlog4j2.configurationFile="$KAFKA_SRC/tools-log4j2.yaml" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_pid() {
  local pid cmd
  [[ -f $KAFKA_PID_FILE ]] || return 1
  { read -r pid <"$KAFKA_PID_FILE"; } 2>/dev/null || return 1
  alive "$pid" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *' kafka.Kafka '* ]] || return 1
  printf '%s\n' "$pid"
}

# shellcheck disable=SC2016 # the template's ${...} placeholders are literal text
render_kafka_config() {
  local text i voters="" replicas min_isr
  for ((i = 1; i <= KAFKA_NODES; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:$((KAFKA_CONTROLLER_PORT + 2 * (i - 1)))"
  done
  replicas=$((KAFKA_NODES < 3 ? KAFKA_NODES : 3))
  min_isr=$((replicas < 3 ? 1 : 2))
  text=$(<"$KAFKA_SRC/server.properties.template")
  text=${text//'${KAFKA_NODE_ID}'/"$KAFKA_NODE_ID"}
  text=${text//'${KAFKA_QUORUM_VOTERS}'/"$voters"}
  text=${text//'${KAFKA_PORT}'/"$KAFKA_NODE_PORT"}
  text=${text//'${KAFKA_CONTROLLER_PORT}'/"$KAFKA_NODE_CONTROLLER_PORT"}
  text=${text//'${KAFKA_LOG_DIRS}'/"$KAFKA_LOG_DIRS"}
  text=${text//'${KAFKA_REPLICATION_FACTOR}'/"$replicas"}
  text=${text//'${KAFKA_MIN_INSYNC_REPLICAS}'/"$min_isr"}
  printf '%s\n' "$text" >"$KAFKA_CONF"
  printf '%s\n' 'request.timeout.ms=5000' 'default.api.timeout.ms=10000' >"$KAFKA_DIR/admin-check.properties"
}

kafka_format() {
  local id
  [[ -f $KAFKA_LOG_DIRS/meta.properties ]] && return 0
  if [[ -s $KAFKA_CLUSTER_ID_FILE ]]; then
    id=$(<"$KAFKA_CLUSTER_ID_FILE")
  else
    id=$(kafka_tool kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    [[ -n $id ]] || die "kafka: could not generate a cluster id"
    printf '%s\n' "$id" >"$KAFKA_CLUSTER_ID_FILE"
  fi
  log "$KAFKA_NODE_NAME: formatting KRaft storage (cluster id $id) ..."
  kafka_tool kafka.tools.StorageTool format -t "$id" -c "$KAFKA_CONF" >"$KAFKA_LOGS/format.log" 2>&1 ||
    { tail_file "$KAFKA_LOGS/format.log"; die "$KAFKA_NODE_NAME: storage format failed"; }
}

# Start the selected node in the background; KAFKA_STARTED_PID is its pid when it still has to
# be waited for (empty when it was already up).
kafka_start() {
  local pid heap port
  KAFKA_STARTED_PID=""
  if pid=$(kafka_pid); then
    if port_open 127.0.0.1 "$KAFKA_NODE_PORT"; then
      log "$KAFKA_NODE_NAME: already running (pid $pid, port $KAFKA_NODE_PORT)"
    else
      log "$KAFKA_NODE_NAME: already starting (pid $pid), waiting for it ..."
      KAFKA_STARTED_PID=$pid
    fi
    return 0
  fi
  rm -f "$KAFKA_PID_FILE"
  for port in "$KAFKA_NODE_PORT" "$KAFKA_NODE_CONTROLLER_PORT"; do
    ! port_open 127.0.0.1 "$port" || die "$KAFKA_NODE_NAME: port $port is already used by another process"
  done
  ensure_java
  ensure_kafka_libs
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS" "$(dirname "$KAFKA_CLUSTER_ID_FILE")"
  render_kafka_config
  kafka_format
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  log "$KAFKA_NODE_NAME: starting broker on 127.0.0.1:$KAFKA_NODE_PORT (logs: $KAFKA_LOGS) ..."
  printf '=== %s infra.sh: starting kafka.Kafka\n' "$(date '+%F %T')" >>"$KAFKA_LOGS/kafka.out"
  setsid java -server "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.yaml" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" </dev/null >>"$KAFKA_LOGS/kafka.out" 2>&1 9>&- &
  KAFKA_STARTED_PID=$!
  printf '%s\n' "$KAFKA_STARTED_PID" >"$KAFKA_PID_FILE"
}

kafka_fail() {
  tail_file "$KAFKA_LOGS/server.log"; tail_file "$KAFKA_LOGS/kafka.out" 20
  die "$KAFKA_NODE_NAME: $1"
}

# Healthy = the port accepts connections AND the broker answers a DescribeCluster
# request with the cluster id we formatted it with.
kafka_wait() {
  local pid=$1 deadline=$((SECONDS + KAFKA_START_TIMEOUT)) out want=""
  [[ -s $KAFKA_CLUSTER_ID_FILE ]] && want=$(<"$KAFKA_CLUSTER_ID_FILE")
  while :; do
    alive "$pid" || { rm -f "$KAFKA_PID_FILE"; kafka_fail "broker process $pid exited during startup"; }
    if port_open 127.0.0.1 "$KAFKA_NODE_PORT" &&
       out=$(timeout 30 java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$KAFKA_SRC/tools-log4j2.yaml" \
               -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.ClusterTool cluster-id \
               --bootstrap-server "127.0.0.1:$KAFKA_NODE_PORT" --command-config "$KAFKA_DIR/admin-check.properties" 2>&1); then
      [[ -z $want || $out == *"$want"* ]] || kafka_fail "port $KAFKA_NODE_PORT answers with another cluster: $out"
      log "$KAFKA_NODE_NAME: ready (pid $pid, port $KAFKA_NODE_PORT)"
      return 0
    fi
    ((SECONDS < deadline)) || kafka_fail "not healthy after ${KAFKA_START_TIMEOUT}s (still running as pid $pid; see $KAFKA_LOGS)"
    sleep 1
  done
}

kafka_stop() {
  local pid i
  if ! pid=$(kafka_pid); then rm -f "$KAFKA_PID_FILE"; log "$KAFKA_NODE_NAME: not running"; return 0; fi
  log "$KAFKA_NODE_NAME: stopping (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    alive "$pid" || break
    sleep 0.5
  done
  if alive "$pid"; then
    log "$KAFKA_NODE_NAME: still running after 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$KAFKA_PID_FILE"
  log "$KAFKA_NODE_NAME: stopped"
}

# The nodes a command acts on: NODE alone when given, else every configured node.
# (Callers check a NODE argument with kafka_check_node first: a die in $(...) exits only there.)
kafka_check_node() {
  [[ -z ${1:-} ]] || { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= KAFKA_NODES)); } ||
    die "no Kafka node $1 (KAFKA_NODES=$KAFKA_NODES)"
}

kafka_nodes() {
  local only=${1:-}
  if [[ -n $only ]]; then
    printf '%s\n' "$only"
  else
    seq 1 "$KAFKA_NODES"
  fi
}

# Start the nodes (all of them before waiting: a KRaft quorum needs a majority of its voters),
# then wait for each one to answer with the cluster id.
kafka_up() {
  local i pids=()
  kafka_check_node "${1:-}"
  for i in $(kafka_nodes "${1:-}"); do
    kafka_node "$i"
    kafka_start
    pids[i]=$KAFKA_STARTED_PID
  done
  KAFKA_PENDING=("${pids[@]+"${pids[@]}"}")
  KAFKA_PENDING_NODES=("${!pids[@]}")
}

kafka_wait_all() {
  local k
  for k in "${!KAFKA_PENDING_NODES[@]}"; do
    kafka_node "${KAFKA_PENDING_NODES[k]}"
    [[ -z ${KAFKA_PENDING[k]} ]] || kafka_wait "${KAFKA_PENDING[k]}"
  done
}

# Every node that has a pid file, whatever KAFKA_NODES says now: the single node and each
# cluster node (so `down` after `KAFKA_NODES=3 up` stops all three).
kafka_stop_all() {
  local configured=$KAFKA_NODES dir i found=no
  KAFKA_NODES=1; kafka_node 1
  if [[ -f $KAFKA_PID_FILE ]]; then found=yes; kafka_stop; fi
  for dir in "$KAFKA_CLUSTER_DIR"/node-*; do
    [[ -f $dir/kafka.pid ]] || continue
    i=${dir##*/node-}
    KAFKA_NODES=9; kafka_node "$i"
    found=yes; kafka_stop
  done
  KAFKA_NODES=$configured
  kafka_node 1
  [[ $found == yes ]] || log "kafka: not running"
}

# ---------------------------------------------------------------- PostgreSQL

# Highest installed major version, but the one that created the data folder if known.
pg_find_bindir() {
  local d want=""
  [[ -f $PG_DATA/PG_VERSION ]] && want=$(<"$PG_DATA/PG_VERSION")
  if [[ -n $want && -x /usr/lib/postgresql/$want/bin/pg_ctl ]]; then printf '%s\n' "/usr/lib/postgresql/$want/bin"; return 0; fi
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then printf '%s\n' "$d"; return 0; fi
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir)
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return 0; }
  fi
  return 1
}

pg_setup_user() {
  if is_root; then
    PG_OS_USER=postgres
    id -u "$PG_OS_USER" >/dev/null 2>&1 ||
      useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
  else
    PG_OS_USER=$(id -un)
  fi
}

# Run a command as the PostgreSQL service user, from a folder it can read.
as_pg() {
  if is_root; then (cd "$PG_BASE" && runuser -u "$PG_OS_USER" -- "$@"); else (cd "$PG_BASE" && "$@"); fi
}

pg_pid() {
  local pid
  [[ -f $PG_DATA/postmaster.pid ]] || return 1
  pid=$(head -n 1 "$PG_DATA/postmaster.pid")
  alive "$pid" || return 1
  printf '%s\n' "$pid"
}

sql_lit() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
sql_ident() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }

pg_write_config() {
  local sock=${PG_SOCK//\'/\'\'}
  cat >"$PG_DATA/frontdesk.conf" <<EOF
# Written by deploy/infra.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$sock'
max_connections = ${PG_MAX_CONNECTIONS:-500}
shared_buffers = 64MB
work_mem = 4MB
maintenance_work_mem = 32MB
effective_cache_size = 256MB
wal_buffers = 4MB
min_wal_size = 64MB
max_wal_size = 512MB
password_encryption = scram-sha-256
logging_collector = off
EOF
  grep -q "^include_if_exists = 'frontdesk.conf'" "$PG_DATA/postgresql.conf" ||
    printf "\ninclude_if_exists = 'frontdesk.conf'\n" >>"$PG_DATA/postgresql.conf"
  cat >"$PG_DATA/pg_hba.conf" <<EOF
# Written by deploy/infra.sh. TYPE DATABASE USER ADDRESS METHOD
local all $PG_OS_USER trust
host all all 127.0.0.1/32 scram-sha-256
EOF
  is_root && chown "$PG_OS_USER:" "$PG_DATA/frontdesk.conf" "$PG_DATA/pg_hba.conf" "$PG_DATA/postgresql.conf"
  return 0
}

pg_bootstrap_sql() {
  local db arr="" role dbs=()
  role=$(sql_ident "$PGUSER")
  read -r -a dbs <<<"$FRONTDESK_DATABASES"
  for db in "${dbs[@]}"; do arr+="${arr:+,}$(sql_lit "$db")"; done
  printf '%s\n' \
    "SELECT 'CREATE ROLE $role' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = $(sql_lit "$PGUSER")) \\gexec" \
    "ALTER ROLE $role LOGIN CREATEDB PASSWORD $(sql_lit "$PGPASSWORD");"
  [[ -z $arr ]] || printf '%s\n' \
    "SELECT format('CREATE DATABASE %I OWNER %I', d, $(sql_lit "$PGUSER")) FROM unnest(ARRAY[$arr]::text[]) AS d WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \\gexec"
}

pg_up() {
  local bindir pid
  pg_setup_user
  if pid=$(pg_pid); then
    "$(pg_find_bindir)/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -t 30 ||
      { tail_file "$PG_LOGS/postgresql.log"; die "postgres: running (pid $pid) but not accepting connections on port $PGPORT"; }
    log "postgres: already running (pid $pid, port $PGPORT)"
    return 0
  fi
  ! port_open 127.0.0.1 "$PGPORT" || die "postgres: port $PGPORT is already used by another process"
  rm -f "$PG_DATA/postmaster.pid" # stale: its postmaster is gone (PostgreSQL itself trusts a zombie's pid)
  bindir=$(pg_find_bindir) || { apt_install postgresql; bindir=$(pg_find_bindir) || die "postgres: binaries not found after install"; }
  mkdir -p "$PG_BASE" "$PG_LOGS" "$PG_SOCK"
  if is_root; then
    chmod o+x "$FRONTDESK_HOME"
    chown -R "$PG_OS_USER:" "$PG_BASE"
  fi
  as_pg test -w "$PG_BASE" ||
    die "postgres: $PG_OS_USER cannot reach $PG_BASE (every parent folder needs o+x); set FRONTDESK_HOME elsewhere"
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    log "postgres: initdb in $PG_DATA ($bindir) ..."
    rm -rf "$PG_DATA"
    as_pg "$bindir/initdb" -D "$PG_DATA" -U "$PG_OS_USER" -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_LOGS/initdb.log" 2>&1 ||
      { tail_file "$PG_LOGS/initdb.log"; die "postgres: initdb failed"; }
  fi
  pg_write_config
  log "postgres: starting on 127.0.0.1:$PGPORT (logs: $PG_LOGS) ..."
  as_pg "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOGS/postgresql.log" -w -t 60 start >/dev/null 9>&- ||
    { tail_file "$PG_LOGS/postgresql.log"; die "postgres: pg_ctl start failed"; }
  "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -t 30 || die "postgres: not ready on port $PGPORT"
  pg_bootstrap_sql | as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PGPORT" \
    -U "$PG_OS_USER" -d postgres -f - >/dev/null || die "postgres: creating role/databases failed"
  log "postgres: ready (pid $(pg_pid || echo '?'), port $PGPORT, role $PGUSER, databases: $FRONTDESK_DATABASES)"
}

pg_down() {
  local bindir pid
  if ! pid=$(pg_pid); then log "postgres: not running"; return 0; fi
  pg_setup_user
  bindir=$(pg_find_bindir) || die "postgres: running (pid $pid) but pg_ctl not found"
  log "postgres: stopping (pid $pid) ..."
  as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
  log "postgres: stopped"
}

# ---------------------------------------------------------------- commands

cmd_up() {
  kafka_up               # the brokers boot in the background while PostgreSQL starts
  pg_up
  kafka_wait_all
  log "up: kafka $(kafka_bootstrap), postgres $PGHOST:$PGPORT"
}

cmd_down() {
  kafka_stop_all
  pg_down
}

cmd_status() {
  local rc=0 pid i
  for i in $(kafka_nodes); do
    kafka_node "$i"
    pid=""
    if pid=$(kafka_pid) && port_open 127.0.0.1 "$KAFKA_NODE_PORT"; then
      log "$KAFKA_NODE_NAME: running (pid $pid, port $KAFKA_NODE_PORT)"
    elif [[ -n ${pid:-} ]]; then
      log "$KAFKA_NODE_NAME: starting (pid $pid, port $KAFKA_NODE_PORT not open yet)"; rc=1
    else
      log "$KAFKA_NODE_NAME: stopped (port $KAFKA_NODE_PORT)"; rc=1
    fi
  done
  pid=""
  if pid=$(pg_pid) && port_open 127.0.0.1 "$PGPORT"; then
    log "postgres: running (pid $pid, port $PGPORT)"
  else
    log "postgres: stopped (port $PGPORT)"; rc=1
  fi
  return "$rc"
}

# Kafka alone: for outage drills and the test that proves commands survive a broker outage.
# With a NODE argument, that cluster node alone (a lost broker).
cmd_kafka-stop() {
  local i
  if [[ -z ${1:-} ]] && ((KAFKA_NODES == 1)); then kafka_stop; return 0; fi
  kafka_check_node "${1:-}"
  for i in $(kafka_nodes "${1:-}"); do kafka_node "$i"; kafka_stop; done
}
cmd_kafka-start() {
  kafka_up "${1:-}"
  kafka_wait_all
  log "kafka up on $(kafka_bootstrap)"
}

cmd_bootstrap() { kafka_bootstrap; }

cmd_reset() {
  cmd_down
  log "reset: deleting data and logs under $FRONTDESK_HOME (keeping downloaded jars)"
  KAFKA_NODES=1; kafka_node 1
  rm -rf "$KAFKA_DATA" "$KAFKA_LOGS" "$KAFKA_CONF" "$KAFKA_DIR/admin-check.properties" \
    "$KAFKA_CLUSTER_DIR" "$PG_BASE"
}

main() {
  local cmd=${1:-}
  case $cmd in
    up | down | status | reset | kafka-stop | kafka-start | bootstrap) ;;
    *) printf 'usage: %s up|down|status|reset|kafka-stop [NODE]|kafka-start [NODE]|bootstrap\n' "$0" >&2; exit 2 ;;
  esac
  init_paths
  [[ $cmd == status || $cmd == bootstrap ]] || take_lock
  "cmd_$cmd" "${@:2}"
}

main "$@"
