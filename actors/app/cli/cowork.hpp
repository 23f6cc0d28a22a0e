#pragma once
// `squadbox cowork`: one agent container against a local folder, its output streamed
// to stdout, the process exiting with the agent's status.
#include <optional>
#include <string>
#include <vector>

#include "actors/app/cli/agent_flags.hpp"
#include "runtime/config/config.hpp"

namespace sb::app::cli {

struct CoworkOptions {
  std::string workspace;
  std::vector<std::string> mounts;  // NAME=PATH[:rw]
  std::string image;                // empty: container.image
  std::string backend;              // empty: container.runtime
  std::string timeout = "30m";
  std::string idle_timeout = "0";
  CoworkAgentFlags agent;  // over the node's [container] agent defaults
  std::vector<std::string> prompt;
};

// Exit codes: the agent's exit code when it ran; 2 bad usage (flags, missing dir or
// image); 124 hard timeout; 130 interrupted (Ctrl-C); 1 other failures.
int run_cowork(const config::Config& config, const CoworkOptions& options);

// NAME=PATH[:rw] -> request; errors name the flag. Pure apart from nothing.
struct ParsedMount {
  std::string name;
  std::string path;
  bool read_write = false;
};
Result<ParsedMount> parse_mount_flag(const std::string& flag);

}  // namespace sb::app::cli
