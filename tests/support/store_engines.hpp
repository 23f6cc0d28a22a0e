#pragma once
// The store suites on both engines: one set of value-parameterised tests (TEST_P over
// storage::Engine) in tests/storage/<store>_cases.hpp, instantiated on SQLite in
// <store>_test.cpp (label unit) and on PostgreSQL in <store>_postgres_test.cpp (label
// postgres: the binary starts a throwaway server, tests/support/pg_server.hpp).
//
//   class InboundStore : public sb::test::StoreOnEngine { ... };   // or, for its own set-up:
//   class Other : public ::testing::TestWithParam<storage::Engine> {
//     void SetUp() override { SB_STORE_TARGET(db_path_, dir_); ... }
//   };
//   TEST_P(InboundStore, ...) { ... }
//
//   // inbound_store_test.cpp
//   INSTANTIATE_TEST_SUITE_P(Sqlite, InboundStore, ::testing::Values(Engine::sqlite), sb::test::engine_name);
//   // inbound_store_postgres_test.cpp
//   SB_STORE_SUITE_ON_POSTGRES(InboundStore);
//
// Each test gets a fresh database: a file in its own temp dir, or a schema of its own on
// the binary's one server.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::test {

// The PostgreSQL server of this binary; set by SB_STORE_SUITE_ON_POSTGRES only, so a unit
// binary never starts one.
inline PgServer* g_store_pg = nullptr;

inline PgServer* use_pg_for_stores() {
  g_store_pg = shared_pg_server();
  return g_store_pg;
}

inline std::string engine_name(const ::testing::TestParamInfo<storage::Engine>& info) {
  return info.param == storage::Engine::postgres ? "postgres" : "sqlite";
}

// The code an engine reports for SQL it cannot run (a missing table, bad syntax).
inline std::string sql_error_code(storage::Engine e) {
  return e == storage::Engine::postgres ? "postgres.error" : "sqlite.error";
}

}  // namespace sb::test

// Sets `path_var` to a fresh database on the test's engine (GetParam()): a file in `dir`
// (a TempDir), or a postgres: locator naming a new schema. Skips the test when the server
// binaries are missing; use it in SetUp (a skip or failure there ends the test).
#define SB_STORE_TARGET(path_var, dir)                                                                               \
  do {                                                                                                               \
    if (GetParam() == ::sb::storage::Engine::postgres) {                                                             \
      ASSERT_NE(::sb::test::g_store_pg, nullptr) << "instantiate with SB_STORE_SUITE_ON_POSTGRES";                   \
      SB_REQUIRE_PG(::sb::test::g_store_pg);                                                                         \
      path_var = ::sb::storage::postgres_locator(::sb::test::g_store_pg->conninfo(), ::sb::test::unique_name("st")); \
    } else {                                                                                                         \
      path_var = (dir).file("squadbox.db");                                                                          \
    }                                                                                                                \
  } while (0)

#define SB_STORE_SUITE_ON_POSTGRES(suite)                                                                  \
  [[maybe_unused]] static ::sb::test::PgServer* const sb_pg_for_##suite = ::sb::test::use_pg_for_stores(); \
  INSTANTIATE_TEST_SUITE_P(Postgres, suite, ::testing::Values(::sb::storage::Engine::postgres), ::sb::test::engine_name)

namespace sb::test {

// The usual store fixture: a migrated database on the test's engine, the GroupCommitter the
// storage writer uses on it, and a read-only connection of its own, as the actors read.
class StoreOnEngine : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    SB_STORE_TARGET(path_, dir_);
    auto db = storage::Database::open(path_);
    ASSERT_TRUE(db) << db.error().code << ": " << db.error().message;
    db_.emplace(std::move(db).value());
    auto migrated = storage::migrate(*db_);
    ASSERT_TRUE(migrated) << migrated.error().message;
    gc_.emplace(*db_);
    storage::OpenOptions ro;
    ro.read_only = true;
    auto reader = storage::Database::open(path_, ro);
    ASSERT_TRUE(reader) << reader.error().code << ": " << reader.error().message;
    reader_.emplace(std::move(reader).value());
  }

  TempDir dir_;
  std::string path_;
  std::optional<storage::Database> db_;
  std::optional<storage::GroupCommitter> gc_;
  std::optional<storage::Database> reader_;
};

}  // namespace sb::test
