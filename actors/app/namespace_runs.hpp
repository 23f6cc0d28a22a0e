#pragma once
// How `serve` builds a namespace's container run (NamespaceServices::make_run): the
// namespace's image and timeouts (or the node's), its workspace (rw for the main
// namespace, read-only for the others) and session directories, the agent's settings
// (the namespace's over the node's) and instructions file, extra mounts through the mount allowlist (main_namespace =
// is_main), the sanitized environment (plus the namespace's approved variable names), the security layers
// (SecurityServices::apply), IPC ownership from the chat mappings, and a non-root uid of the namespace's own host id
// range. docs/namespace-queue.md "The container run".
#include <memory>
#include <string>

#include "actors/app/security_services.hpp"
#include "actors/namespaces/namespace_manager.hpp"
#include "runtime/config/config.hpp"
#include "runtime/container/runtime.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "storage/namespace_rows.hpp"

namespace sb::ipc {
struct IpcOwnership;
}
namespace sb::actors {
class TaskIpc;
}

namespace sb::app {

struct NamespaceRunContext {
  config::Config config;
  SecurityServices security;
  std::shared_ptr<container::ContainerRuntime> runtime;  // null: no runtime (every start fails)
  std::string install_id;
  metrics::Registry* metrics = nullptr;
  // Scheduling from inside containers (IPC tasks/, current_tasks.json); null: refused.
  std::shared_ptr<actors::TaskIpc> tasks = nullptr;
};

// The host id range of a namespace's containers: its slot (storage, never reused) in
// container.userns_base/userns_size (slot 0 is cowork's, never a namespace's).
// Errors: "namespaces.no_id_range", "container.userns_exhausted", storage errors.
Result<container::IdRange> namespace_id_range(const config::Config& config, const std::string& namespace_name);

// The namespace's agent settings and instructions, from the database (read-only).
// Errors: "namespaces.not_found", "namespaces.corrupt", storage errors.
Result<storage::AgentRecord> read_agent(const config::Config& config, const std::string& namespace_name);

// "extra/name" and "/data/x" -> "x"; a namespace mount's name under /workspace/extra.
std::string extra_mount_name(const namespaces::MountRequest& m);

// Errors: "container.unavailable" (no runtime), "namespaces.io" (directories).
Result<actors::ContainerRunOptions> build_namespace_run(const NamespaceRunContext& context,
                                                        const actors::NamespaceRunRequest& request);

// IPC ownership answered from the chat mappings of the database at db_path (its own
// read-only connection, serialised: the IPC watcher threads call it), and task ownership
// from `tasks` (null: no task is known, so task actions are denied).
std::shared_ptr<const ipc::IpcOwnership> mapping_ownership(const std::string& db_path,
                                                           std::shared_ptr<const actors::TaskIpc> tasks = nullptr);

// make_run for NamespaceServices.
std::function<Result<actors::ContainerRunOptions>(const actors::NamespaceRunRequest&)> namespace_run_factory(
    NamespaceRunContext context);

}  // namespace sb::app
