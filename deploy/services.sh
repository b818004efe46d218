#!/usr/bin/env bash
# Start, stop or report the four services as background processes (logs in .local/logs).
#   deploy/services.sh start|stop|status
#
# Ports are derived, never fixed (a second set of services runs beside the first with other
# bases and its own FRONTDESK_HOME):
#   FRONTDESK_PORT_BASE=8000          service i (checkin 1, cases 2, verification 3,
#                                     notifications 4) listens on base+i, its replica r on
#                                     base+i+10(r-1); the identity-provider sandbox on base+93
#   FRONTDESK_SANDBOX_PORT_BASE=9100  provider sandboxes: sms +1, wechat +2, qq +3, the mail
#                                     sandbox's HTTP side +25
#   FRONTDESK_SMTP_PORT_BASE=2500     the mail sandbox's SMTP port: base+25
#   REPLICAS=1                        processes per service (1-9), all on the same databases
#   FRONTDESK_READY_TIMEOUT=60        seconds each process may take to answer /readyz 200
# Each process gets its own FRONTDESK_HTTP_PORT (so an inherited one is refused: it would put
# every service on one port). The defaults give the ports of the services' own defaults.
# Replica 1 is named after the service (run/checkin.pid, logs/checkin.log); replica r > 1
# is checkin-r. Every wait polls the process's own port and fails when that process dies or
# when another process answers on it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${FRONTDESK_VENV:-$ROOT/.venv}
RUN=${FRONTDESK_HOME:-$ROOT/.local}/run
LOGS=${FRONTDESK_HOME:-$ROOT/.local}/logs
PORT_BASE=${FRONTDESK_PORT_BASE:-8000}
SANDBOX_PORT_BASE=${FRONTDESK_SANDBOX_PORT_BASE:-9100}
SMTP_PORT_BASE=${FRONTDESK_SMTP_PORT_BASE:-2500}
REPLICAS=${REPLICAS:-1}
READY_TIMEOUT=${FRONTDESK_READY_TIMEOUT:-60}
# name:offset from FRONTDESK_PORT_BASE
SERVICES=(checkin:1 cases:2 verification:3 notifications:4)

IDP_PORT=$((PORT_BASE + 93))
SMS_PORT=$((SANDBOX_PORT_BASE + 1))
WECHAT_PORT=$((SANDBOX_PORT_BASE + 2))
QQ_PORT=$((SANDBOX_PORT_BASE + 3))
MAIL_HTTP_PORT=$((SANDBOX_PORT_BASE + 25))
SMTP_PORT=$((SMTP_PORT_BASE + 25))
# Local sandboxes of the external parties (same protocols as the real providers), started
# first: name:health port:module and arguments (one per line).
SANDBOXES=(
  "sandbox-idp:$IDP_PORT:sandboxes.identity_provider --port $IDP_PORT"
  "sandbox-sms:$SMS_PORT:sandboxes.message_provider --channel sms --port $SMS_PORT"
  "sandbox-wechat:$WECHAT_PORT:sandboxes.message_provider --channel wechat --port $WECHAT_PORT"
  "sandbox-qq:$QQ_PORT:sandboxes.message_provider --channel qq --port $QQ_PORT"
  "sandbox-smtp:$MAIL_HTTP_PORT:sandboxes.smtp --port $SMTP_PORT --http-port $MAIL_HTTP_PORT"
)

die() { echo "[services] $*" >&2; exit 1; }
[[ -z ${FRONTDESK_HTTP_PORT:-} ]] ||
  die "FRONTDESK_HTTP_PORT is one process's port and this script starts several; set FRONTDESK_PORT_BASE instead"
[[ $REPLICAS =~ ^[1-9]$ ]] || die "REPLICAS must be 1 to 9 (got: $REPLICAS)"
for base in "$PORT_BASE" "$SANDBOX_PORT_BASE" "$SMTP_PORT_BASE"; do
  [[ $base =~ ^[0-9]+$ ]] && ((base >= 1024 && base <= 65000)) || die "port base $base is not in 1024-65000"
done

port_of() {  # service-offset replica
  printf '%s\n' $((PORT_BASE + $1 + 10 * ($2 - 1)))
}
offset_of() {  # service name
  local entry
  for entry in "${SERVICES[@]}"; do [[ ${entry%%:*} != "$1" ]] || { printf '%s\n' "${entry##*:}"; return; }; done
}
url_of() { printf 'http://127.0.0.1:%s\n' "$(port_of "$(offset_of "$1")" 1)"; }

# ...and the services pointed at them and at each other (unless the environment says otherwise)
export FRONTDESK_VERIFICATION_IDP_BASE_URL=${FRONTDESK_VERIFICATION_IDP_BASE_URL:-http://127.0.0.1:$IDP_PORT}
export FRONTDESK_VERIFICATION_PUBLIC_BASE_URL=${FRONTDESK_VERIFICATION_PUBLIC_BASE_URL:-$(url_of verification)}
export FRONTDESK_NOTIFICATIONS_SMS_PROVIDER_URL=${FRONTDESK_NOTIFICATIONS_SMS_PROVIDER_URL:-http://127.0.0.1:$SMS_PORT}
export FRONTDESK_NOTIFICATIONS_WECHAT_PROVIDER_URL=${FRONTDESK_NOTIFICATIONS_WECHAT_PROVIDER_URL:-http://127.0.0.1:$WECHAT_PORT}
export FRONTDESK_NOTIFICATIONS_QQ_PROVIDER_URL=${FRONTDESK_NOTIFICATIONS_QQ_PROVIDER_URL:-http://127.0.0.1:$QQ_PORT}
export FRONTDESK_NOTIFICATIONS_SMTP_HOST=${FRONTDESK_NOTIFICATIONS_SMTP_HOST:-127.0.0.1}
export FRONTDESK_NOTIFICATIONS_SMTP_PORT=${FRONTDESK_NOTIFICATIONS_SMTP_PORT:-$SMTP_PORT}
export FRONTDESK_NOTIFICATIONS_RECEIPT_URL=${FRONTDESK_NOTIFICATIONS_RECEIPT_URL:-$(url_of notifications)/notifications/receipts}
# Calls between services go to each service's first replica (no load balancer locally).
export FRONTDESK_PEERS=${FRONTDESK_PEERS:-checkin=$(url_of checkin),cases=$(url_of cases),verification=$(url_of verification),notifications=$(url_of notifications)}
mkdir -p "$RUN" "$LOGS"

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Does process $1 hold the listening socket of TCP port $2? (/proc/net/tcp's LISTEN entries,
# matched against the process's open sockets.)
owns_port() {
  local hex inodes inode link
  hex=$(printf '%04X' "$2")
  inodes=$(awk -v port=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == port { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  [[ -n $inodes ]] || return 1
  for link in /proc/"$1"/fd/*; do
    link=$(readlink "$link" 2>/dev/null) || continue
    for inode in $inodes; do [[ $link == "socket:[$inode]" ]] && return 0; done
  done
  return 1
}

# HTTP status of GET 127.0.0.1:$1$2, without starting a Python interpreter per poll.
http_status() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
    read -r _ status _ <&3
    printf "%s\n" "$status"' _ "$1" "$2" 2>/dev/null
}

# Wait until the process of pidfile $3 answers 200 on its own port $2 at path $4.
wait_ready() {  # name port pidfile path seconds
  local name=$1 port=$2 pidfile=$3 path=$4 deadline=$((SECONDS + $5))
  while :; do
    alive "$pidfile" || { echo "[services] $name died; see $LOGS/$name.log" >&2; tail -n 20 "$LOGS/$name.log" >&2; exit 1; }
    if [[ $(http_status "$port" "$path") == 200 ]]; then
      owns_port "$(cat "$pidfile")" "$port" ||
        die "$name: another process answers on port $port (pid $(cat "$pidfile") does not hold it)"
      return 0
    fi
    ((SECONDS < deadline)) || die "$name not ready after $5 s on port $port; see $LOGS/$name.log"
    sleep 0.5
  done
}

# Start one process unless its pid file says it runs; refuse a port someone else holds.
launch() {  # name port command...
  local name=$1 port=$2
  shift 2
  if alive "$RUN/$name.pid"; then echo "[services] $name already running"; return 0; fi
  ! port_open "$port" || die "$name: port $port is already used by another process"
  nohup "$@" >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

instance_name() {  # service replica
  if (($2 == 1)); then printf '%s\n' "$1"; else printf '%s-%s\n' "$1" "$2"; fi
}

start_sandboxes() {
  local entry name rest port module
  for entry in "${SANDBOXES[@]}"; do
    name=${entry%%:*}; rest=${entry#*:}; port=${rest%%:*}; module=${rest#*:}
    if alive "$RUN/$name.pid"; then continue; fi
    # shellcheck disable=SC2086 # the module and its arguments split on purpose
    launch "$name" "$port" "$VENV/bin/python" -m $module
    wait_ready "$name" "$port" "$RUN/$name.pid" /healthz 30
    echo "[services] $name (local sandbox) on 127.0.0.1:$port"
  done
}

start() {
  local entry name offset replica instance port
  start_sandboxes
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}; offset=${entry##*:}
    for ((replica = 1; replica <= REPLICAS; replica++)); do
      instance=$(instance_name "$name" "$replica"); port=$(port_of "$offset" "$replica")
      FRONTDESK_HTTP_PORT=$port OTEL_SERVICE_NAME=$name \
        launch "$instance" "$port" "$VENV/bin/python" -m "services.$name"
    done
  done
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}; offset=${entry##*:}
    for ((replica = 1; replica <= REPLICAS; replica++)); do
      instance=$(instance_name "$name" "$replica"); port=$(port_of "$offset" "$replica")
      wait_ready "$instance" "$port" "$RUN/$instance.pid" /readyz "$READY_TIMEOUT"
      echo "[services] $instance ready: http://127.0.0.1:$port/docs (API), http://127.0.0.1:$port/asyncapi (events)"
    done
  done
}

# Every instance with a pid file: the services' replicas (whatever REPLICAS is now), then the
# sandboxes.
instances() {
  local entry name file
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    printf '%s\n' "$name"
    for file in "$RUN/$name"-[0-9].pid; do [[ -f $file ]] && basename "$file" .pid; done
  done
  for entry in "${SANDBOXES[@]}"; do printf '%s\n' "${entry%%:*}"; done
}

stop() {
  local name
  for name in $(instances); do
    if alive "$RUN/$name.pid"; then
      kill "$(cat "$RUN/$name.pid")"
      for _ in $(seq 1 30); do alive "$RUN/$name.pid" || break; sleep 0.5; done
      echo "[services] $name stopped"
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  local rc=0 entry name offset replica instance
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}; offset=${entry##*:}
    for ((replica = 1; replica <= REPLICAS; replica++)); do
      instance=$(instance_name "$name" "$replica")
      if alive "$RUN/$instance.pid"; then
        echo "[services] $instance: running (pid $(cat "$RUN/$instance.pid"), port $(port_of "$offset" "$replica"))"
      else echo "[services] $instance: stopped"; rc=1; fi
    done
  done
  return $rc
}

# --- frontends (issue 14): the reference web pages and their /api proxy on the port base ---
FRONTENDS_PORT=${FRONTDESK_FRONTENDS_PORT:-$PORT_BASE}  # the base itself: services take base+1…
frontends() {  # start|stop|status
  local pid=$RUN/frontends.pid
  case $1 in
    start)
      if ! alive "$pid"; then
        FRONTDESK_FRONTENDS_PORT=$FRONTENDS_PORT nohup "$VENV/bin/python" -m frontends \
          >>"$LOGS/frontends.log" 2>&1 &
        echo $! >"$pid"
        wait_ready frontends "$FRONTENDS_PORT" "$pid" /healthz "$READY_TIMEOUT"
      fi
      echo "[services] frontends: http://127.0.0.1:$FRONTENDS_PORT/ (board, kiosk, console, wall)" ;;
    stop)
      if alive "$pid"; then
        kill "$(cat "$pid")"
        for _ in $(seq 1 30); do alive "$pid" || break; sleep 0.5; done
        echo "[services] frontends stopped"
      fi
      rm -f "$pid" ;;
    status)
      if alive "$pid"; then echo "[services] frontends: running (pid $(cat "$pid"), port $FRONTENDS_PORT)"
      else echo "[services] frontends: stopped"; fi ;;
  esac
}
# --- end frontends ---

case ${1:-} in
  start) start; frontends start ;;
  stop) frontends stop; stop ;;
  status) frontends status; status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
