// channel_state_store on PostgreSQL: the cases of channel_state_store_cases.hpp, each in a schema of its own on
// the binary's throwaway server.
#include "tests/storage/channel_state_store_cases.hpp"

namespace sb::storage {
namespace {
SB_STORE_SUITE_ON_POSTGRES(ChannelStateStore);
}  // namespace
}  // namespace sb::storage
