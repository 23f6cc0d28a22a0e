#pragma once
// Exponential backoff, once: the delay itself (backoff_delay) for every retry loop
// (deliveries, the Telegram poll, namespace starts, scheduled-task retries), and the
// restart bookkeeping for one supervised child: exponential backoff with "equal jitter"
// and a restart budget over a sliding window. No actors, no clocks of their own: the
// caller passes `now` and a jitter sample, so tests are exact. Jitter is the caller's.
#include <chrono>
#include <cstdint>
#include <deque>

namespace sb {

// base * 2^(attempt - 1), capped at max: attempt 1 (or less) waits base, each further
// attempt twice as long, never longer than max (nor than max when base > max). No
// overflow at any attempt; a base or max <= 0 gives 0.
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base, int64_t attempt, std::chrono::milliseconds max);

// "Equal jitter": a delay drawn from [delay - delay/2, delay] by jitter01 in [0, 1]
// (clamped), so a retry never waits less than half of its backoff.
std::chrono::milliseconds equal_jitter(std::chrono::milliseconds delay, double jitter01);

struct RestartPolicy {
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_max{30000};
  uint32_t budget = 5;  // restarts allowed within `window`
  std::chrono::milliseconds window{60000};
};

struct RestartDecision {
  bool give_up = false;
  std::chrono::milliseconds delay{0};  // valid when !give_up
  uint32_t failures_in_window = 0;
};

class RestartTracker {
 public:
  using clock = std::chrono::steady_clock;
  explicit RestartTracker(RestartPolicy policy) : policy_(policy) {}

  // Records a failure at `now`. jitter01 in [0, 1): the delay is drawn from
  // [d/2, d] where d = min(max, base * 2^(failures_in_window - 1)), so successive
  // delays within a window never shrink while they still grow.
  RestartDecision on_failure(clock::time_point now, double jitter01);

  uint32_t total_failures() const { return total_; }
  const RestartPolicy& policy() const { return policy_; }

 private:
  RestartPolicy policy_;
  std::deque<clock::time_point> failures_;  // within the window
  uint32_t total_ = 0;
};

}  // namespace sb
