#!/usr/bin/env bash
# Run the whole test suite against real Kafka and PostgreSQL (set up and started first).
# Extra arguments go to pytest, e.g. deploy/test.sh -m unit
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash deploy/setup.sh
VENV=${FRONTDESK_VENV:-$ROOT/.venv}
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy" contracts runtime services sandboxes frontends tests bench deploy
status=0
"$VENV/bin/pytest" "$@" || status=$?
if [[ $status -eq 5 ]]; then echo "no tests were collected" >&2; exit 1; fi
exit $status
