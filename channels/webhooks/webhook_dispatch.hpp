#pragma once
// What the webhook listener does with one request, decided without I/O:
//   /webhooks/{platform}/{bot} -> the configured bot (else 404)
//   -> ChannelBot::verify (reject: its status; respond: the handshake answer)
//   -> ChannelBot::parse (error: 400 naming the problem)
//   -> deliver the messages (acked once durable) or, with only ignored items, ack at once.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channels/bot/channel_bot.hpp"
#include "runtime/http/message.hpp"

namespace sb::channels::webhooks {

constexpr std::string_view kWebhookPrefix = "/webhooks/";

// "/webhooks/slack/main" for bot "slack/main".
std::string webhook_path(const ChannelBot& bot);

// The bots reachable over webhooks, by id ("slack/main"). Polling bots are left out:
// nothing may be delivered to them.
class BotTable {
 public:
  explicit BotTable(const std::vector<std::shared_ptr<const ChannelBot>>& bots);
  const ChannelBot* find(std::string_view platform, std::string_view name) const;
  size_t size() const { return bots_.size(); }

 private:
  std::map<std::string, std::shared_ptr<const ChannelBot>, std::less<>> bots_;
};

struct WebhookDecision {
  enum class Kind {
    respond,  // answer `response` now (handshake, ignored-only delivery, 400, 404, 405)
    reject,   // verification failed: answer `response` now; count and audit `reason`
    deliver,  // store `messages` durably, then answer 200 with `ack_body`
  };
  Kind kind = Kind::respond;
  // Labels for metrics and logs. For a path that names no configured bot they are
  // "unknown"/"" so that probes cannot grow the label set.
  std::string platform;
  std::string bot;     // configured name
  std::string result;  // handshake | ignored | malformed | not_found | rejected | accepted
  std::string reason;  // rejects and 4xx: a stable code, e.g. "bad_signature"
  http::Response response;
  std::vector<messaging::InboundMessage> messages;
  std::string ack_body;  // deliver: body of the 2xx ("" = empty)
};

// Pure: no I/O, no clock of its own.
WebhookDecision decide(const BotTable& bots, const http::Request& request, std::chrono::system_clock::time_point now);

// The 2xx for a stored delivery: JSON ack body when the platform wants one, else empty.
http::Response ack_response(const std::string& ack_body);

}  // namespace sb::channels::webhooks
