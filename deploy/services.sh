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
mkdir -p "$RUN" "$LOGS"

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
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
  for entry in "${SERVICES[@]}"; do
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

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
