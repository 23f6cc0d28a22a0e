// container_run_store on PostgreSQL: the cases of container_run_store_cases.hpp, each in a schema of its own on
// the binary's throwaway server.
#include "tests/storage/container_run_store_cases.hpp"

namespace sb::storage {
namespace {
SB_STORE_SUITE_ON_POSTGRES(ContainerRunStore);
}  // namespace
}  // namespace sb::storage
