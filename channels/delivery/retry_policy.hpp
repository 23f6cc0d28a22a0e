#pragma once
// What happens to an outbox row after one delivery attempt: sent, failed for good, or
// tried again at a given time. Pure: the caller supplies the clock and the jitter.
#include <chrono>
#include <cstdint>
#include <string>

#include "channels/bot/outbound.hpp"
#include "runtime/config/config.hpp"

namespace sb::channels::delivery {

struct RetryPolicy {
  int64_t max_attempts = 10;  // failed attempts (5xx, network) before the row is failed
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{300000};
  // Rate-limit waits (429) do not count as attempts, but a row still waiting for its
  // platform this long after it was enqueued is failed rather than kept forever.
  std::chrono::milliseconds rate_limit_horizon{6 * 3600 * 1000};

  static RetryPolicy from(const config::OutboundConfig& config);
};

// The delay before retry number `failed_attempts` + 1: base * 2^(failed_attempts - 1),
// capped at backoff_max, then "equal jitter": half fixed, half scaled by jitter01 in
// [0, 1), so concurrent failures spread out but never retry at once.
std::chrono::milliseconds backoff_delay(int64_t failed_attempts, const RetryPolicy& policy, double jitter01);

struct RowProgress {
  int64_t attempts = 0;  // counted attempts so far (429s excluded)
  int64_t created_at_ms = 0;
};

struct RetryDecision {
  enum class Kind { sent, retry, failed };
  Kind kind = Kind::retry;
  int64_t attempts = 0;            // the row's new attempts value
  int64_t next_attempt_at_ms = 0;  // retry: when to try again
  std::string error;               // retry/failed: for last_error ("http_503: ..."); no secrets
  // The whole bot should hold its sends until then (429 or an exhausted Discord bucket);
  // 0 = no pause.
  int64_t bot_pause_until_ms = 0;
};

RetryDecision decide(const DeliveryOutcome& outcome, const RowProgress& row, int64_t now_ms, const RetryPolicy& policy,
                     double jitter01);

}  // namespace sb::channels::delivery
