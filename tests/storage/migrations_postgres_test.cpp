// migrate() and schema_version() on PostgreSQL: an empty schema gets PostgreSQL's history
// up to kSchemaVersion under the advisory lock, nodes starting together migrate it once,
// and a schema from a newer build is refused untouched.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "storage/schema_postgres.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/store_engines.hpp"

namespace sb::storage {
namespace {

sb::test::PgServer* const g_migrate_pg = sb::test::use_pg_for_stores();

class PostgresMigrations : public ::testing::Test {
 protected:
  void SetUp() override {
    SB_REQUIRE_PG(g_migrate_pg);
    locator_ = postgres_locator(g_migrate_pg->conninfo(), sb::test::unique_name("mig"));
  }
  Database open() {
    auto db = Database::open(locator_);
    EXPECT_TRUE(db) << db.error().code << ": " << db.error().message;
    return std::move(db).value();
  }

  std::string locator_;
};

TEST_F(PostgresMigrations, AnEmptySchemaIsBroughtToTheCurrentVersion) {
  Database db = open();
  EXPECT_EQ(db.engine(), Engine::postgres);
  EXPECT_EQ(schema_version(db), 0);
  ASSERT_TRUE(migrate(db));
  EXPECT_EQ(schema_version(db), kSchemaVersion);
  EXPECT_EQ(test::query_int(db, "SELECT version FROM squadbox_schema"), kSchemaVersion);
  EXPECT_EQ(test::query_int(db, "SELECT count(*) FROM inbound_messages"), 0);
  // Again: nothing to do, nothing fails.
  ASSERT_TRUE(migrate(db));
  EXPECT_EQ(test::query_int(db, "SELECT count(*) FROM squadbox_schema"), 1);
}

TEST_F(PostgresMigrations, NodesStartingTogetherMigrateTheSchemaOnce) {
  constexpr int kNodes = 4;
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.emplace_back([&, i] {
      auto db = Database::open(locator_);
      if (!db) {
        errors[i] = db.error().message;
        return;
      }
      if (auto st = migrate(*db); !st) errors[i] = st.error().code + ": " + st.error().message;
    });
  }
  for (auto& t : nodes) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  Database db = open();
  EXPECT_EQ(schema_version(db), kSchemaVersion);
}

TEST_F(PostgresMigrations, ASchemaFromANewerBuildIsRefusedNamingBothVersions) {
  Database db = open();
  ASSERT_TRUE(migrate(db));
  ASSERT_TRUE(db.exec("UPDATE squadbox_schema SET version = " + std::to_string(kSchemaVersion + 5)));
  auto st = migrate(db);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "storage.schema_too_new");
  EXPECT_NE(st.error().message.find(std::to_string(kSchemaVersion + 5)), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find(std::to_string(kSchemaVersion)), std::string::npos) << st.error().message;
  EXPECT_EQ(schema_version(db), kSchemaVersion + 5) << "left untouched";
}

TEST_F(PostgresMigrations, AReadOnlyConnectionReadsButDoesNotWrite) {
  {
    Database db = open();
    ASSERT_TRUE(migrate(db));
  }
  OpenOptions ro;
  ro.read_only = true;
  auto reader = Database::open(locator_, ro);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(schema_version(*reader), kSchemaVersion);
  EXPECT_FALSE(reader->exec("DELETE FROM inbound_messages")) << "no writes intended";
}

TEST_F(PostgresMigrations, AnUnreachableServerIsAnErrorWithTheEnginesCode) {
  // Port 1 on loopback: nothing listens there.
  auto db = Database::open(postgres_locator("host=127.0.0.1 port=1 dbname=postgres connect_timeout=2"));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, "postgres.unreachable");
}

}  // namespace
}  // namespace sb::storage
