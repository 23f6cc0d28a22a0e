// audit_store on PostgreSQL: the cases of audit_store_cases.hpp (the chain, tampering,
// verify), each database in a schema of its own on the binary's throwaway server.
#include "tests/storage/audit_store_cases.hpp"

namespace {
SB_STORE_SUITE_ON_POSTGRES(AuditStore);
}  // namespace
