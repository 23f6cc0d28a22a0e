#pragma once
// Slack request signing (v0): HMAC-SHA256(signing secret, "v0:" + ts + ":" + raw body),
// sent as X-Slack-Signature: v0=<hex>, with X-Slack-Request-Timestamp within 300 s of
// now in either direction. Also answers url_verification and ssl_check, which Slack
// signs like any other request.
#include <chrono>
#include <string>
#include <string_view>

#include "channels/bot/webhook.hpp"
#include "runtime/core/crypto.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::slack {

inline constexpr std::chrono::seconds kMaxClockSkew{300};

class Verifier {
 public:
  // Error "slack.config" for an empty secret.
  static Result<Verifier> create(const Secret& signing_secret);

  // accept | respond (url_verification challenge, ssl_check) | reject:
  // 405 method_not_allowed; 401 missing_timestamp, malformed_timestamp, stale_timestamp,
  // future_timestamp, missing_signature, malformed_signature, bad_signature,
  // duplicate_header; 400 bad_challenge.
  Verdict verify(const WebhookRequest& request, std::chrono::system_clock::time_point now) const;

  // "v0=<64 hex>" for this timestamp and body (what Slack would send).
  std::string sign(std::string_view timestamp, std::string_view body) const;

 private:
  explicit Verifier(std::string_view secret) : hmac_(secret) {}
  HmacSha256 hmac_;
};

}  // namespace sb::channels::slack
