// container_run_store on SQLite; the cases (container_run_store_cases.hpp) also run on PostgreSQL in
// container_run_store_postgres_test.cpp.
#include "tests/storage/container_run_store_cases.hpp"

namespace sb::storage {
namespace {
INSTANTIATE_TEST_SUITE_P(Sqlite, ContainerRunStore, ::testing::Values(Engine::sqlite), sb::test::engine_name);
}  // namespace
}  // namespace sb::storage
