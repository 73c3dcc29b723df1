#!/bin/sh
# One-shot set-up of Temporal's two PostgreSQL databases, run by the temporal-schema service
# (temporalio/admin-tools) before the Temporal server starts: creates them on the first start and
# applies the schema versions the server image expects on every start (already applied versions
# are skipped, so a restart or an upgrade of the images is safe).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
schemas=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  case "$db" in temporal) dir="$schemas/temporal/versioned" ;; *) dir="$schemas/visibility/versioned" ;; esac
  sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" --db "$db" "$@"; }
  # Each of the three leaves what exists alone (Temporal's auto-setup image ran them at every start).
  sql create
  sql setup-schema -v 0.0
  sql update-schema -d "$dir"
done
echo "Temporal's schemas are up to date"
