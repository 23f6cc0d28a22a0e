#pragma once
// Slack deliveries -> InboundMessage. Events API (JSON event_callback with a message
// event) and slash commands (form-encoded over HTTP, JSON over Socket Mode). Verify HTTP
// deliveries first (verify.hpp); this only reads.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::slack {

struct BotIdentity {
  std::string name;         // configured bot name
  std::string bot_user_id;  // our bot's user id (U...): its own messages are ignored
};

// event_callback with event.type "message" -> one message. Ignored (with reason):
// other envelopes ("envelope:app_rate_limited"), other event types
// ("event:app_mention"), any subtype ("subtype:message_changed"), bot_id ("bot_message"),
// our own user ("own_message"), empty text ("empty_text").
// Errors: channel.malformed_json, channel.missing_field, channel.wrong_type,
// channel.bad_value (e.g. a malformed ts).
Result<messaging::ParsedDelivery> parse_event(const BotIdentity& bot, std::string_view body);

// A slash command (form body). Its payload has no timestamp, so the caller passes when
// it arrived; the dedupe key is the command's trigger_id. ssl_check -> ignored.
Result<messaging::ParsedDelivery> parse_slash_command(const BotIdentity& bot, std::string_view form_body,
                                                      std::int64_t received_ms);

// The same command delivered over Socket Mode, where the payload is a JSON object with
// the form's fields as strings. Errors as for parse_event; ssl_check does not occur there.
Result<messaging::ParsedDelivery> parse_slash_command_json(const BotIdentity& bot, std::string_view payload_json,
                                                           std::int64_t received_ms);

// Slack's "1531420618.000200" -> 1531420618000 (unix ms); nullopt when malformed.
std::optional<std::int64_t> ts_to_unix_ms(std::string_view ts);

// Slack escapes &, < and > in message text; this undoes exactly that.
std::string unescape_text(std::string_view text);

}  // namespace sb::channels::slack
