#pragma once
// Error codes that mean the same thing whichever storage engine produced them, so that a
// caller (the admin API's 409, the inbound dedupe, the group committer's callers) branches
// on one code and never needs to know which engine ran. Header only: shared by the SQLite
// wrapper's callers and storage/postgres/ alike.
#include <string_view>

namespace sb::storage {

// A unique, primary-key, foreign-key, NOT NULL or CHECK constraint rejected the write.
// The value is the code the SQLite wrapper has always reported (sqlite_error) and that
// existing callers compare against; the PostgreSQL engine reports SQLSTATE class 23
// under the same value. Renaming it (to "storage.constraint") is a change of this one
// constant plus sqlite.cpp's table, left to the step that makes storage::Database
// engine-neutral.
inline constexpr std::string_view kConstraintViolation = "sqlite.constraint";

// A fenced WriteOp (sql_value.hpp, Fence) whose lease is no longer (resource, holder,
// epoch) and live by the database clock: another node took it over, or it expired. The op
// wrote nothing; the rest of its batch is unaffected. The writer must stop acting for that
// resource until it acquires the lease again (cluster_store.hpp).
inline constexpr std::string_view kFenced = "cluster.fenced";

// The SQLSTATE sb_fence() raises on PostgreSQL for a stale fence (schema_postgres.cpp, class
// "SB" is no standard class), reported as kFenced.
inline constexpr std::string_view kFencedSqlstate = "SBF01";

// The database cannot take the request now but may in a moment: SQLite's write lock held
// past the busy timeout, a PostgreSQL server that is down or unreachable, or a transaction
// PostgreSQL aborted to be retried (serialization failure, deadlock). An API answers 503;
// nothing was written.
constexpr bool is_unavailable(std::string_view code) {
  return code == "sqlite.busy" || code == "postgres.unreachable" || code == "postgres.retry";
}

}  // namespace sb::storage
