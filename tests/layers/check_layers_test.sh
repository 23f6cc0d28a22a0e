#!/usr/bin/env bash
# The layer check must catch what it is for: a copy of the source tree passes, and the
# same copy with one upward include (runtime/ including actors/), one CAF include
# outside actors/, one SQL statement or libpq include outside storage/ or one HTTP route
# outside the admin API each fails it, naming the file.
set -euo pipefail
src=${1:?source root}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fresh() {
  rm -rf "$tmp/tree"; mkdir -p "$tmp/tree/.ci"
  cp -r "$src/runtime" "$src/storage" "$src/channels" "$src/actors" "$tmp/tree/"
  cp "$src/.ci/check-layers" "$tmp/tree/.ci/"
}
expect_fail() {  # name file line
  printf '%s\n' "$3" >>"$tmp/tree/$2"
  if "$tmp/tree/.ci/check-layers" "$tmp/tree" >"$tmp/out" 2>&1; then
    echo "FAIL: $1 passed the layer check"; cat "$tmp/out"; exit 1
  fi
  grep -q "^$2:" "$tmp/out" || { echo "FAIL: $1 not reported at $2"; cat "$tmp/out"; exit 1; }
  echo "ok: $1 -> $(grep "^$2:" "$tmp/out" | head -1)"
}
fresh
"$tmp/tree/.ci/check-layers" "$tmp/tree"
expect_fail "upward include" runtime/core/result.hpp '#include "actors/protocol.hpp"'
fresh
expect_fail "sideways include channels -> storage" channels/bot/split.cpp '#include "storage/sqlite.hpp"'
fresh
expect_fail "actors including the app" actors/node/node.cpp '#include "actors/app/serve.hpp"'
fresh
expect_fail "CAF outside actors" channels/bot/split.cpp '#include <caf/all.hpp>'
fresh
expect_fail "SQL outside storage" runtime/core/log.cpp 'const char* q = "SELECT 1 FROM x";'
fresh
expect_fail "libpq outside storage" actors/node/node.cpp '#include <libpq-fe.h>'
fresh
expect_fail "route outside the admin API" actors/node/node.cpp 'void f(sb::http::Router& r) { r.add("GET", "/x", {}); }'
