#include "channels/delivery/retry_policy.hpp"

#include <algorithm>

#include "runtime/core/backoff.hpp"

namespace sb::channels::delivery {

RetryPolicy RetryPolicy::from(const config::OutboundConfig& config) {
  RetryPolicy p;
  p.max_attempts = std::max<int64_t>(1, config.max_attempts);
  p.backoff_base = std::chrono::milliseconds(std::max<int64_t>(1, config.backoff_base_ms));
  p.backoff_max = std::chrono::milliseconds(std::max<int64_t>(config.backoff_base_ms, config.backoff_max_ms));
  return p;
}

std::chrono::milliseconds backoff_delay(int64_t failed_attempts, const RetryPolicy& policy, double jitter01) {
  const auto base = std::max(policy.backoff_base, std::chrono::milliseconds(1));
  return sb::equal_jitter(sb::backoff_delay(base, failed_attempts, std::max(base, policy.backoff_max)), jitter01);
}

namespace {

std::string describe(const DeliveryOutcome& outcome) {
  return outcome.detail.empty() ? outcome.reason : outcome.reason + ": " + outcome.detail;
}

}  // namespace

RetryDecision decide(const DeliveryOutcome& outcome, const RowProgress& row, int64_t now_ms, const RetryPolicy& policy,
                     double jitter01) {
  RetryDecision d;
  d.attempts = row.attempts;
  if (outcome.bucket_pause.count() > 0) d.bot_pause_until_ms = now_ms + outcome.bucket_pause.count();
  using Kind = DeliveryOutcome::Kind;
  switch (outcome.kind) {
    case Kind::success:
      d.kind = RetryDecision::Kind::sent;
      d.attempts = row.attempts + 1;
      return d;
    case Kind::permanent:
      d.kind = RetryDecision::Kind::failed;
      d.attempts = row.attempts + 1;
      d.error = describe(outcome);
      return d;
    case Kind::retry_after: {
      const int64_t wait = std::clamp<int64_t>(outcome.retry_after.count(), 0, kMaxRetryAfter.count());
      d.bot_pause_until_ms = std::max(d.bot_pause_until_ms, now_ms + wait);
      d.error = describe(outcome);
      if (now_ms + wait > row.created_at_ms + policy.rate_limit_horizon.count()) {
        d.kind = RetryDecision::Kind::failed;
        d.error = "rate limited for too long (" + d.error + ")";
        return d;
      }
      d.kind = RetryDecision::Kind::retry;
      d.next_attempt_at_ms = now_ms + wait;
      return d;
    }
    case Kind::transient: break;
  }
  d.attempts = row.attempts + 1;
  d.error = describe(outcome);
  if (d.attempts >= policy.max_attempts) {
    d.kind = RetryDecision::Kind::failed;
    d.error = "gave up after " + std::to_string(d.attempts) + " attempts (" + d.error + ")";
    return d;
  }
  d.kind = RetryDecision::Kind::retry;
  d.next_attempt_at_ms = now_ms + backoff_delay(d.attempts, policy, jitter01).count();
  return d;
}

}  // namespace sb::channels::delivery
