// The task store on SQLite; the cases (task_store_cases.hpp) also run on PostgreSQL in
// task_store_postgres_test.cpp.
#include "tests/storage/task_store_cases.hpp"

namespace sb::schedule {
namespace {
INSTANTIATE_TEST_SUITE_P(Sqlite, TaskStoreTest, ::testing::Values(storage::Engine::sqlite), sb::test::engine_name);
}  // namespace
}  // namespace sb::schedule
