#pragma once
// ContainerSupervisor: one actor per container run, a thin shell around the pure
// lifecycle (runtime/container/lifecycle.hpp). It prepares the run directory and
// mounts, creates and starts the container, feeds inputs through file IPC, forwards
// the agent's output, enforces the hard and idle timeouts (SIGTERM, then SIGKILL
// after a grace), restarts a crashed container with backoff and re-delivers the
// unfinished inputs, and gives up after too many failures in a window.
//
// Messages in:  (deliver_atom, id, text) (close_atom) (stop_atom) (status_atom)
// Messages out, to `listener`: (output_atom, run_output) (state_atom, run_transition)
//                              (done_atom, run_result) — once, at the end.
// It runs detached: runtime calls block (a crun create, a Docker API call).
#include <chrono>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "actors/restart_policy.hpp"
#include "runtime/container/container_spec.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/container/runtime.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct ContainerRunOptions {
  std::string run_id;          // unique; the io.squadbox.run label
  std::string namespace_name;  // the io.squadbox.namespace label
  std::string kind = "squad";  // "squad", "cowork", "scheduled"
  std::string install_id;      // the io.squadbox.install label
  std::string run_dir;         // host directory of this run; IPC lives in run_dir/ipc
  container::ContainerSpec spec;        // mounts are filled in from `mounts`
  container::RunMountRequest mounts;    // ipc_dir is set by the supervisor
  std::chrono::milliseconds hard_timeout{30 * 60 * 1000};  // 0 = none
  std::chrono::milliseconds idle_timeout{0};               // 0 = none
  std::chrono::milliseconds stop_grace{1000};
  RestartPolicy restart;
  std::shared_ptr<container::ContainerRuntime> runtime;
  caf::actor listener;                   // may be invalid
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  // Adopt this already running container (a run that survived a broker restart)
  // instead of creating one: its IPC directory is reused, its exit is supervised.
  std::string adopt_container_id;
};

caf::actor spawn_container_supervisor(caf::actor_system& system, ContainerRunOptions options);

}  // namespace sb::actors
