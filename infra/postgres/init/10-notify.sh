#!/bin/sh
# Creates the notify database and one role and schema per service. The postgres image
# runs this once, on an empty data directory, as the superuser; compose passes each
# service's password as <SCHEMA>_DB_PASSWORD (see infra/.env.example).
set -eu

SQL_DIR=${NOTIFY_SQL_DIR:-/opt/notify/sql}
DATABASE=${NOTIFY_DATABASE:-notify}
# Tests create the roles under unique names in a shared server; deployments leave it empty.
ROLE_PREFIX=${NOTIFY_ROLE_PREFIX:-}
SERVICE_SCHEMAS="order_api email whatsapp logistic payment fraud"

run_psql() {
  psql -v ON_ERROR_STOP=1 --quiet --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres "$@"
}

run_psql -v db="$DATABASE" -f "$SQL_DIR/notify-database.sql"

for schema in $SERVICE_SCHEMAS; do
  variable="$(echo "$schema" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password=$(printenv "$variable" || true)
  if [ -z "$password" ]; then
    echo "10-notify.sh: $variable is not set" >&2
    exit 1
  fi
  run_psql -v db="$DATABASE" -v role="$ROLE_PREFIX$schema" -v schema="$schema" -v password="$password" \
    -f "$SQL_DIR/notify-service.sql"
done
