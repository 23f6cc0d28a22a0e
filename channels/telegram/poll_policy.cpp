#include "channels/telegram/poll_policy.hpp"

#include <algorithm>

#include "runtime/core/backoff.hpp"

namespace sb::channels::telegram {
namespace {

using Wait = PollVerdict::Wait;

// A refusal by the Bot API ({"ok":false}, or a non-2xx answer), as the bot classifies it.
PollVerdict refused(const channels::ChannelBot& bot, const channels::HttpReply& reply) {
  const channels::DeliveryOutcome outcome = bot.classify(reply);
  PollVerdict v;
  v.reason = outcome.reason;
  v.detail = outcome.detail;
  using Kind = channels::DeliveryOutcome::Kind;
  switch (outcome.kind) {
    case Kind::retry_after:
      v.result = "rate_limited";
      v.wait = Wait::fixed;
      v.retry_after = outcome.retry_after;
      break;
    case Kind::transient:
      v.result = "server_error";
      v.wait = Wait::backoff;
      break;
    case Kind::success:  // an answer the parser refused but the classifier liked: malformed
      v.result = "malformed";
      v.wait = Wait::backoff;
      break;
    case Kind::permanent:
      // 401 (bad token), 404, 409 (a webhook is set): retrying fast cannot help.
      v.result = "refused";
      v.wait = Wait::slow;
      if (outcome.reason == "error_409" || reply.status == 409) {
        v.reason = "conflict";
        if (v.detail.empty()) v.detail = "a webhook is set for this bot: call deleteWebhook";
      }
      break;
  }
  return v;
}

}  // namespace

PollVerdict judge_poll(const channels::ChannelBot& bot, const channels::HttpReply& reply) {
  if (reply.status < 200 || reply.status >= 300) return refused(bot, reply);
  auto polled = bot.parse_poll(reply.body);
  if (!polled) {
    if (polled.error().code == "telegram.api") return refused(bot, reply);
    PollVerdict v;
    v.result = "malformed";
    v.wait = Wait::backoff;
    v.reason = polled.error().code;
    v.detail = polled.error().message;
    return v;
  }
  PollVerdict v;
  const bool empty = polled->delivery.messages.empty() && !polled->next_offset;
  v.result = empty ? "empty" : "ok";
  v.reason = "ok";
  v.wait = Wait::none;
  v.batch = std::move(*polled);
  return v;
}

PollVerdict network_verdict(std::string_view error_code, std::string_view message) {
  PollVerdict v;
  v.result = "network";
  v.wait = Wait::backoff;
  v.reason = std::string(error_code);
  v.detail = std::string(message);
  return v;
}

std::chrono::milliseconds poll_delay(PollVerdict::Wait wait, int failures, std::chrono::milliseconds retry_after,
                                     std::chrono::milliseconds base, std::chrono::milliseconds max) {
  using std::chrono::milliseconds;
  base = std::max(base, milliseconds(1));
  max = std::max(max, base);
  switch (wait) {
    case Wait::none: return milliseconds(0);
    case Wait::slow: return max;
    case Wait::fixed: return std::clamp(retry_after, base, std::max(base, channels::kMaxRetryAfter));
    case Wait::backoff: break;
  }
  return backoff_delay(base, failures, max);
}

}  // namespace sb::channels::telegram
