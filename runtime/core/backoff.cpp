#include "runtime/core/backoff.hpp"

#include <algorithm>

namespace sb {

std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base, int64_t attempt,
                                        std::chrono::milliseconds max) {
  const int64_t cap = std::max<int64_t>(0, max.count());
  int64_t delay = std::clamp<int64_t>(base.count(), 0, cap);
  // Doubles until the cap: at most 63 rounds whatever `attempt` is, and delay * 2 is
  // only computed when it stays <= cap, so it cannot overflow.
  for (int64_t i = 1; i < attempt && delay > 0 && delay < cap; ++i) delay = delay > cap / 2 ? cap : delay * 2;
  return std::chrono::milliseconds(delay);
}

std::chrono::milliseconds equal_jitter(std::chrono::milliseconds delay, double jitter01) {
  const int64_t half = delay.count() / 2;
  const double j = std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::milliseconds(delay.count() - half + static_cast<int64_t>(static_cast<double>(half) * j));
}

RestartDecision RestartTracker::on_failure(clock::time_point now, double jitter01) {
  ++total_;
  while (!failures_.empty() && now - failures_.front() >= policy_.window) failures_.pop_front();
  failures_.push_back(now);

  RestartDecision d;
  d.failures_in_window = static_cast<uint32_t>(failures_.size());
  if (d.failures_in_window > policy_.budget) {
    d.give_up = true;
    return d;
  }
  d.delay = equal_jitter(backoff_delay(policy_.backoff_base, d.failures_in_window, policy_.backoff_max), jitter01);
  return d;
}

}  // namespace sb
