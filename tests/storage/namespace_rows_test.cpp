// namespace_rows on SQLite; the cases (namespace_rows_cases.hpp) also run on PostgreSQL in
// namespace_rows_postgres_test.cpp.
#include "tests/storage/namespace_rows_cases.hpp"

namespace {
INSTANTIATE_TEST_SUITE_P(Sqlite, NamespaceRows, ::testing::Values(sb::storage::Engine::sqlite), sb::test::engine_name);
}  // namespace
