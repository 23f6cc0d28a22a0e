#pragma once
// `squadbox storage migrate`: moving a stopped node's SQLite database into an empty
// PostgreSQL schema (docs/storage-postgres.md, "Moving a node from SQLite to PostgreSQL").
// The CLI (actors/app/cli/storage_cmd.cpp) is a thin shell over these functions:
//
//   open_stopped_sqlite(file)        the source, locked against any other process
//   check_postgres_target_empty(to)  refuse a schema that holds data, before migrate(to)
//   migrate(from), migrate(to)       both at kSchemaVersion (storage/migrations.hpp)
//   copy_sqlite_to_postgres(from, to, progress)
//
// Every table of the SQLite schema is copied except SQLite's own (sqlite_*); the engines'
// schema-version bookkeeping is not a table on SQLite (PRAGMA user_version) and is left out
// on PostgreSQL (squadbox_schema). A table or column present on one side only is an error,
// not skipped. The copy is one PostgreSQL transaction: a failure leaves the target as it
// was. Error codes: storage.in_use, storage.not_found, storage.target_not_empty,
// storage.copy_schema_mismatch, storage.copy_type_mismatch, storage.copy_wrong_engine,
// and the engines' own (sqlite.*, postgres.*, storage.schema_too_new).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/security/audit/audit_chain.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// Error codes of this file (the engines' own codes pass through unchanged).
inline constexpr std::string_view kCopySourceInUse = "storage.in_use";
inline constexpr std::string_view kCopySourceMissing = "storage.not_found";
inline constexpr std::string_view kCopyTargetNotEmpty = "storage.target_not_empty";
inline constexpr std::string_view kCopySchemaMismatch = "storage.copy_schema_mismatch";
inline constexpr std::string_view kCopyTypeMismatch = "storage.copy_type_mismatch";
inline constexpr std::string_view kCopyWrongEngine = "storage.copy_wrong_engine";

// The node's SQLite file opened read-write for the copy, holding SQLite's exclusive lock
// until the Database is closed: a node running on the file (or any other connection to it,
// even an idle one) makes this fail with storage.in_use, and a node started meanwhile
// cannot open the file. A missing file is storage.not_found (nothing is created).
Result<Database> open_stopped_sqlite(const std::string& path);

// The first data table of the target schema that holds a row, as an error
// storage.target_not_empty naming the schema and the table; ok when every table is empty
// or the schema has none yet. Reads only, so it can run before migrate().
Status check_postgres_target_empty(Database& to);

struct TableCopy {
  std::string table;
  int64_t source_rows = 0;
  int64_t target_rows = 0;  // counted after the commit, in a new transaction
};

struct CopyReport {
  std::string target_schema;
  std::vector<TableCopy> tables;  // in copy order (referenced tables first)
  int64_t rows = 0;               // rows copied in all
  // The audit chain read back from each side after the commit.
  security::audit::VerifyResult source_chain;
  security::audit::VerifyResult target_chain;

  bool counts_match() const;
  // The target's chain verifies and ends where the source's does (same records, same head).
  bool chain_matches() const;
};

struct CopyProgress {
  std::string_view table;
  int64_t rows_done = 0;
  int64_t rows_total = 0;
};
using CopyProgressFn = std::function<void(const CopyProgress&)>;

// Copies every row of `from` (SQLite) into `to` (PostgreSQL). Both must be at
// kSchemaVersion (run migrate() on each first). In one transaction under the schema's
// migration lock: checks that the target is still empty, copies the tables in an order
// that satisfies the foreign keys (and the trigger that gives each namespace its id range),
// moves every identity sequence past the copied ids, commits. Then counts the rows on both
// sides and verifies the audit chain on both; the report says whether they match (the
// caller decides the exit code). `progress` is called after each batch of rows.
Result<CopyReport> copy_sqlite_to_postgres(Database& from, Database& to, const CopyProgressFn& progress = {});

}  // namespace sb::storage
