#pragma once
// Validly signed Slack Events API deliveries for the ingress benchmark: raw HTTP/1.1
// requests (keep-alive), each an `event_callback` message with its own event_id, signed
// v0 (HMAC-SHA256 over "v0:" + timestamp + ":" + body) with OpenSSL, independently of
// the broker's own signer. Pure: no I/O.
#include <cstdint>
#include <string>
#include <string_view>

namespace sb::bench {

struct SlackRequestSpec {
  std::string host;  // Host header value ("127.0.0.1:8080")
  std::string path;  // "/webhooks/slack/bench"
  std::string signing_secret;
  int64_t timestamp = 0;  // unix seconds, X-Slack-Request-Timestamp (must be fresh)
  std::string id_prefix;  // makes event_ids unique across phases ("w1-", "ol-")
};

// The raw request for message number `n`: event_id "Ev<prefix><n>", event.ts unique too.
std::string slack_event_request(const SlackRequestSpec& spec, uint64_t n);

// "v0=<64 lowercase hex>".
std::string slack_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

}  // namespace sb::bench
