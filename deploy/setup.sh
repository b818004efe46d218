#!/usr/bin/env bash
# Prepare a machine: Python virtualenv with the project, then Kafka and PostgreSQL.
# Safe to run again: reuses the virtualenv (reinstalls only when pyproject.toml changed),
# the downloaded Kafka jars and the data folders.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${FRONTDESK_VENV:-$ROOT/.venv}

pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

if [[ ! -x $VENV/bin/python ]]; then
  PYTHON=$(pick_python) || {
    echo "[setup] Python 3.11+ is needed; installing it from Debian packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
    PYTHON=$(pick_python)
  }
  echo "[setup] creating virtualenv with $PYTHON"
  "$PYTHON" -m venv "$VENV" || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && "$PYTHON" -m venv "$VENV"
  }
fi

stamp="$VENV/.frontdesk-installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f $stamp ]]; then
  echo "[setup] installing the project and its dependencies"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[dev]"
  rm -f "$VENV"/.frontdesk-installed-* && touch "$stamp"
fi

# Tools some tests use, from Debian's packages: promtool checks the alert rules.
need_debian_package() {  # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "[setup] $1 is missing: apt-get install $2 (as root)" >&2; return 0
  fi
  echo "[setup] installing $2 from Debian's packages"
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"; } >/dev/null ||
    { echo "[setup] apt-get install $2 failed" >&2; return 1; }
}
need_debian_package promtool prometheus

# --- frontends (issue 14): the browser tests drive Debian's Chromium headless (no browser
# download); CJK fonts so the board's Chinese renders in its screenshots. ---
need_debian_package chromium chromium
if ! ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk \
    >/dev/null || echo "[setup] fonts-noto-cjk not installed (the board's screenshots lack CJK)" >&2
fi
# --- end frontends ---

bash deploy/infra.sh up
