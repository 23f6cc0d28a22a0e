#pragma once
// The NamespaceManager ("namespaces" node child): one Namespace actor per squad group
// (spawned on its first routed message, respawned after a crash, stopped when the
// namespace is deleted) and the global container slot pool (namespaces::SlotPool).
// Namespace actors ask it for a slot before they start a container and tell it when
// their agent is busy, idle, or their container exited. Scheduled runs (task_atom) go
// to their namespace's actor; bad input and unknown namespaces are answered here.
// docs/namespace-queue.md.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/containers/container_supervisor.hpp"
#include "actors/protocol.hpp"
#include "runtime/cluster/ownership_view.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "runtime/namespaces/namespace.hpp"

namespace sb::channels::local {
class LocalChatHub;
}

namespace sb::actors {

// What a namespace's container run is built from (actors/app/namespace_runs.hpp).
struct NamespaceRunRequest {
  std::string namespace_id;
  std::string namespace_name;
  bool is_main = false;
  namespaces::ContainerConfig container;
  std::string run_id;  // unique: "ns-{name}-{random}" (messages), "task-{name}-{random}" (scheduled)
  // A scheduled run (issue 7): kind "scheduled", no restarts, no idle timeout.
  container::RunKind kind = container::RunKind::squad;
  std::string image = {};         // "" = the namespace's image, else the node's
  bool isolated_session = false;  // a fresh session dir in the run dir (the caller removes it)
  std::optional<std::chrono::milliseconds> hard_timeout = std::nullopt;  // overrides the configured one; 0 = none
};

// What namespaces need that only `serve` has. make_run is set once, before the manager
// gets ready_atom, and read only after it (no lock needed).
struct NamespaceServices {
  // Set (after make_run) once the container services exist: a manager restarted by its
  // supervisor later starts ready without waiting for a ready_atom that never comes again.
  std::atomic<bool> ready{false};
  // A complete run (image, mounts, env, security layers, runtime); the Namespace actor
  // sets the listener. An error is a failed start (reported to the chat, retried).
  std::function<Result<ContainerRunOptions>(const NamespaceRunRequest&)> make_run;
};

struct NamespaceManagerOptions {
  config::NamespacesConfig config;
  std::string db_path;                                        // the node database (read-only connections)
  std::shared_ptr<NamespaceServices> services;                // null: messages queue, no container starts
  std::shared_ptr<channels::local::LocalChatHub> local_chat;  // null: local replies are dropped
  std::vector<std::shared_ptr<const channels::ChannelBot>> bots;
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  // Cluster mode (null: a single node owns everything). A namespace's actor runs only
  // while this node holds its lease, fenced with that epoch; batches of namespaces owned
  // elsewhere go to the "cluster" actor, which forwards them to the owner. own_atom:
  // ownership changed (actors of lost namespaces stop); yield_atom: stop a namespace
  // between turns so its lease can move (false while it works on a turn).
  std::shared_ptr<cluster::OwnershipView> cluster_view{};
};

namespace_manager_actor spawn_namespace_manager(caf::actor_system& system, NamespaceManagerOptions options);

}  // namespace sb::actors
