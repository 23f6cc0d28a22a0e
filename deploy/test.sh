#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install what is missing, build with
# AddressSanitizer + UndefinedBehaviorSanitizer, run every CTest entry (unit, crun,
# docker, e2e, bench smoke runs, the layer check). The README's test command and
# .ci/run are this script. Extra arguments go to ctest (e.g. -L unit).
# At the end it prints how long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SQUADBOX_TEST_BUILD_DIR:-build-test}
t0=$(date +%s)
./deploy/install-deps.sh
t1=$(date +%s)
cmake -S . -B "$build" -G Ninja -DSQUADBOX_SANITIZE=ON
cmake --build "$build"
t2=$(date +%s)
status=0
ctest --test-dir "$build" --output-on-failure -j2 "$@" || status=$?
t3=$(date +%s)
echo "squadbox test: install $((t1 - t0)) s, configure+build $((t2 - t1)) s, tests $((t3 - t2)) s, total $((t3 - t0)) s"
exit "$status"
