// NamespaceStore on SQLite; the cases (namespace_store_cases.hpp) also run on PostgreSQL
// in namespace_store_postgres_test.cpp.
#include "tests/storage/namespace_store_cases.hpp"

namespace {

INSTANTIATE_TEST_SUITE_P(Sqlite, Store, ::testing::Values(sb::storage::Engine::sqlite), sb::test::engine_name);

TEST(Uuid, IsVersion4AndUnique) {
  auto a = sb::uuid_v4(), b = sb::uuid_v4();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos) << a;
}

}  // namespace
