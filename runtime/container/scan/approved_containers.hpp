#pragma once
// What this node approved for each container it runs: the container supervisor
// registers a container right after creating (or adopting) it and removes it when the
// container is gone. The security audit treats a running container of our install
// that is not in here as unknown, and compares the others with their entry.
// Thread-safe: supervisors and the auditor use it from their own threads.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/container/container_spec.hpp"

namespace sb::container::scan {

struct ApprovedContainer {
  std::string container_id;
  std::string run_id;
  std::string namespace_name;
  // As validated by the mount policy. None when not known (a run adopted after a broker
  // restart: its mount request is not persisted); its mounts are then not checked.
  std::optional<std::vector<container::Mount>> mounts;
  // When the supervisor's own hard timeout (plus its stop grace) should have ended the
  // container; none without a hard timeout.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

class ApprovedContainers {
 public:
  void approve(ApprovedContainer container);  // replaces an entry with the same id
  void revoke(const std::string& container_id);
  std::optional<ApprovedContainer> find(const std::string& container_id) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ApprovedContainer> by_id_;
};

}  // namespace sb::container::scan
