#include "channels/webhooks/ack_deadlines.hpp"

#include <vector>

namespace sb::channels::webhooks {

AckDeadlines::AckDeadlines() : thread_([this] { run(); }) {}

AckDeadlines::~AckDeadlines() {
  stop();
}

void AckDeadlines::add(Clock::time_point deadline, std::weak_ptr<void> owner, Expire expire) {
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    // Settled entries at the front are dropped here, so a busy queue stays short.
    while (!entries_.empty() && entries_.front().owner.expired()) entries_.pop_front();
    was_empty = entries_.empty();
    entries_.push_back({deadline, std::move(owner), std::move(expire)});
  }
  if (was_empty) wake_.notify_one();
}

void AckDeadlines::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    entries_.clear();
  }
  wake_.notify_one();
  if (!thread_.joinable()) return;
  // The last owner may let go on the watcher thread itself (inside an expiry).
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach();
  else
    thread_.join();
}

void AckDeadlines::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (entries_.empty()) {
      wake_.wait(lock, [this] { return stopping_ || !entries_.empty(); });
      continue;
    }
    const auto deadline = entries_.front().deadline;
    if (Clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;
    }
    std::vector<Expire> due;
    const auto now = Clock::now();
    while (!entries_.empty() && entries_.front().deadline <= now) {
      if (!entries_.front().owner.expired()) due.push_back(std::move(entries_.front().expire));
      entries_.pop_front();
    }
    lock.unlock();
    for (auto& expire : due) expire();  // outside the lock: it answers HTTP requests
    lock.lock();
  }
}

}  // namespace sb::channels::webhooks
