#pragma once
// The only place that turns requested mounts into ValidatedMounts. Container paths
// are fixed by the layout (/workspace, /workspace/ipc, /workspace/extra/{name});
// host paths are canonicalised (symlinks resolved) before any check. The security
// capability adds the allowlist (deny by default, blocked patterns) here, so every
// caller gets it without changing.
#include <string>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/core/result.hpp"

namespace sb::container {

struct ExtraMountRequest {
  std::string name;       // mounted at /workspace/extra/{name}
  std::string host_path;
  bool read_write = false;  // read-only unless asked for
};

struct RunMountRequest {
  std::string workspace;          // host dir mounted at /workspace ("" = none)
  bool workspace_read_write = false;
  std::string ipc_dir;            // host dir mounted at /workspace/ipc (rw) ("" = none)
  std::vector<ExtraMountRequest> extras;
};

class MountPolicy {
 public:
  // Errors: "mount.invalid_name", "mount.not_found", "mount.duplicate".
  static Result<ValidatedMounts> validate(const RunMountRequest& request);

  // Pure rule for an extra mount's name: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ and not
  // "." or "..": relative, no '/', no ':' (REFERENCE §2).
  static bool valid_extra_name(const std::string& name);
};

}  // namespace sb::container
