#pragma once
// Shared helpers for the storage tests: a self-cleaning temp dir and one-value queries.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "storage/sqlite.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::storage::test {

// The shared self-cleaning temp dir (tests/support/temp_dir.hpp).
using TempDir = sb::test::TempDir;

// Opens `path` or fails the test (callers use ASSERT_TRUE on the returned value).
inline Result<Database> open_db(const std::string& path, OpenOptions opts = {}) {
  auto db = Database::open(path, opts);
  if (!db) ADD_FAILURE() << "open " << path << ": " << db.error().code << " " << db.error().message;
  return db;
}

// First column of the first row as integer; fails the test on error or no row.
inline int64_t query_int(Database& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    ADD_FAILURE() << sql << ": " << stmt.error().message;
    return -1;
  }
  auto row = stmt->step();
  if (!row || !*row) {
    ADD_FAILURE() << sql << ": no row";
    return -1;
  }
  return stmt->column_int64(0);
}

inline std::string query_text(Database& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    ADD_FAILURE() << sql << ": " << stmt.error().message;
    return {};
  }
  auto row = stmt->step();
  if (!row || !*row) {
    ADD_FAILURE() << sql << ": no row";
    return {};
  }
  return stmt->column_text(0);
}

}  // namespace sb::storage::test
