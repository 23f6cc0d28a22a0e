#!/usr/bin/env bash
# Installs every Debian 12 package that squadbox's build, tests and default runtime
# need, and only those that are missing (idempotent: a second run installs nothing).
#   install-deps.sh           what the build and a node need (the README's command)
#   install-deps.sh --tests   that, plus what only the test suite needs: the PostgreSQL
#                             server that deploy/postgres.sh starts for the `postgres` tests
#                             and docker-compose for the deploy test (tests/deploy)
#   install-deps.sh --build   only what compiling `squadbox` and `squadbox-agent` needs (the
#                             toolchain and the -dev libraries), without touching the host's
#                             cgroups: the build stage of deploy/Dockerfile
set -euo pipefail

tests=""
build_only=""
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    --build) build_only=1 ;;
    *) echo "install-deps: unknown argument $arg (usage: install-deps.sh [--tests|--build])" >&2; exit 2 ;;
  esac
done

build_packages=(
  g++ cmake ninja-build pkg-config lld
  libcaf-dev libboost-dev rapidjson-dev libsodium-dev libsqlite3-dev libssl-dev
  libcli11-dev libtomlplusplus-dev libfmt-dev libpq-dev libhowardhinnant-date-dev libdate-tz3 tzdata
)
packages=(
  # toolchain
  g++ cmake ninja-build pkg-config lld
  # libraries (see docs/architecture.md, "Dependencies")
  libcaf-dev libboost-dev rapidjson-dev libsodium-dev libsqlite3-dev libssl-dev
  libcli11-dev libtomlplusplus-dev libfmt-dev
  # the PostgreSQL engine's client library (storage/postgres; docs/storage-postgres.md)
  libpq-dev
  # schedules: Howard Hinnant's date/tz over the system tzdata (runtime/scheduling)
  libhowardhinnant-date-dev libdate-tz3 tzdata
  # tests and benchmarks (nodejs: an independent Ed25519/HMAC signer for the channel
  # cross-check tests, which skip without it)
  libgtest-dev libbenchmark-dev nodejs
  # the test build (clang, docs/development.md) and the fuzz configuration
  # (docs/fuzzing.md): clang and its libFuzzer runtime
  clang libfuzzer-14-dev
  # the webhook ingress benchmark (bench/channels): load generator and reference server
  wrk nginx-light
  # default container runtime (oci backend) and its image tooling
  crun runc busybox-static skopeo umoci
  # `squadbox image build --debian`: a Debian agent image from the configured mirror
  mmdebstrap
)
if [ -n "$tests" ]; then
  # The server for the `postgres` tests (deploy/postgres.sh starts a private one; the
  # package's own cluster service stays off, see below). A node only needs libpq.
  packages+=(postgresql)
  # deploy/compose.yaml's test (tests/deploy/deploy_docker_test.cpp): Debian 12's compose
  # (1.29, Python), run against the private Docker Engine of deploy/docker-engine.sh
  packages+=(docker-compose)
fi
if [ -n "$build_only" ]; then
  packages=("${build_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  # nginx's postinst starts the system service (port 80); the benchmark runs its own
  # nginx. A policy-rc.d answering 101 ("action forbidden") keeps every service from
  # starting during the install; it is removed again unless it was there before.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
    trap '$sudo rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -n "$own_policy" ]; then $sudo rm -f "$policy"; trap - EXIT; fi
  # On a systemd host the units were still enabled for the next boot: keep them off (the
  # tests start their own PostgreSQL on a free port; the package's cluster would take 5432).
  for unit in nginx postgresql; do
    if [ -d /run/systemd/system ] && systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      $sudo systemctl disable --now --quiet "$unit"
    fi
  done
fi

# An image build (no host to prepare: its cgroups belong to whoever runs the container)
if [ -n "$build_only" ]; then exit 0; fi

# The host side of the default runtime: crun needs the cgroup layout fixed on hosts
# whose cgroup2 mount carries a controller (PLATFORM-NOTES). Idempotent.
$sudo "$(dirname "$0")/prepare-host.sh"
