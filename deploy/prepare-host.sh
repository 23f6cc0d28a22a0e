#!/bin/sh
# Prepares a Linux host for squadbox's oci backend (crun/runc driven directly).
# Idempotent; needs root. Safe to run on every boot or before every test run.
#
# Why: on hosts in cgroup "hybrid" mode (v1 controllers plus a cgroup2 mount at
# /sys/fs/cgroup/unified) some controller (e.g. hugetlb) may still sit on the cgroup2
# mount. crun refuses to run there ("cgroups in hybrid mode not supported, drop all
# controllers from cgroupv2"). Mounting every such controller as its own v1 hierarchy
# moves it off cgroup2, after which crun and runc both work.
set -eu

unified=/sys/fs/cgroup/unified/cgroup.controllers
if [ "$(id -u)" != 0 ]; then
  echo "prepare-host: must run as root" >&2
  exit 1
fi
if [ ! -f "$unified" ]; then
  echo "prepare-host: no hybrid cgroup2 mount ($unified absent); nothing to do"
  exit 0
fi

changed=0
for c in $(cat "$unified"); do
  dir=/sys/fs/cgroup/$c
  if mountpoint -q "$dir" 2>/dev/null; then
    echo "prepare-host: cgroup v1 controller '$c' already mounted at $dir"
    continue
  fi
  mkdir -p "$dir"
  mount -t cgroup -o "$c" cgroup "$dir"
  echo "prepare-host: mounted cgroup v1 controller '$c' at $dir"
  changed=1
done
left=$(cat "$unified")
if [ -n "$left" ]; then
  echo "prepare-host: controllers still on cgroup2: $left" >&2
  exit 1
fi
[ "$changed" = 1 ] || echo "prepare-host: cgroup controllers already prepared"
echo "prepare-host: ok"
