#!/usr/bin/env bash
# A private Docker Engine (Debian 13's docker.io 26.x + containerd) for squadbox's tests
# and benchmarks on Debian 12, whose own docker.io (20.10, API 1.41) is too old.
# Nothing is installed system-wide: the .debs are fetched with a private apt state and
# unpacked into a folder (see docs/runtime-docker.md and PLATFORM-NOTES "Docker Engine").
#
#   docker-engine.sh fetch                       download + unpack (idempotent)
#   docker-engine.sh start DATA_ROOT SOCK [PIDFILE]
#                                                fetch, then start dockerd in the background
#   docker-engine.sh wait SOCK [SECONDS]         wait until the socket exists
#   docker-engine.sh stop PIDFILE [SECONDS]      SIGTERM dockerd, wait for it to exit
#   docker-engine.sh bin                         print the unpacked usr/bin folder
#   docker-engine.sh rootfs                      make (once) and print the path of a Debian 12
#                                                rootfs tarball for `docker import`: minbase plus
#                                                deploy/Dockerfile's runtime packages and
#                                                postgresql-15 (the deploy test's base images;
#                                                no registry is reachable here)
#
# SQUADBOX_DOCKER_CACHE overrides the cache folder (default /var/cache/squadbox-docker).
# Readiness is really "GET /_ping answers": the C++ test harness polls that itself;
# `wait` only checks that the socket appeared (no curl/python assumed on the machine).
set -euo pipefail

cache="${SQUADBOX_DOCKER_CACHE:-/var/cache/squadbox-docker}"
root="$cache/root"  # the unpacked packages
suite="trixie"

die() { echo "docker-engine: $*" >&2; exit 1; }

# The mirror already configured for Debian 12 (never a hard-coded host).
mirror_uri() {
  local f=/etc/apt/sources.list.d/debian.sources uri=""
  if [ -r "$f" ]; then
    # First "URIs:" of a stanza whose suites include bookworm (not -security).
    uri=$(awk '
      /^URIs:/ { u=$2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print u; exit } }
    ' "$f")
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
  echo "$uri"
}

fetch() {
  mkdir -p "$cache"
  # One fetch at a time (parallel test processes share the cache). The lock is released
  # when fetch returns: a dockerd that `start` launches afterwards must not inherit it, or
  # every other engine's fetch would wait for that daemon to exit.
  exec 9>"$cache/.lock"
  flock 9
  fetch_locked
  exec 9>&-
}

fetch_locked() {
  if [ -x "$root/usr/sbin/dockerd" ] || [ -x "$root/usr/bin/dockerd" ]; then
    return 0
  fi
  local uri state debs
  uri=$(mirror_uri)
  state="$cache/apt"
  debs="$cache/debs"
  mkdir -p "$state/lists/partial" "$state/archives/partial" "$debs"
  cat >"$state/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main
EOF
  local opts=(
    -o "Dir::Etc::SourceList=$state/sources.list"
    -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$state/lists"
    -o "Dir::Cache=$state"
    -o "Dir::State::Status=/var/lib/dpkg/status"
    -o "APT::Architecture=$(dpkg --print-architecture)"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
  )
  echo "docker-engine: fetching docker.io and containerd from $uri ($suite)" >&2
  apt-get "${opts[@]}" -q update >&2 || die "apt-get update against $uri $suite failed"
  (cd "$debs" && apt-get "${opts[@]}" -q download docker.io containerd >&2) ||
    die "apt-get download docker.io containerd failed"
  local tmp="$cache/root.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$tmp"; done
  rm -rf "$root"
  mv "$tmp" "$root"  # atomic: a half-unpacked tree is never mistaken for a good one
  echo "docker-engine: unpacked into $root" >&2
}

dockerd_path() {
  if [ -x "$root/usr/sbin/dockerd" ]; then echo "$root/usr/sbin/dockerd"; else echo "$root/usr/bin/dockerd"; fi
}

start() {
  local data="${1:?start DATA_ROOT SOCK [PIDFILE]}" sock="${2:?start DATA_ROOT SOCK [PIDFILE]}"
  local pidfile="${3:-$data/dockerd.pid}"
  fetch
  # docker.io's runtime dependency: Debian 12's runc (1.1.5) works with dockerd 26.
  command -v runc >/dev/null || PATH="/usr/sbin:/sbin:$PATH" command -v runc >/dev/null ||
    die "runc not found: apt-get install runc"
  mkdir -p "$data"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "docker-engine: already running (pid $(cat "$pidfile"))" >&2
    return 0
  fi
  # A private exec root keeps this daemon (and its containerd) apart from any other
  # dockerd on the machine. containerd's socket lives under it and unix socket paths are
  # limited to 108 bytes, so keep DATA_ROOT short (a /tmp/... folder is fine).
  local exec_root="$data/exec"
  mkdir -p "$exec_root"
  PATH="$root/usr/bin:$root/usr/sbin:$PATH" nohup "$(dockerd_path)" \
    --data-root "$data/root" --exec-root "$exec_root" --pidfile "$data/dockerd.ownpid" \
    --init-path "$root/usr/bin/docker-init" \
    -H "unix://$sock" --iptables=false --ip6tables=false --bridge=none \
    >"$data/dockerd.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "docker-engine: dockerd pid $! log $data/dockerd.log" >&2
}

wait_sock() {
  local sock="${1:?wait SOCK [SECONDS]}" secs="${2:-30}"
  timeout "$secs" bash -c "until [ -S '$sock' ]; do sleep 0.05; done" ||
    die "socket $sock did not appear within ${secs}s"
}

stop() {
  local pidfile="${1:?stop PIDFILE [SECONDS]}" secs="${2:-30}"
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    timeout "$secs" bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.05; done" || {
      echo "docker-engine: dockerd $pid did not exit in ${secs}s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    }
  fi
  rm -f "$pidfile"
}

# The packages of deploy/Dockerfile's RUNTIME_PACKAGES, so that its install step finds them
# all, plus the PostgreSQL server for the compose test's database image.
rootfs_packages="ca-certificates,tzdata,libcaf-core0.17,libcaf-io0.17,libcaf-openssl0.17,libsqlite3-0,libpq5,libdate-tz3,libssl3,libtomlplusplus3,libfmt9,libsodium23,crun,busybox-static,postgresql-15"

rootfs() {
  mkdir -p "$cache/rootfs"
  local key out
  key=$(printf '%s' "$rootfs_packages" | sha256sum | cut -c1-16)
  out="$cache/rootfs/bookworm-$key.tar"
  exec 8>"$cache/rootfs/.lock"
  flock 8
  if [ ! -s "$out" ]; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap not found: apt-get install mmdebstrap"
    echo "docker-engine: making the Debian 12 rootfs $out (once; ~4 min)" >&2
    rm -f "$out.tmp"
    mmdebstrap --variant=minbase --mode=root --quiet --format=tar \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --include="$rootfs_packages" \
      bookworm "$out.tmp" "$(mirror_uri)" >&2 || die "mmdebstrap failed"
    mv "$out.tmp" "$out"
  fi
  exec 8>&-
  echo "$out"
}

case "${1:-}" in
  fetch) fetch ;;
  start) shift; start "$@" ;;
  wait) shift; wait_sock "$@" ;;
  stop) shift; stop "$@" ;;
  bin) echo "$root/usr/bin" ;;
  rootfs) rootfs ;;
  *) die "usage: $0 fetch|start DATA_ROOT SOCK [PIDFILE]|wait SOCK [SECONDS]|stop PIDFILE [SECONDS]|bin|rootfs" ;;
esac
