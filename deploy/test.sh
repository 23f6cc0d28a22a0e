#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install what is missing (with the
# PostgreSQL server the `postgres` tests start privately), build with clang,
# AddressSanitizer + UndefinedBehaviorSanitizer, run every CTest entry (unit, crun, docker,
# postgres, e2e, bench smoke runs, the layer check). The README's test command and
# .ci/run are this script. Extra arguments go to ctest (e.g. -L unit).
# The fuzz configuration (build-fuzz, clang, libFuzzer; docs/fuzzing.md) is built beside
# the tests at the lowest CPU priority, then a few seconds of each fuzz target run plus a
# replay of every checked-in seed and regression input (`ctest -L fuzz`).
# SQUADBOX_TEST_FUZZ=0 leaves it out.
# At the end it prints how long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SQUADBOX_TEST_BUILD_DIR:-build-test}
fuzz_build=${SQUADBOX_FUZZ_BUILD_DIR:-build-fuzz}
t0=$(date +%s)
./deploy/install-deps.sh --tests
t1=$(date +%s)
# Clang: it compiles this code base 1.5x as fast as GCC 12 under the sanitizers (CAF test
# batches up to 4x), and the run's tests take less time too (docs/development.md).
# A build directory configured with another compiler is reconfigured from scratch.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
# The private Docker Engine's packages (deploy/docker-engine.sh) download from the mirror
# while the build compiles, instead of first thing in the docker tests. A failed fetch here
# only means those tests fetch (and report) it themselves.
docker_fetch_log=$(mktemp)
# The deploy test's Debian 12 rootfs (deploy/docker-engine.sh rootfs: ~4 min from the mirror
# once, then cached) is made in the same background job.
{ ./deploy/docker-engine.sh fetch && ./deploy/docker-engine.sh rootfs; } >"$docker_fetch_log" 2>&1 &
docker_fetch_pid=$!
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DSQUADBOX_SANITIZE=ON
cmake --build "$build"
wait "$docker_fetch_pid" || echo "squadbox test: prefetching the Docker Engine failed: $(tail -n 3 "$docker_fetch_log")"
rm -f "$docker_fetch_log"
t2=$(date +%s)
status=0
fuzz=0
if [ "${SQUADBOX_TEST_FUZZ:-1}" != 0 ]; then fuzz=1; fi
fuzz_pid=""
if [ "$fuzz" = 1 ]; then
  # The fuzz build runs beside the tests at the lowest CPU priority: the tests wait on
  # containers, sockets and downloads much of the time, and that idle CPU builds it
  # (nice 19 weighs 15 against the tests' 1024, so they keep the CPU when they want it).
  # -O0: a few seconds per target need no optimiser, and the build takes ~60% of the time.
  CXX=clang++ cmake -S . -B "$fuzz_build" -G Ninja -DSQUADBOX_FUZZ=ON -DSQUADBOX_FUZZ_OPT=-O0 >/dev/null
  nice -n 19 cmake --build "$fuzz_build" -j2 >"$fuzz_build/build.log" 2>&1 &
  fuzz_pid=$!
fi
ctest --test-dir "$build" --output-on-failure -j2 "$@" || status=$?
t3=$(date +%s)
fuzz_line=""
if [ "$fuzz" = 1 ]; then
  fuzz_status=0
  wait "$fuzz_pid" || fuzz_status=$?
  t4=$(date +%s)
  if [ "$fuzz_status" != 0 ]; then
    cat "$fuzz_build/build.log"
    status=$fuzz_status
  else
    ctest --test-dir "$fuzz_build" --output-on-failure -j2 -L fuzz || status=$?
  fi
  t5=$(date +%s)
  fuzz_line=", fuzz build (beside the tests) +$((t4 - t3)) s after them, fuzz run $((t5 - t4)) s"
else
  t5=$t3
fi
echo "squadbox test: install $((t1 - t0)) s, configure+build $((t2 - t1)) s, tests $((t3 - t2)) s${fuzz_line}, total $((t5 - t0)) s"
exit "$status"
