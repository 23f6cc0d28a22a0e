#!/bin/sh
# Entrypoint of the squadbox image (deploy/Dockerfile, docs/deploy.md).
#   (no arguments) / serve [OPTIONS]  prepare, then `exec squadbox serve ...`
#   anything else                     `exec squadbox ARGS` (e.g. `version`, `cluster ca init`)
#   sh / bash / an absolute path      run that instead (debugging)
# Before `serve` with the oci backend (the default) and as root:
#   - deploy/prepare-host.sh: on a cgroup-hybrid host crun needs every controller off the
#     cgroup2 mount; in a container with its own mounts this is done here (best effort:
#     without CAP_SYS_ADMIN it only warns);
#   - the default agent image (`squadbox image build`: busybox + squadbox-agent, ~2 MB) is
#     made in the data directory if it is not there yet.
# SQUADBOX_PREPARE_HOST=0 skips the first, SQUADBOX_IMAGE_BUILD=0 the second.
set -eu

case "${1:-serve}" in
  sh | bash | /*) exec "$@" ;;
esac
if [ $# -eq 0 ]; then set -- serve; fi
case "$1" in
  -*) set -- serve "$@" ;;
esac

if [ "$1" = serve ]; then
  backend="${SQUADBOX_CONTAINER_RUNTIME:-auto}"
  data="${SQUADBOX_DATA_DIR:-/var/lib/squadbox}"
  if [ "$(id -u)" = 0 ] && [ "$backend" != docker ] && [ "$backend" != apple ]; then
    if [ "${SQUADBOX_PREPARE_HOST:-1}" != 0 ]; then
      /usr/lib/squadbox/prepare-host.sh >/dev/null 2>&1 ||
        echo "squadbox-entrypoint: prepare-host.sh failed (no CAP_SYS_ADMIN?); crun may refuse a hybrid cgroup layout" >&2
    fi
    if [ "${SQUADBOX_IMAGE_BUILD:-1}" != 0 ] && [ ! -e "$data/images/squadbox-agent/latest/image.json" ]; then
      squadbox image build --data-dir "$data" >&2
    fi
  fi
fi
exec squadbox "$@"
