#include "runtime/container/scan/approved_containers.hpp"

namespace sb::container::scan {

void ApprovedContainers::approve(ApprovedContainer container) {
  std::lock_guard lock(mutex_);
  std::string id = container.container_id;
  by_id_.insert_or_assign(std::move(id), std::move(container));
}

void ApprovedContainers::revoke(const std::string& container_id) {
  std::lock_guard lock(mutex_);
  by_id_.erase(container_id);
}

std::optional<ApprovedContainer> ApprovedContainers::find(const std::string& container_id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(container_id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

size_t ApprovedContainers::size() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

}  // namespace sb::container::scan
