#pragma once
// Runs a helper program (crun, runc, skopeo, umoci, busybox) from an argv vector —
// never through a shell — and captures its output so failures carry the tool's own
// words. Used only by the oci backend.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::container::oci {

struct ProcessResult {
  int exit_code = 0;  // 128 + signal when the tool was killed
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0; }
  // "tool: <trimmed stderr or stdout>" for error messages.
  std::string describe(const std::string& tool) const;
};

struct SpawnOptions {
  // When set, the child's stdout and stderr are appended to this file instead of being
  // captured (a container started by `crun create` inherits them, so a pipe would only
  // reach EOF when the container exits).
  std::optional<std::string> output_file;
  std::chrono::milliseconds timeout{60000};  // then SIGKILL and "process.timeout"
};

// argv[0] is looked up in PATH. Errors: "process.spawn_failed", "process.timeout".
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const SpawnOptions& options = {});

}  // namespace sb::container::oci
