#pragma once
// The whole check of one requested mount: container path, host path text, realpath,
// pin (pinned_path.hpp), the allowlist's rules (allowlist_rules.hpp) and the mount
// table (mount_table.hpp). Every decision, allowed or denied, is audited
// (`mount.allowed` / `mount.denied`, subject = host path, detail = {rule, group, rw,
// rw_requested, container_path, reason}) and counted in
// squadbox_mount_decisions_total{decision,rule} when the caller gives a sink/registry.
#include <memory>
#include <string>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/security/allowlist/allowlist_rules.hpp"
#include "runtime/security/allowlist/pinned_path.hpp"

namespace sb::security::allowlist {

enum class MountKind {
  extra,               // /workspace/extra/{name}: needs an allowed root
  operator_workspace,  // cowork's /workspace: the operator's own choice (no root needed)
};

struct MountQuery {
  MountKind kind = MountKind::extra;
  std::string host_path;  // as requested; ~ is expanded
  std::string name;       // extra: the container path under /workspace/extra/
  bool read_write = false;
  std::string group;  // the squad group asking ("" when unknown, e.g. the CLI)
  bool main_namespace = false;
};

struct MountDecision {
  bool allowed = false;
  bool read_write = false;  // granted (may be less than asked)
  std::string rule;         // rule:: id
  std::string reason;
  std::string host_path;                     // canonical once resolved, else as given (control chars as '?')
  std::string container_path;                // /workspace/extra/{name} or /workspace
  std::shared_ptr<const PinnedPath> pinned;  // set when allowed: mount this, keep it open
};

struct DecisionObservers {
  AuditSink audit;                       // may be empty
  metrics::Registry* metrics = nullptr;  // not owned; may be null
};

MountDecision check_mount(const AllowlistRules& rules, const MountQuery& query,
                          const DecisionObservers& observers = {});

}  // namespace sb::security::allowlist
