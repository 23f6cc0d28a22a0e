#pragma once
// The "scheduler" node child: makes scheduled tasks run (docs/scheduling.md, "The
// scheduler"). It keeps every planned task in a DeadlineQueue and ONE pending timer for
// the earliest (no periodic polling; nothing planned, no timer). A due task gets a
// run-log row (TaskStore::start_runs: a tick's due runs share one transaction) and a
// scheduled_run handed to its namespace; the namespace's (done_atom,
// scheduled_run_result) records the outcome, with a retry when the task asks for one. A task never has two runs at
// once. At start, runs the node stopped under become errors and missed fires follow the task's catch-up policy.
// reload_atom (the store changed) re-reads what is planned, bursts coalesced.
#include <cstdint>
#include <functional>
#include <memory>

#include "actors/protocol.hpp"
#include "runtime/cluster/ownership_view.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::storage {
class TaskStore;
}

namespace sb::actors {

struct SchedulerOptions {
  std::shared_ptr<storage::TaskStore> store;  // null: the scheduler idles
  metrics::Registry* metrics = nullptr;       // not owned; may be null
  // Hands a started run on; false: it could not (the run is recorded as an error).
  // Empty: (task_atom, run) to the "namespaces" registry entry, looked up at call time.
  std::function<bool(scheduled_run)> dispatch;
  // Unix epoch milliseconds; the system clock when empty (use the store's clock).
  std::function<int64_t()> now_ms;
  // A dispatched run without an answer by its timeout plus this is recorded as an
  // error; a task without a timeout (0) gets no_limit_bound_ms (scheduler_core.hpp).
  int64_t answer_grace_ms = 60'000;
  int64_t no_limit_bound_ms = 24LL * 3600 * 1000;
  // Cluster mode: only tasks of namespaces this node owns fire here. Null: all of them.
  std::shared_ptr<const cluster::OwnershipView> cluster_view{};
};

scheduler_actor spawn_scheduler(caf::actor_system& system, SchedulerOptions options);

// The TaskStore change hook for a node: reload_atom to the "scheduler" registry entry
// (looked up at call time), except for the scheduler's own writes (it already knows).
std::function<void()> scheduler_reload_hook(caf::actor_system& system);

}  // namespace sb::actors
