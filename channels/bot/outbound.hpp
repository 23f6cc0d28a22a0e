#pragma once
// What a sender sends (an HTTP request description) and what it makes of the answer.
// Pure values: the HTTP client, the outbox and the retry timer live elsewhere.
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "channels/bot/webhook.hpp"

namespace sb::channels {

struct OutboundRequest {
  std::string method;  // "POST"
  // Appended to the bot's configured base URL (which may carry a path prefix). May embed
  // a secret (Telegram bot token, Discord interaction token): log `log_path` instead.
  std::string path;
  std::string log_path;         // `path` with secrets replaced by [redacted]
  std::vector<Header> headers;  // may carry Authorization: never log them
  std::string body;             // JSON
};

// The HTTP answer to an OutboundRequest, as views into the client's response.
struct HttpReply {
  int status = 0;
  std::span<const Header> headers;
  std::string_view body;
};

struct DeliveryOutcome {
  enum class Kind {
    success,      // delivered
    retry_after,  // rate limited: send again after `retry_after`
    transient,    // 5xx, network or malformed answer: retry with backoff
    permanent,    // will never succeed as sent: mark failed, do not retry
  };
  Kind kind = Kind::transient;
  std::string reason;  // stable code: "ok", "rate_limited", "http_503", "invalid_auth", ...
  std::string detail;  // the platform's own wording, for the log; may be empty
  std::chrono::milliseconds retry_after{0};
  // The rate-limit bucket is exhausted for this long (Discord X-RateLimit-Remaining: 0):
  // the next request on this bot should wait, whatever the kind.
  std::chrono::milliseconds bucket_pause{0};
  std::string delivered_id;  // success: the platform's id of the sent message, if given
};

inline constexpr std::chrono::milliseconds kDefaultRetryAfter{1000};
// A platform asking for more than this is clamped: the outbox re-evaluates later anyway.
inline constexpr std::chrono::milliseconds kMaxRetryAfter{3'600'000};

// Seconds as a non-negative decimal ("3", "0.25", "1.5e1" is refused), rounded up to
// whole milliseconds and clamped to kMaxRetryAfter; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_retry_seconds(std::string_view text);
std::chrono::milliseconds clamp_retry(double seconds);

DeliveryOutcome success_outcome(std::string delivered_id);
DeliveryOutcome retry_outcome(std::chrono::milliseconds after, std::string reason, std::string detail = {});
DeliveryOutcome transient_outcome(std::string reason, std::string detail = {});
DeliveryOutcome permanent_outcome(std::string reason, std::string detail = {});
// A request that never got an HTTP answer (connect/TLS/timeout/reset).
DeliveryOutcome network_failure(std::string_view what);
// By HTTP status alone: 2xx success, 429 retry (Retry-After or the default), 408 and
// 5xx transient, everything else permanent. Platforms refine this with their bodies.
DeliveryOutcome classify_by_status(const HttpReply& reply);
std::string http_reason(int status);  // "http_503"

}  // namespace sb::channels
