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
# Sessions each role may hold (CONNECTION LIMIT): every replica's pools and LISTEN
# connections at the Kubernetes maximum replica count plus one rolling-update surge.
# docs/deployment.md shows the arithmetic; tools/infra-check recomputes it from the
# manifests and fails when these fall short or add up past max_connections.
# <SCHEMA>_DB_CONNECTION_LIMIT overrides one.
CONNECTION_LIMITS="order_api=143 email=77 whatsapp=77 logistic=77 payment=77 fraud=77"
# A runaway query, or a session left idle inside a transaction, is ended by the server
# instead of holding locks and a connection (migrations lift the statement limit).
STATEMENT_TIMEOUT=${NOTIFY_STATEMENT_TIMEOUT:-30s}
IDLE_IN_TRANSACTION_TIMEOUT=${NOTIFY_IDLE_IN_TRANSACTION_TIMEOUT:-60s}

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
  limit=$(printenv "$(echo "$schema" | tr '[:lower:]' '[:upper:]')_DB_CONNECTION_LIMIT" || true)
  if [ -z "$limit" ]; then
    for entry in $CONNECTION_LIMITS; do
      if [ "${entry%%=*}" = "$schema" ]; then limit=${entry#*=}; fi
    done
  fi
  case "$limit" in
    '' | *[!0-9]*)
      echo "10-notify.sh: no connection limit for $schema" >&2
      exit 1
      ;;
  esac
  run_psql -v db="$DATABASE" -v role="$ROLE_PREFIX$schema" -v schema="$schema" -v password="$password" \
    -v connection_limit="$limit" -v statement_timeout="$STATEMENT_TIMEOUT" \
    -v idle_in_transaction_timeout="$IDLE_IN_TRANSACTION_TIMEOUT" \
    -f "$SQL_DIR/notify-service.sql"
done
