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
  # tests and benchmarks (nodejs: an independent Ed25519/HMAC signer for the channel
  # cross-check tests, which skip without it)
  libgtest-dev libbenchmark-dev nodejs
  # default container runtime (oci backend) and its image tooling
  crun runc busybox-static skopeo umoci
)

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
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The host side of the default runtime: crun needs the cgroup layout fixed on hosts
# whose cgroup2 mount carries a controller (PLATFORM-NOTES). Idempotent.
$sudo "$(dirname "$0")/prepare-host.sh"
