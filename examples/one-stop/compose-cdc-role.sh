#!/bin/sh
# Runs once, when the official postgres image initialises its data directory (mounted in
# /docker-entrypoint-initdb.d by docker-compose.yml's `cdc` profile, after schema.sql):
# the replication login Debezium uses, reading the captured tables and nothing else.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v cdc_password="$CDC_DB_PASSWORD" <<'SQL'
CREATE ROLE tthc_cdc LOGIN REPLICATION PASSWORD :'cdc_password';
GRANT USAGE ON SCHEMA public TO tthc_cdc;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO tthc_cdc;
SQL
# Replication connections match only `replication` lines of pg_hba.conf.
echo "host replication tthc_cdc all scram-sha-256" >> "$PGDATA/pg_hba.conf"
