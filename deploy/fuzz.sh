#!/usr/bin/env bash
# Runs one libFuzzer target for a long time (docs/fuzzing.md):
#   deploy/fuzz.sh TARGET [HOURS] [-- extra libFuzzer flags]
#   deploy/fuzz.sh list
# Builds build-fuzz-long (clang, -DSQUADBOX_FUZZ=ON at -O1; CI's build-fuzz is -O0) if
# needed, then fuzzes from the working corpus build-fuzz-long/fuzz/corpus/TARGET (the
# checked-in seeds copied at configure time,
# grown by every run) plus the checked-in seeds and regression inputs, which it only
# reads. HOURS defaults to 1 (fractions are fine: 0.1). FUZZ_JOBS=N runs N workers in
# parallel (libFuzzer -fork=N). Crashes, leaks and timeouts land in
# build-fuzz-long/fuzz/artifacts/TARGET/ (crash-<sha1>, leak-<sha1>, timeout-<sha1>).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SQUADBOX_FUZZ_LONG_BUILD_DIR:-build-fuzz-long}
targets=$(sed -n 's/^squadbox_fuzz(\([a-z_]*\) .*/\1/p' fuzz/CMakeLists.txt)
if [ $# -lt 1 ] || [ "$1" = list ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  echo "usage: deploy/fuzz.sh TARGET [HOURS] [-- libFuzzer flags]"
  echo "targets:" $targets
  exit $([ $# -lt 1 ] && echo 2 || echo 0)
fi
target=$1
shift
hours=1
if [ $# -gt 0 ] && [ "$1" != -- ]; then hours=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = -- ] && shift
echo "$targets" | grep -qx "$target" || { echo "fuzz.sh: unknown target '$target' (targets: $(echo $targets))" >&2; exit 2; }
seconds=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')

if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ cmake -S . -B "$build" -G Ninja -DSQUADBOX_FUZZ=ON -DSQUADBOX_FUZZ_OPT=-O1
fi
cmake --build "$build" -j2 --target "$target"

work="$build/fuzz/corpus/$target"
artifacts="$build/fuzz/artifacts/$target"
mkdir -p "$work" "$artifacts"
inputs=("fuzz/corpus/$target")
[ -d "fuzz/regressions/$target" ] && inputs+=("fuzz/regressions/$target")
flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1
       -artifact_prefix="$artifacts/")
[ -n "${FUZZ_JOBS:-}" ] && flags+=(-fork="$FUZZ_JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
echo "fuzz.sh: $target for $hours h; corpus $work; artifacts $artifacts"
exec "$build/bin/$target" "${flags[@]}" "$@" "$work" "${inputs[@]}"
