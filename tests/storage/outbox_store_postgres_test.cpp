// outbox_store on PostgreSQL: the cases of outbox_store_cases.hpp, each in a schema of its
// own on the binary's throwaway server.
#include "tests/storage/outbox_store_cases.hpp"

namespace sb::storage {
namespace {
SB_STORE_SUITE_ON_POSTGRES(OutboxStore);
}  // namespace
}  // namespace sb::storage
