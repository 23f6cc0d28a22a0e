#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install what is missing, build with
# AddressSanitizer + UndefinedBehaviorSanitizer, run every CTest entry (unit, crun,
# docker, e2e, bench smoke runs, the layer check). The README's test command and
# .ci/run are this script. Extra arguments go to ctest (e.g. -L unit).
# Then the fuzz configuration (build-fuzz, clang, libFuzzer; docs/fuzzing.md): its build
# and a few seconds of each fuzz target plus a replay of every checked-in seed and
# regression input (`ctest -L fuzz`). SQUADBOX_TEST_FUZZ=0 leaves it out.
# At the end it prints how long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SQUADBOX_TEST_BUILD_DIR:-build-test}
fuzz_build=${SQUADBOX_FUZZ_BUILD_DIR:-build-fuzz}
t0=$(date +%s)
./deploy/install-deps.sh
t1=$(date +%s)
cmake -S . -B "$build" -G Ninja -DSQUADBOX_SANITIZE=ON
cmake --build "$build"
t2=$(date +%s)
status=0
ctest --test-dir "$build" --output-on-failure -j2 "$@" || status=$?
t3=$(date +%s)
fuzz_line=""
if [ "${SQUADBOX_TEST_FUZZ:-1}" != 0 ]; then
  # -O0: a few seconds per target need no optimiser, and the build takes ~60% of the time.
  CXX=clang++ cmake -S . -B "$fuzz_build" -G Ninja -DSQUADBOX_FUZZ=ON -DSQUADBOX_FUZZ_OPT=-O0
  cmake --build "$fuzz_build" -j2
  t4=$(date +%s)
  ctest --test-dir "$fuzz_build" --output-on-failure -j2 -L fuzz || status=$?
  t5=$(date +%s)
  fuzz_line=", fuzz build $((t4 - t3)) s, fuzz run $((t5 - t4)) s"
else
  t5=$t3
fi
echo "squadbox test: install $((t1 - t0)) s, configure+build $((t2 - t1)) s, tests $((t3 - t2)) s${fuzz_line}, total $((t5 - t0)) s"
exit "$status"
