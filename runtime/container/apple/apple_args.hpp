#pragma once
// Pure argv construction and output parsing for Apple's `container` CLI (macOS 15+,
// Apple silicon, min 0.2). UNVERIFIED ON REAL HARDWARE: the flags follow apple/container's
// docs/command-reference.md; see docs/runtime-apple.md for every assumption.
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/core/result.hpp"

namespace sb::container::apple {

enum class Op { version, create, start, kill, remove, list, inspect };

struct AppleCall {
  Op op = Op::version;
  const ContainerSpec* spec = nullptr;  // create
  std::string id;                       // start, kill, remove, inspect
  int signal = 15;                      // kill
  bool force = false;                   // remove
};

inline AppleCall make_call(Op op, std::string id = {}) {
  AppleCall c;
  c.op = op;
  c.id = std::move(id);
  return c;
}

// The one place every argv is built; argv[0] is `binary`. No shell ever sees these.
std::vector<std::string> build_argv(const std::string& binary, const AppleCall& call);

// "512M": the CLI takes 1 MiB granularity; rounded up so a limit never shrinks to 0.
std::string memory_arg(int64_t bytes);
// Whole CPUs, rounded up, at least 1.
std::string cpus_arg(int64_t cpu_millis);

// "container CLI version 0.2.0 (build: ...)" -> "0.2.0". Error "apple.bad_version".
Result<std::string> parse_version(std::string_view output);
// Error "apple.too_old" below 0.2.0 (the product's minimum).
Status check_min_version(std::string_view version);

// `container list --all --format json` / `container inspect`: arrays of snapshots
// {"status": "...", "configuration": {"id": ..., "labels": {...}}, ...}.
// Error "apple.bad_response".
Result<std::vector<ContainerInfo>> parse_snapshots(std::string_view json);

}  // namespace sb::container::apple
