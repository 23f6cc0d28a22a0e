// GroupCommitter on SQLite: the cases of group_committer_cases.hpp (also run on PostgreSQL
// in group_committer_postgres_test.cpp), then what only SQLite has: the database's one
// write lock, held by another connection.
#include "tests/storage/group_committer_cases.hpp"

namespace sb::storage {
namespace {

INSTANTIATE_TEST_SUITE_P(Sqlite, GroupCommitterOnEngine, ::testing::Values(Engine::sqlite), sb::test::engine_name);

class GroupCommitterOnSqlite : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = open_db(path());
    ASSERT_TRUE(db);
    db_.emplace(std::move(db).value());
    ASSERT_TRUE(migrate(*db_));
  }
  std::string path() const { return dir_.file("squadbox.db"); }

  TempDir dir_;
  std::optional<Database> db_;
};

TEST_F(GroupCommitterOnSqlite, BusyDatabaseFailsEveryOpWithoutHanging) {
  auto holder = open_db(path());
  ASSERT_TRUE(holder);
  auto tx = Transaction::begin(*holder);  // takes the write lock
  ASSERT_TRUE(tx);

  auto db = open_db(path(), OpenOptions{.busy_timeout_ms = 20});
  ASSERT_TRUE(db);
  GroupCommitter gc(*db);
  const auto out = gc.commit_batch({inbound("1"), inbound("2")});
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) {
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error_code, "sqlite.busy");
  }
  EXPECT_EQ(gc.commit_single(inbound("3")).error_code, "sqlite.busy");
  EXPECT_EQ(gc.commits(), 0u);
  ASSERT_TRUE(tx->rollback());
  EXPECT_TRUE(gc.commit_batch({inbound("1")})[0].ok);
}

}  // namespace
}  // namespace sb::storage
