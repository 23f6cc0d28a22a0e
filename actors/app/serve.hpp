#pragma once
// `squadbox serve`: boots one node (storage, actor tree, admin listener), then waits
// for SIGTERM/SIGINT and shuts down in order: stop accepting, drain the actor tree
// (the storage writer commits what is queued), stop the listener, exit 0.
#include "runtime/config/config.hpp"

namespace sb::app {

// Must run in the main thread before any other thread exists: blocks the shutdown
// signals so that only serve()'s sigwait receives them.
void block_shutdown_signals();

// Returns the process exit code.
int serve(const config::Config& config, const char* version);

}  // namespace sb::app
