#pragma once
// ContainerRuntime over Apple's `container` CLI (macOS). Every call execs the
// configured binary with an argv from build_argv (never a shell) and parses its JSON.
// UNVERIFIED ON REAL HARDWARE (docs/runtime-apple.md).
#include <chrono>
#include <string>
#include <vector>

#include "runtime/container/runtime.hpp"

namespace sb::container::apple {

struct AppleOptions {
  std::string binary = "container";  // looked up on PATH when it has no '/'
  std::chrono::milliseconds call_timeout{60000};
  // wait() polls `container inspect` (0.2 has no `container wait`) at this interval.
  std::chrono::milliseconds poll_interval{200};
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// fork/exec with stdout/stderr captured; SIGKILLs the child at the deadline.
// Errors: "apple.exec" (cannot start), "apple.timeout".
Result<CommandResult> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

class AppleRuntime final : public ContainerRuntime {
 public:
  explicit AppleRuntime(AppleOptions options = {}) : options_(std::move(options)) {}

  std::string backend() const override { return "apple"; }
  Result<RuntimeVersion> version() override;
  Result<std::string> create(const ContainerSpec& spec) override;
  Status start(const std::string& id) override;
  Result<ExitStatus> wait(const std::string& id, std::chrono::milliseconds timeout) override;
  Status kill(const std::string& id, int signal) override;
  Status remove(const std::string& id, bool force) override;
  Result<std::vector<ContainerInfo>> list(const Labels& selector) override;
  Result<ContainerInfo> inspect(const std::string& id) override;
  // Unsupported ("container.unsupported"): the `container` CLI (0.2) reports neither the
  // capabilities nor the mounts a running VM-backed container really has.
  Result<SecurityProfile> security_profile(const std::string& id) override;

 private:
  Result<CommandResult> exec(const std::vector<std::string>& argv);

  AppleOptions options_;
};

}  // namespace sb::container::apple
