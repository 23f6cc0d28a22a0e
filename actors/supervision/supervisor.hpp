#pragma once
// A reusable one-for-one supervisor. It spawns its children in order, monitors them,
// restarts a crashed child after an exponential backoff with jitter, and gives a
// child up once it exceeds its restart budget: then it logs, counts the give-up in
// /metrics and reports `failed_atom, child_failure` to its parent. It never spins.
// Shutdown stops children in reverse start order, each with a FIFO `shutdown`
// request, so work queued before the shutdown is finished first.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "actors/protocol.hpp"
#include "runtime/core/backoff.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct ChildSpec {
  std::string name;  // at most 10 characters: also the key in the actor registry
  // Spawns the child; `supervisor` is the supervising actor (a parent for nesting).
  std::function<caf::actor(caf::actor_system&, const caf::actor& supervisor)> start;
};

struct SupervisorOptions {
  std::string name = "root";
  RestartPolicy policy;
  std::vector<ChildSpec> children;
  caf::actor parent;                     // receives failed_atom; may be invalid
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  bool register_children = true;         // publish handles in system.registry()
  std::chrono::milliseconds child_shutdown_timeout{5000};
};

supervisor_actor spawn_supervisor(caf::actor_system& system, SupervisorOptions options);

// Installs an exception handler that logs the exception (CAF's own logging is compiled
// out in Debian) and turns it into the actor's exit reason, which the supervisor sees.
void log_exceptions(caf::scheduled_actor* self, std::string name);

// Current handle of a registered child ("storage", "audit", ...), or invalid.
template <class Handle = caf::actor>
Handle lookup(caf::actor_system& system, const std::string& name) {
  return caf::actor_cast<Handle>(system.registry().get(caf::atom_from_string(name)));
}

}  // namespace sb::actors
