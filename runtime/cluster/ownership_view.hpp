#pragma once
// What this node currently believes about ownership, shared between the cluster actor
// (which reads the lease table and writes here) and the parts of the node that act on
// it (the namespace manager, the router, the channel registry), which only read. It is a
// cache for routing decisions; safety never rests on it: every owner's write carries the
// epoch and the database refuses a stale one (storage::Fence).
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace sb::cluster {

// Resource names in the lease table.
inline std::string namespace_resource(const std::string& namespace_id) {
  return "ns:" + namespace_id;
}
inline std::string bot_resource(const std::string& bot_id) {
  return "bot:" + bot_id;
}

struct LeaseHolder {
  std::string holder;
  int64_t epoch = 0;
};

class OwnershipView {
 public:
  explicit OwnershipView(std::string self) : self_(std::move(self)) {}
  OwnershipView(const OwnershipView&) = delete;
  OwnershipView& operator=(const OwnershipView&) = delete;

  const std::string& self() const { return self_; }

  using time_point = std::chrono::steady_clock::time_point;

  // The cluster actor's latest reading: every live lease, and until when this node may
  // act as an owner (LeaseClock::fence_at). A time, not a flag: the node stops serving
  // when it passes even if the cluster actor is stuck in a database call.
  void publish(std::map<std::string, LeaseHolder> leases, std::optional<time_point> serve_until) {
    std::lock_guard lock(mutex_);
    leases_ = std::move(leases);
    serve_until_ = serve_until;
    ++generation_;
  }

  std::optional<LeaseHolder> holder(const std::string& resource) const {
    std::lock_guard lock(mutex_);
    auto it = leases_.find(resource);
    if (it == leases_.end()) return std::nullopt;
    return it->second;
  }

  // The epoch to fence writes with, when this node holds `resource` and serves.
  std::optional<int64_t> local_epoch(const std::string& resource) const {
    std::lock_guard lock(mutex_);
    if (!serving_locked() || yielding_.count(resource)) return std::nullopt;
    auto it = leases_.find(resource);
    if (it == leases_.end() || it->second.holder != self_) return std::nullopt;
    return it->second.epoch;
  }

  bool serving() const {
    std::lock_guard lock(mutex_);
    return serving_locked();
  }

  // Every resource this node holds and may serve, with its epoch.
  std::map<std::string, int64_t> held_here() const {
    std::lock_guard lock(mutex_);
    std::map<std::string, int64_t> out;
    if (!serving_locked()) return out;
    for (const auto& [resource, lease] : leases_)
      if (lease.holder == self_ && !yielding_.count(resource)) out[resource] = lease.epoch;
    return out;
  }

  // A resource this node is handing over: what runs it here stops (local_epoch says not
  // ours) before the lease is released in the database, so two nodes never run it at once.
  void set_yielding(const std::string& resource, bool yielding) {
    std::lock_guard lock(mutex_);
    if (yielding) {
      yielding_.insert(resource);
    } else {
      yielding_.erase(resource);
    }
  }

  // Namespaces in the middle of a turn do not move (the namespace manager keeps this).
  void set_busy(const std::string& resource, bool busy) {
    std::lock_guard lock(mutex_);
    if (busy) {
      busy_.insert(resource);
    } else {
      busy_.erase(resource);
    }
  }
  std::set<std::string> busy() const {
    std::lock_guard lock(mutex_);
    return busy_;
  }

  uint64_t generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
  }

 private:
  bool serving_locked() const { return serve_until_ && std::chrono::steady_clock::now() < *serve_until_; }

  const std::string self_;
  mutable std::mutex mutex_;
  std::map<std::string, LeaseHolder> leases_;
  std::set<std::string> busy_;
  std::set<std::string> yielding_;
  std::optional<time_point> serve_until_;
  uint64_t generation_ = 0;
};

}  // namespace sb::cluster
