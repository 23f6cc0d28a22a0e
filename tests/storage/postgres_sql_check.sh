#!/bin/sh
# Checks the PostgreSQL schema (storage/schema_postgres.cpp) and the stores' SQL on a real
# PostgreSQL 15 server, until the store suite itself runs on both engines: starts a
# throwaway server (deploy/postgres.sh: a temp dir, a free loopback port), applies
# the version table and every migration step into a schema of its own, runs
# postgres_sql_check.sql (the stores' statements with ?N written as $N, sample parameters
# and assertions), checks the node role's audit privileges, then stops the server and
# removes the directory. Needs root (the server runs as postgres) and the postgresql
# package. Usage: tests/storage/postgres_sql_check.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || { echo "postgresql 15 is not installed ($bin)" >&2; exit 2; }

dir=$(mktemp -d /tmp/sb-pgcheck.XXXXXX)
stop() { "$root/deploy/postgres.sh" remove "$dir" >/dev/null 2>&1 || true; }
trap stop EXIT INT TERM
"$root/deploy/postgres.sh" start "$dir" >/dev/null
port=$(cat "$dir/port")

# A raw string of schema_postgres.cpp, by the name of its constant.
ddl() {
  awk -v name="$1" '
    index($0, name " = R\"sql(") { on = 1; next }
    on && /^\)sql";/ { exit }
    on { print }' "$root/storage/schema_postgres.cpp"
}

psql_run() {
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

psql_run -c 'CREATE DATABASE sbcheck' postgres
# Not the public schema: the stores' names are unqualified and the triggers' functions
# must keep the schema they were created in.
{
  echo 'CREATE SCHEMA squadbox; SET search_path TO squadbox;'
  echo 'BEGIN;'
  echo 'SELECT pg_advisory_xact_lock(21346, hashtext(current_schema()));'
  ddl kPostgresVersionTable
  ddl kPostgresVersionTable  # idempotent
  ddl kPostgresV11
  ddl kPostgresV12
  echo 'UPDATE squadbox_schema SET version = 12;'
  echo 'COMMIT;'
} >"$dir/schema.sql"
psql_run -f "$dir/schema.sql" sbcheck
echo "schema applied: $(psql_run -At -c 'SELECT version FROM squadbox.squadbox_schema' sbcheck)"

PGOPTIONS='-c search_path=squadbox' psql_run -f "$here/postgres_sql_check.sql" sbcheck
echo "store statements: ok"

# The node role: everything on the tables, then the audit template.
{
  echo 'CREATE ROLE sb_node LOGIN;'
  echo 'GRANT USAGE ON SCHEMA squadbox TO sb_node;'
  echo 'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA squadbox TO sb_node;'
  echo 'SET search_path TO squadbox;'
  awk '/kPostgresNodeRoleTemplate =/ { on = 1; next } on && /^ *"/ { print } on && /;$/ { exit }' \
    "$root/storage/schema_postgres.cpp" | sed -e 's/^ *"//' -e 's/\\n";*$//' -e 's/{role}/"sb_node"/g'
} >"$dir/role.sql"
psql_run -f "$dir/role.sql" sbcheck
for stmt in "UPDATE audit_log SET detail = '{}'" "DELETE FROM audit_log" "TRUNCATE audit_log"; do
  if PGOPTIONS='-c search_path=squadbox' psql_run -U sb_node -c "$stmt" sbcheck 2>"$dir/err"; then
    echo "node role may run: $stmt" >&2
    exit 1
  fi
  grep -q 'permission denied' "$dir/err" || { cat "$dir/err" >&2; exit 1; }
done
PGOPTIONS='-c search_path=squadbox' psql_run -U sb_node -c \
  "INSERT INTO audit_log(seq, at, actor, event, prev_hash, hash) VALUES (1000, 1, 'node', 'check', '\\x00', '\\x01')" \
  sbcheck
PGOPTIONS='-c search_path=squadbox' psql_run -U sb_node -c \
  "INSERT INTO outbox(channel, chat_jid, text, next_attempt_at, created_at, updated_at) VALUES ('slack', 'slack:C', 't', 0, 0, 0)" \
  sbcheck
echo "node role: may read and append the audit log, nothing else on it; identity inserts need no sequence grant"
