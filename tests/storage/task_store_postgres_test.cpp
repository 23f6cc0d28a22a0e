// The task store on PostgreSQL: the cases of task_store_cases.hpp (schedules, runs, the
// run log), each in a schema of its own on the binary's throwaway server.
#include "tests/storage/task_store_cases.hpp"

namespace sb::schedule {
namespace {
SB_STORE_SUITE_ON_POSTGRES(TaskStoreTest);
}  // namespace
}  // namespace sb::schedule
