// inbound_store on SQLite; the cases (inbound_store_cases.hpp) also run on PostgreSQL in
// inbound_store_postgres_test.cpp.
#include "tests/storage/inbound_store_cases.hpp"

namespace sb::storage {
namespace {
INSTANTIATE_TEST_SUITE_P(Sqlite, InboundStore, ::testing::Values(Engine::sqlite), sb::test::engine_name);
}  // namespace
}  // namespace sb::storage
