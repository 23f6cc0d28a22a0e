// routing_rows on SQLite: the cases of routing_rows_cases.hpp (also run on PostgreSQL in
// routing_rows_postgres_test.cpp), a database file that is not there, and the conversions
// of stored values, which need no database.
#include "tests/storage/routing_rows_cases.hpp"

namespace {

INSTANTIATE_TEST_SUITE_P(Sqlite, RoutingRowsTest, ::testing::Values(Engine::sqlite), sb::test::engine_name);

TEST(RoutingRowsOnSqlite, AMissingDatabaseIsAnError) {
  sb::test::TempDir dir;
  auto rows = load_routing_rows(dir.file("absent.db"));
  EXPECT_FALSE(rows);
}

TEST(RoutingRowConversions, AllowlistModes) {
  auto everyone = allowlist_row("slack", "main", "everyone", "[\"ignored\"]");
  ASSERT_TRUE(everyone);
  EXPECT_TRUE(everyone->everyone);
  auto list = allowlist_row("slack", "main", "list", "[\"U1\",\"U2\"]");
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->everyone);
  EXPECT_EQ(list->senders, (std::vector<std::string>{"U1", "U2"}));
  auto empty_list = allowlist_row("slack", "main", "list", "[]");
  ASSERT_TRUE(empty_list);
  EXPECT_TRUE(empty_list->senders.empty());
  EXPECT_FALSE(allowlist_row("slack", "main", "some", "[]"));
  EXPECT_FALSE(allowlist_row("slack", "main", "list", "[1,2]"));
  EXPECT_FALSE(allowlist_row("slack", "main", "list", ""));
}

TEST(RoutingRowConversions, DefaultPolicyValues) {
  EXPECT_EQ(default_policy_row("", "")->kind, DefaultPolicy::Kind::ignore);
  EXPECT_EQ(default_policy_row("ignore", "x")->kind, DefaultPolicy::Kind::ignore);
  auto to_ns = default_policy_row("namespace", "id-1");
  ASSERT_TRUE(to_ns);
  EXPECT_EQ(to_ns->kind, DefaultPolicy::Kind::route_to_namespace);
  EXPECT_EQ(to_ns->namespace_id, "id-1");
  EXPECT_FALSE(default_policy_row("namespace", ""));
  EXPECT_FALSE(default_policy_row("everywhere", "id-1"));
}

}  // namespace
