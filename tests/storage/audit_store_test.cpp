// audit_store on SQLite; the cases (audit_store_cases.hpp) also run on PostgreSQL in
// audit_store_postgres_test.cpp.
#include "tests/storage/audit_store_cases.hpp"

namespace {
INSTANTIATE_TEST_SUITE_P(Sqlite, AuditStore, ::testing::Values(sb::storage::Engine::sqlite), sb::test::engine_name);
}  // namespace
