#pragma once
// Pure decisions of the Telegram poller: what one getUpdates answer means, and how long
// to wait before the next poll. No I/O, so every case is a table test.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "channels/bot/channel_bot.hpp"

namespace sb::channels::telegram {

struct PollVerdict {
  enum class Wait {
    none,     // poll again at once (a good answer)
    backoff,  // exponential from backoff_base, capped (5xx, network, malformed answer)
    slow,     // backoff_max: will not fix itself soon (401 bad token, 409 webhook set)
    fixed,    // retry_after, as the platform asked (429)
  };
  // Metrics label of squadbox_telegram_polls_total: ok | empty | network | rate_limited |
  // server_error | refused | malformed (the poller adds ingest_failed, store_failed).
  std::string result;
  std::optional<channels::ChannelBot::PolledBatch> batch;  // set for ok and empty
  Wait wait = Wait::backoff;
  std::chrono::milliseconds retry_after{0};
  std::string reason;  // stable code for the log ("http_500", "conflict", "malformed_json", ...)
  std::string detail;  // the platform's own wording, for the log; may be empty
};

// One HTTP answer to getUpdates, judged through the bot (parse_poll, classify).
PollVerdict judge_poll(const channels::ChannelBot& bot, const channels::HttpReply& reply);
// A request that never got an HTTP answer (connect, TLS, timeout, reset).
PollVerdict network_verdict(std::string_view error_code, std::string_view message);

// How long to wait after `verdict`, the `failures`-th consecutive failure (1 = first).
// backoff: base * 2^(failures-1) capped at max; slow: max; fixed: retry_after capped at
// kMaxRetryAfter and at least base; none: 0.
std::chrono::milliseconds poll_delay(PollVerdict::Wait wait, int failures, std::chrono::milliseconds retry_after,
                                     std::chrono::milliseconds base, std::chrono::milliseconds max);

}  // namespace sb::channels::telegram
