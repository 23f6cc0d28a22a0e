#pragma once
// The webhook listener's ack deadline without a timer per request: every delivery gets
// the same timeout, so deadlines arrive in order and a FIFO is already sorted. One
// thread sleeps until the oldest deadline and expires what is still pending; it is
// woken only when the queue goes from empty to non-empty (or on stop).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace sb::channels::webhooks {

class AckDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  // Called on the watcher thread when the deadline passes, unless the owner is gone.
  using Expire = std::function<void()>;

  AckDeadlines();
  ~AckDeadlines();  // stop()
  AckDeadlines(const AckDeadlines&) = delete;
  AckDeadlines& operator=(const AckDeadlines&) = delete;

  // `owner` is held weakly: an entry whose owner was settled and released costs nothing
  // at expiry. Deadlines must not decrease between calls (one constant timeout).
  void add(Clock::time_point deadline, std::weak_ptr<void> owner, Expire expire);

  // Expires nothing more and joins the thread. Idempotent.
  void stop();

 private:
  struct Entry {
    Clock::time_point deadline;
    std::weak_ptr<void> owner;
    Expire expire;
  };
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> entries_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sb::channels::webhooks
