#!/usr/bin/env bash
# Start, stop or report the four services as background processes (logs in .local/logs).
#   deploy/services.sh start|stop|status
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${FRONTDESK_VENV:-$ROOT/.venv}
RUN=${FRONTDESK_HOME:-$ROOT/.local}/run
LOGS=${FRONTDESK_HOME:-$ROOT/.local}/logs
SERVICES=(checkin:8001 cases:8002 verification:8003 notifications:8004)
# Local sandboxes of the external parties (same protocols as the real providers), started first.
SANDBOXES=(
  "sandbox-idp:8093:services.verification.sandbox_idp --port 8093"
  "sandbox-sms:9101:services.notifications.sandbox_provider --channel sms --port 9101"
  "sandbox-wechat:9102:services.notifications.sandbox_provider --channel wechat --port 9102"
  "sandbox-qq:9103:services.notifications.sandbox_provider --channel qq --port 9103"
  "sandbox-smtp:9125:services.notifications.sandbox_smtp --port 2525 --http-port 9125"
)
# ...and the services pointed at them (unless the environment says otherwise)
export FRONTDESK_VERIFICATION_IDP_BASE_URL=${FRONTDESK_VERIFICATION_IDP_BASE_URL:-http://127.0.0.1:8093}
export FRONTDESK_NOTIFICATIONS_SMS_PROVIDER_URL=${FRONTDESK_NOTIFICATIONS_SMS_PROVIDER_URL:-http://127.0.0.1:9101}
export FRONTDESK_NOTIFICATIONS_WECHAT_PROVIDER_URL=${FRONTDESK_NOTIFICATIONS_WECHAT_PROVIDER_URL:-http://127.0.0.1:9102}
export FRONTDESK_NOTIFICATIONS_QQ_PROVIDER_URL=${FRONTDESK_NOTIFICATIONS_QQ_PROVIDER_URL:-http://127.0.0.1:9103}
export FRONTDESK_NOTIFICATIONS_SMTP_HOST=${FRONTDESK_NOTIFICATIONS_SMTP_HOST:-127.0.0.1}
export FRONTDESK_NOTIFICATIONS_SMTP_PORT=${FRONTDESK_NOTIFICATIONS_SMTP_PORT:-2525}
export FRONTDESK_NOTIFICATIONS_RECEIPT_URL=${FRONTDESK_NOTIFICATIONS_RECEIPT_URL:-http://127.0.0.1:8004/notifications/receipts}
mkdir -p "$RUN" "$LOGS"

wait_http() {  # name port pidfile
  for _ in $(seq 1 60); do
    if "$VENV/bin/python" - "$2" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2)
PY
    alive "$3" || { echo "[services] $1 died; see $LOGS/$1.log" >&2; tail -n 20 "$LOGS/$1.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "[services] $1 not healthy after 30 s; see $LOGS/$1.log" >&2; exit 1
}

start_sandboxes() {
  for entry in "${SANDBOXES[@]}"; do
    name=${entry%%:*}; rest=${entry#*:}; port=${rest%%:*}; module=${rest#*:}
    if alive "$RUN/$name.pid"; then continue; fi
    # shellcheck disable=SC2086 # the module and its arguments split on purpose
    nohup "$VENV/bin/python" -m $module >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    wait_http "$name" "$port" "$RUN/$name.pid"
    echo "[services] $name (local sandbox) on 127.0.0.1:$port"
  done
}

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  start_sandboxes
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}; port=${entry##*:}
    if alive "$RUN/$name.pid"; then echo "[services] $name already running"; continue; fi
    FRONTDESK_HTTP_PORT=$port OTEL_SERVICE_NAME=$name \
      nohup "$VENV/bin/python" -m "services.$name" >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
  done
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}; port=${entry##*:}
    ready=no
    for _ in $(seq 1 60); do
      if "$VENV/bin/python" - "$port" <<'PY' 2>/dev/null; then ready=yes; break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=2)
PY
      alive "$RUN/$name.pid" || { echo "[services] $name died; see $LOGS/$name.log" >&2; tail -n 20 "$LOGS/$name.log" >&2; exit 1; }
      sleep 1
    done
    if [[ $ready != yes ]]; then
      echo "[services] $name not ready after 60 s; see $LOGS/$name.log" >&2; exit 1
    fi
    echo "[services] $name ready: http://127.0.0.1:$port/docs (API), http://127.0.0.1:$port/asyncapi (events)"
  done
}

stop() {
  for entry in "${SERVICES[@]}" "${SANDBOXES[@]}"; do
    name=${entry%%:*}
    if alive "$RUN/$name.pid"; then
      kill "$(cat "$RUN/$name.pid")"
      for _ in $(seq 1 30); do alive "$RUN/$name.pid" || break; sleep 0.5; done
      echo "[services] $name stopped"
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  rc=0
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}; port=${entry##*:}
    if alive "$RUN/$name.pid"; then echo "[services] $name: running (pid $(cat "$RUN/$name.pid"), port $port)"
    else echo "[services] $name: stopped"; rc=1; fi
  done
  return $rc
}

# --- frontends (issue 14): the reference web pages and their /api proxy on :8000 ---
FRONTENDS_PORT=${FRONTDESK_FRONTENDS_PORT:-8000}
frontends() {  # start|stop|status
  local pid=$RUN/frontends.pid
  case $1 in
    start)
      if ! alive "$pid"; then
        FRONTDESK_FRONTENDS_PORT=$FRONTENDS_PORT nohup "$VENV/bin/python" -m frontends \
          >>"$LOGS/frontends.log" 2>&1 &
        echo $! >"$pid"
        wait_http frontends "$FRONTENDS_PORT" "$pid"
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
