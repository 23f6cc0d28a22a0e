#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for squadbox's tests and for development (the
# `postgres` CTest label, docs/storage-postgres.md): a fresh cluster in a folder of your
# choosing, on a free loopback port, run by the unprivileged `postgres` user (the server
# refuses to run as root), stopped and removed afterwards. Nothing system-wide is touched:
# no service, never port 5432, no /var/run/postgresql.
#
#   postgres.sh start DIR            initdb DIR/db if it is not there yet, start the server,
#                                    wait until it accepts connections, print the libpq
#                                    connection string and write it to DIR/conninfo
#   postgres.sh stop DIR [--crash]   stop it: -m fast (clean), or with --crash -m immediate,
#                                    a crash of the server (no shutdown checkpoint, crash
#                                    recovery at the next start) for "database lost" tests
#   postgres.sh restart DIR          stop (fast) if running, start again on the same port,
#                                    so the connection string stays valid
#   postgres.sh remove DIR           stop (immediate) and delete DIR
#   postgres.sh conninfo DIR         print the connection string
#
# The server listens on 127.0.0.1 only, on a free port in 20000-31999 (below Linux's
# ephemeral range; kept in DIR/port), with its unix socket in DIR. Authentication: trust on
# the socket and on loopback, except for members of the role `password_login`, who must
# give a password (scram-sha-256): the tests of password handling create a role in it.
# synchronous_commit=on and fsync=on: durability is tested against the real thing (initdb
# alone runs --no-sync: its template cluster is throwaway).
#
# Run as root, the server runs as $POSTGRES_USER (default postgres, created by Debian's
# postgresql package) and DIR is given to that user, so every parent folder of DIR must be
# searchable by it (a folder under /tmp is). Run as any other user, the server runs as that
# user. $PG_BIN overrides the binaries' folder (default /usr/lib/postgresql/15/bin;
# `deploy/install-deps.sh --tests` installs them).
set -euo pipefail

bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
server_user="${POSTGRES_USER:-postgres}"

die() { echo "postgres.sh: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the user the server runs as (runuser lives in /usr/sbin, which a
# minimal PATH may lack).
as_server() {
  if is_root; then
    "$(command -v runuser || echo /usr/sbin/runuser)" -u "$server_user" -- "$@"
  else
    "$@"
  fi
}

abs_dir() {
  local dir="${1:?DIR missing}"
  mkdir -p "$dir"
  (cd "$dir" && pwd)
}

# A listening TCP socket on 127.0.0.1/0.0.0.0/:: with this port (state 0A in /proc/net/tcp*).
port_in_use() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

free_port() {
  local port tries=0
  while [ "$tries" -lt 200 ]; do
    port=$((20000 + RANDOM % 12000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
    tries=$((tries + 1))
  done
  die "no free port found in 20000-31999"
}

running() { as_server "$bin/pg_ctl" -D "$1/db" status >/dev/null 2>&1; }

conninfo_of() {
  local dir=$1
  [ -f "$dir/port" ] || die "$dir has no server (no $dir/port): postgres.sh start $dir"
  echo "host=127.0.0.1 port=$(cat "$dir/port") user=postgres dbname=postgres"
}

init_cluster() {
  local dir=$1
  rm -rf "$dir/db"
  if ! as_server "$bin/initdb" -D "$dir/db" -U postgres -A trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed in $dir/db"
  fi
  # Members of password_login authenticate with a password; the rest is trusted (only
  # loopback and the private socket reach this server).
  cat >"$dir/db/pg_hba.conf" <<'EOF'
# deploy/postgres.sh: a throwaway server for tests.
local all +password_login scram-sha-256
host  all +password_login 127.0.0.1/32 scram-sha-256
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  cat >>"$dir/db/postgresql.conf" <<EOF

# deploy/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
synchronous_commit = on
fsync = on
shared_buffers = 32MB
max_connections = 60
EOF
  if is_root; then chown "$server_user:" "$dir/db/pg_hba.conf" "$dir/db/postgresql.conf"; fi
}

start() {
  local dir
  dir=$(abs_dir "${1:?usage: postgres.sh start DIR}")
  [ -x "$bin/postgres" ] || die "$bin/postgres not found: apt-get install postgresql (deploy/install-deps.sh --tests)"
  # The socket is DIR/.s.PGSQL.NNNNN and unix socket paths hold at most 107 bytes.
  [ "${#dir}" -le 90 ] || die "DIR is too long for a unix socket path (${#dir} > 90 bytes): $dir"
  case "$dir" in *"'"* | *'\'*) die "DIR must not contain quotes or backslashes: $dir" ;; esac
  if is_root; then
    id "$server_user" >/dev/null 2>&1 || die "user $server_user does not exist (Debian's postgresql package creates it)"
    chown "$server_user:" "$dir"
  fi
  chmod 700 "$dir"
  as_server test -w "$dir" || die "$server_user cannot write $dir (every parent folder must be searchable by it)"

  local fresh=""
  if [ ! -f "$dir/db/PG_VERSION" ]; then
    init_cluster "$dir"
    fresh=1
  fi
  if running "$dir"; then
    conninfo_of "$dir" | tee "$dir/conninfo"
    return 0
  fi

  local port fixed="" tries=0
  if [ -f "$dir/port" ]; then
    port=$(cat "$dir/port")
    fixed=1
  fi
  while :; do
    [ -n "$fixed" ] || port=$(free_port)
    if as_server "$bin/pg_ctl" -D "$dir/db" -l "$dir/log" -o "-p $port" -w -t 60 start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    # Someone took the port between the check and the bind: try another one (a restart
    # keeps its port, because clients hold the connection string).
    if [ -z "$fixed" ] && [ "$tries" -lt 10 ] && port_in_use "$port"; then continue; fi
    tail -n 20 "$dir/log" >&2 || true
    die "the server in $dir/db did not start on port $port (log: $dir/log)"
  done
  echo "$port" >"$dir/port"

  if [ -n "$fresh" ]; then
    local psql="$bin/psql"
    [ -x "$psql" ] || psql=psql
    "$psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c 'CREATE ROLE password_login NOLOGIN' >/dev/null ||
      die "cannot create the role password_login"
  fi
  conninfo_of "$dir" >"$dir/conninfo"
  cat "$dir/conninfo"
  echo "postgres.sh: PostgreSQL on 127.0.0.1:$port, socket in $dir, log $dir/log" >&2
}

stop() {
  local dir="${1:?usage: postgres.sh stop DIR [--crash]}" mode=fast
  case "${2:-}" in
    "") ;;
    --crash) mode=immediate ;;
    *) die "unknown option $2 (stop DIR [--crash])" ;;
  esac
  [ -f "$dir/db/PG_VERSION" ] || return 0
  running "$dir" || return 0
  as_server "$bin/pg_ctl" -D "$dir/db" -m "$mode" -w -t 60 stop >/dev/null ||
    die "pg_ctl stop -m $mode failed for $dir/db (log: $dir/log)"
}

restart() {
  local dir="${1:?usage: postgres.sh restart DIR}"
  stop "$dir"
  start "$dir"
}

remove() {
  local dir="${1:?usage: postgres.sh remove DIR}"
  [ -d "$dir" ] || return 0
  stop "$dir" --crash
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  restart) shift; restart "$@" ;;
  remove) shift; remove "$@" ;;
  conninfo) shift; conninfo_of "$(abs_dir "${1:?usage: postgres.sh conninfo DIR}")" ;;
  *) die "usage: $0 start DIR | stop DIR [--crash] | restart DIR | remove DIR | conninfo DIR" ;;
esac
