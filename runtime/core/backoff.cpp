#include "runtime/core/backoff.hpp"

#include <algorithm>

namespace sb {

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
  // base * 2^(n-1), saturating at max; the shift is capped so it cannot overflow.
  const uint32_t exponent = std::min<uint32_t>(d.failures_in_window - 1, 30);
  const auto base = policy_.backoff_base.count();
  const auto cap = policy_.backoff_max.count();
  const long double full = std::min<long double>(static_cast<long double>(base) * (1ull << exponent),
                                                 static_cast<long double>(cap));
  const double j = std::clamp(jitter01, 0.0, 1.0);
  d.delay = std::chrono::milliseconds(static_cast<int64_t>(full * (0.5L + 0.5L * j)));
  return d;
}

}  // namespace sb
