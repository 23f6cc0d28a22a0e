// ClusterStore and fenced writes on SQLite: the cases of cluster_store_cases.hpp (also run
// on PostgreSQL in cluster_store_postgres_test.cpp).
#include "tests/storage/cluster_store_cases.hpp"

namespace sb::storage {
namespace {

INSTANTIATE_TEST_SUITE_P(Sqlite, ClusterStoreOnEngine, ::testing::Values(Engine::sqlite), sb::test::engine_name);

}  // namespace
}  // namespace sb::storage
