#pragma once
// Telegram updates -> InboundMessage, from a webhook delivery (one update) or a
// getUpdates answer (many). Verify webhooks first (verify.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::telegram {

struct BotIdentity {
  std::string name;              // configured bot name
  std::int64_t bot_user_id = 0;  // the bot's own user id (the token's prefix)
  std::string username;          // without '@'; used to recognise mentions
};

// The numeric prefix of a bot token ("123456:ABC..." -> 123456).
std::optional<std::int64_t> bot_id_from_token(std::string_view token);

// `message` with text -> one message. Ignored (with reason): edited_message,
// edited_channel_post, any other update kind ("update:channel_post"), senders that are
// bots ("bot_sender"), messages without a sender ("no_sender"), without text
// ("non_text") or with blank text ("empty_text").
// mentions_bot: private chat, "@username" mention, "/cmd" or "/cmd@username" command,
// text_mention of the bot, or a reply to one of the bot's messages.
// Errors: channel.malformed_json / missing_field / wrong_type / bad_value.
Result<messaging::ParsedDelivery> parse_update(const BotIdentity& bot, std::string_view body);

struct PolledUpdates {
  messaging::ParsedDelivery delivery;
  // last update_id + 1: the offset of the next getUpdates (nullopt: no updates).
  std::optional<std::int64_t> next_offset;
};

// {"ok":true,"result":[update...]}. A malformed update is ignored ("invalid: <why>")
// so that polling moves past it. {"ok":false} -> error "telegram.api".
Result<PolledUpdates> parse_get_updates(const BotIdentity& bot, std::string_view body);

}  // namespace sb::channels::telegram
