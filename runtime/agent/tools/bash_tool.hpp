#pragma once
// bash {command, timeout_ms?}: `/bin/sh -c command` in the workspace, in its own
// session and process group, stdin /dev/null, stdout and stderr in one pipe. The output
// is capped (bytes past the cap are read and dropped, and counted); at the timeout the
// whole process group gets SIGKILL. When the shell has exited, what is left of its group
// (background jobs) is killed too: nothing outlives the call. poll() on the pipe and a
// pidfd; no threads.
#include <chrono>
#include <cstddef>
#include <string>

#include "runtime/agent/model_protocol.hpp"

namespace sb::agent {

struct BashRequest {
  std::string command;
  std::string cwd;
  std::chrono::milliseconds timeout{60000};
  std::size_t output_max_bytes = 32768;
};

// The output, then `[exit code N]`, `[killed by signal N]` or
// `[killed after N ms (timeout)]`. is_error for a timeout or a shell that could not start.
ToolResult run_bash(const BashRequest& req);

}  // namespace sb::agent
