#!/usr/bin/env bash
# Installs every Debian 12 package that squadbox's build, tests and default runtime
# need, and only those that are missing (idempotent: a second run installs nothing).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config
  # libraries (see docs/architecture.md, "Dependencies")
  libcaf-dev libboost-dev rapidjson-dev libsodium-dev libsqlite3-dev libssl-dev
  libcli11-dev libtomlplusplus-dev libfmt-dev
  # tests and benchmarks
  libgtest-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
