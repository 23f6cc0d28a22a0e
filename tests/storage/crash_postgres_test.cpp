// Crash safety on PostgreSQL (crash_harness.hpp): the writer process is SIGKILLed while
// its pipelined batches are in flight; the server must keep every acknowledged row, roll
// back the batch whose client died (none stored in part), and the schema must need no
// repair: migrate() finds it current.
#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/crash_harness.hpp"
#include "tests/support/pg_server.hpp"

namespace sb::storage {
namespace {

sb::test::PgServer* const g_crash_pg = sb::test::shared_pg_server();

TEST(StorageCrashPostgres, AcknowledgedWritesSurviveSigkillAndNoBatchIsStoredInPart) {
  SB_REQUIRE_PG(g_crash_pg);
  const std::string target = postgres_locator(g_crash_pg->conninfo(), sb::test::unique_name("crash"));
  crash::run_rounds(target, [](Database& db) {
    ASSERT_TRUE(migrate(db));
    EXPECT_EQ(schema_version(db), kSchemaVersion);
  });
}

}  // namespace
}  // namespace sb::storage
