#!/bin/sh
# A hot-standby streaming replica of the `postgres` service (docker-compose.scale.yml). On its first
# start, with an empty data directory, it copies the primary with pg_basebackup (-R writes
# standby.signal and primary_conninfo, -S uses the slot primary-init.sh made); afterwards it only
# follows the primary's WAL. Read-only: the portal sends it the public reads of portal/db_router.py.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h postgres -p 5432 -U replicator -q; do sleep 1; done
    mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 0700 "$PGDATA"
    PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD" gosu postgres \
        pg_basebackup -h postgres -p 5432 -U replicator -D "$PGDATA" -X stream -S replica1 -R
fi
exec docker-entrypoint.sh postgres -c hot_standby=on -c max_standby_streaming_delay=30s
