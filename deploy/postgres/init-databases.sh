#!/usr/bin/env bash
# Creates one database per Frontdesk service, owned by the frontdesk role, the first time the
# postgres container starts with an empty data volume (docker-entrypoint-initdb.d). The role
# itself is POSTGRES_USER (frontdesk), created by the image's entrypoint.
# The list is the same as deploy/infra.sh's; keep the two in step (tests/unit/test_compose.py).
set -euo pipefail

FRONTDESK_DATABASES=${FRONTDESK_DATABASES:-checkin cases verification notifications keystore}

read -r -a databases <<<"$FRONTDESK_DATABASES"
for database in "${databases[@]}"; do
  if [[ ! $database =~ ^[a-z0-9_]+$ ]]; then
    echo "init-databases: invalid database name: $database" >&2
    exit 1
  fi
  psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
    --set database="$database" --set owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SQL
  echo "init-databases: database $database (owner $POSTGRES_USER)"
done
