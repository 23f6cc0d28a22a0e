// outbox_store on SQLite; the cases (outbox_store_cases.hpp) also run on PostgreSQL in
// outbox_store_postgres_test.cpp.
#include "tests/storage/outbox_store_cases.hpp"

namespace sb::storage {
namespace {
INSTANTIATE_TEST_SUITE_P(Sqlite, OutboxStore, ::testing::Values(Engine::sqlite), sb::test::engine_name);
}  // namespace
}  // namespace sb::storage
