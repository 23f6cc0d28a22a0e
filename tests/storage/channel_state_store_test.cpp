// channel_state_store on SQLite; the cases (channel_state_store_cases.hpp) also run on PostgreSQL in
// channel_state_store_postgres_test.cpp.
#include "tests/storage/channel_state_store_cases.hpp"

namespace sb::storage {
namespace {
INSTANTIATE_TEST_SUITE_P(Sqlite, ChannelStateStore, ::testing::Values(Engine::sqlite), sb::test::engine_name);
}  // namespace
}  // namespace sb::storage
