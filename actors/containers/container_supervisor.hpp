#pragma once
// ContainerSupervisor: one actor per container run, a thin shell around the pure
// lifecycle (runtime/container/lifecycle.hpp). It prepares the run directory and
// mounts, creates and starts the container, feeds inputs through file IPC, forwards
// the agent's output, enforces the hard and idle timeouts (SIGTERM, then SIGKILL
// after a grace), restarts a crashed container with backoff and re-delivers the
// unfinished inputs, and gives up after too many failures in a window.
//
// Messages in: container_supervisor_actor (actors/protocol.hpp).
// Messages out, to `listener` (run_listener_actor): (output_atom, RunOutput)
// (state_atom, RunTransition) and (done_atom, RunResult) once, at the end.
// It runs detached: runtime calls block (a crun create, a Docker API call).
#include <chrono>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "runtime/container/container_spec.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/container/runtime.hpp"
#include "runtime/container/scan/approved_containers.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/backoff.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::ipc {
struct IpcOwnership;
}
namespace sb::security::allowlist {
class AllowlistStore;  // runtime/security/allowlist/allowlist_store.hpp
}
namespace sb::proxy {
class CredentialProxy;  // runtime/proxy/credential_proxy.hpp
}
namespace sb::actors {

class TaskIpc;  // actors/containers/ipc_task_desk.hpp

struct ContainerRunOptions {
  std::string run_id;  // unique; the io.squadbox.run label
  // Cluster mode: the namespace's lease; every run row write carries it, and the database
  // refuses them once another node has taken the namespace (storage::Fence).
  storage::Fence fence{};
  std::string namespace_name;  // the io.squadbox.namespace label
  container::RunKind kind = container::RunKind::squad;
  std::string install_id;  // the io.squadbox.install label
  std::string run_dir;     // host directory of this run; IPC lives in run_dir/ipc
  // false: run_dir is removed when this actor ends (L4 of the 2026-12 audit), after its
  // threads are joined; true: it stays for the run-directory janitor's retention.
  bool keep_run_dir = false;
  container::ContainerSpec spec;                           // mounts are filled in from `mounts`
  container::RunMountRequest mounts;                       // ipc_dir is set by the supervisor
  std::chrono::milliseconds hard_timeout{30 * 60 * 1000};  // 0 = none
  std::chrono::milliseconds idle_timeout{0};               // 0 = none
  std::chrono::milliseconds stop_grace{1000};
  RestartPolicy restart;
  std::shared_ptr<container::ContainerRuntime> runtime;
  run_listener_actor listener;           // may be invalid
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  // Adopt this already running container (a run that survived a broker restart)
  // instead of creating one: its IPC directory is reused, its exit is supervised.
  std::string adopt_container_id;
  // Registry of approved containers for the security audit: each container of this
  // run is registered once created or adopted, and removed with it. May be null.
  std::shared_ptr<container::scan::ApprovedContainers> approved;
  // IPC permissions: the run's group is namespace_name; main_namespace lifts the group
  // scope. ownership answers who owns a chat/task (thread-safe; null = nothing known:
  // replies, turn markers, own-chat schedules and main's sends pass). audit: ipc.denied.
  bool main_namespace = false;
  std::shared_ptr<const ipc::IpcOwnership> ownership;
  AuditSink audit;
  // Mount allowlist (security layer 2): extra mounts (and an operator-chosen workspace)
  // are decided on its current rules, audited through `audit` (mount.allowed/denied),
  // with main_namespace lifting nonMainReadOnly. Null: every extra mount is denied.
  std::shared_ptr<security::allowlist::AllowlistStore> allowlist;
  // Credential proxy (security layer 4): each container start gets a lease (a socket
  // at <ipc dir>/proxy.sock and a fresh placeholder token in its environment), dropped
  // when that container exits. Null: no proxy.
  std::shared_ptr<proxy::CredentialProxy> proxy;
  // Scheduling from inside the container (IPC tasks/, docs/ipc.md): the IPC thread applies
  // each task payload for this run's group (never blocking the actor), audits the change
  // (task.created, ... as ipc:<group>), moves a failed one to errors/ with its reason, and
  // keeps <ipc dir>/current_tasks.json fresh (at start, after each task action and each
  // input). Null: task payloads go to errors/ ("scheduling not available").
  std::shared_ptr<actors::TaskIpc> tasks = nullptr;
};

container_supervisor_actor spawn_container_supervisor(caf::actor_system& system, ContainerRunOptions options);

}  // namespace sb::actors
