#pragma once
// The only place that turns requested mounts into ValidatedMounts. Container paths
// are fixed by the layout (/workspace, /workspace/ipc, /workspace/extra/{name},
// /session); every host path is canonicalised (symlinks resolved) and pinned (an O_PATH
// fd, security/allowlist/pinned_path.hpp) before any check, so the directory that was
// checked is the one that gets mounted.
//
// Two kinds of host path:
//   * the broker's own directories (a group's workspace, the IPC dir, the session dir):
//     chosen by squadbox itself, only canonicalised and pinned;
//   * requested ones — extra mounts, and cowork's workspace (the operator's choice) —
//     go through the mount allowlist (security layer 2, docs/security-mounts.md).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"

namespace sb::security::allowlist {
struct AllowlistRules;
}

namespace sb::container {

struct ExtraMountRequest {
  std::string name;  // mounted at /workspace/extra/{name}
  std::string host_path;
  bool read_write = false;  // read-only unless asked for
};

struct RunMountRequest {
  std::string workspace;  // host dir mounted at /workspace ("" = none)
  bool workspace_read_write = false;
  std::string ipc_dir;  // host dir mounted at /workspace/ipc (rw) ("" = none)
  std::vector<ExtraMountRequest> extras;
  // The agent's own session state (conversation history), mounted read-write at
  // /session ("" = none). A broker directory, like ipc_dir. (These last two have
  // initialisers so that positional `{ws, rw, ipc, extras}` stays warning-free.)
  std::string session_dir{};
  // Cowork: the workspace is the operator's own choice, so blocked patterns and the
  // never-mountable paths apply to it (an allowed root is not needed).
  bool workspace_from_operator = false;
  // Idmap the workspace so that what the agent writes there is owned on the host by this
  // owner (run_identity.hpp decides); nullopt: no idmap.
  std::optional<HostOwner> workspace_owner{};
};

// Who asks, and under which rules.
struct MountContext {
  // The allowlist's current rules; null = no allowlist, every extra mount is denied.
  std::shared_ptr<const security::allowlist::AllowlistRules> allowlist;
  std::string group;            // the squad group (namespace) of the run
  bool main_namespace = false;  // read-write extras need it when nonMainReadOnly is set
  AuditSink audit;              // mount.allowed / mount.denied; may be empty
  metrics::Registry* metrics = nullptr;
};

class MountPolicy {
 public:
  // Errors: "mount.invalid_name" (an extra's container path), "mount.not_found",
  // "mount.duplicate", "mount.denied" (the allowlist said no; the message names the rule).
  static Result<ValidatedMounts> validate(const RunMountRequest& request, const MountContext& context = {});

  // For backends whose daemon resolves host paths itself (docker, apple): right before
  // create, every pinned mount's path must still lead to the pinned directory.
  // Error "mount.changed".
  static Status reverify(const ValidatedMounts& mounts);

  // Pure rule for an extra mount's name: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ and not
  // "." or "..": relative, no '/', no ':' (REFERENCE §2).
  static bool valid_extra_name(const std::string& name);
};

}  // namespace sb::container
