#pragma once
// Reconciliation at start: every container carrying this install's label is either
// adopted (its run is known to be live in this process) or removed. Containers of
// other installs are never looked at: the selector always includes the install id.
#include <set>
#include <string>
#include <vector>

#include "runtime/container/runtime.hpp"

namespace sb::container {

struct ReconcileReport {
  std::vector<std::string> adopted;       // container ids
  std::vector<std::string> adopted_runs;  // their run ids, same order
  std::vector<std::string> removed;       // container ids
  std::vector<std::string> failed;        // "id: error"
  std::vector<std::string> removed_runs;  // run ids whose containers were removed
};

// `live_runs`: run ids this process is supervising right now.
ReconcileReport reconcile(ContainerRuntime& runtime, const std::string& install_id,
                          const std::set<std::string>& live_runs);

}  // namespace sb::container
