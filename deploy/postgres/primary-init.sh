#!/bin/sh
# The primary's first start (docker-entrypoint-initdb.d; docker-compose.scale.yml): a role that may
# stream the WAL, allowed from the compose network, and a physical slot so that the primary keeps
# the WAL a replica has not received yet (a replica that stays down long fills the primary's disk:
# drop the slot with `SELECT pg_drop_replication_slot('replica1')` if it is retired).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot('replica1');
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
