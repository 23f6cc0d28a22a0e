#pragma once
// Helpers shared by the engine's translation units (pg_connection.cpp, pg_batch.cpp).
// Internal to storage/postgres/: it includes <libpq-fe.h>, which the public headers keep
// away from their includers.
#include <cstdint>
#include <memory>
#include <string>

#include <libpq-fe.h>

#include "runtime/core/result.hpp"

namespace sb::storage::pg::internal {

struct ResultFree {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultFree>;

// libpq's message without its trailing newline ("" for null).
std::string trimmed(const char* s);

// The error of a failed command. A connection libpq has given up on is unreachable
// whatever the server said last (it may have sent 57P01 before closing, or nothing).
Error result_error(PGconn* conn, const PGresult* r);

// Rows written by the command of `r` (INSERT/UPDATE/DELETE/MERGE); 0 otherwise.
int64_t changes_of(const PGresult* r);

// A double as float8in reads it back exactly: the shortest round-trip text, or
// Infinity / -Infinity / NaN.
std::string double_text(double v);

}  // namespace sb::storage::pg::internal
