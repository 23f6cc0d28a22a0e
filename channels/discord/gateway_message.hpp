#pragma once
// Gateway MESSAGE_CREATE dispatch -> InboundMessage (REFERENCE-websockets §1.11). The
// interactions webhook path is parse.hpp; this is the bot-mode (WebSocket) path.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "runtime/core/result.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::discord {

// Who the gateway session is: the configured bot name and, from READY, the bot user.
struct GatewayIdentity {
  std::string name;      // configured bot name (InboundMessage::bot)
  std::string user_id;   // the bot's own user id; "" until READY (or a persisted session)
  std::string username;  // the bot user's name, for rendering mentions of it

  bool operator==(const GatewayIdentity&) const = default;
};

// One MESSAGE_CREATE `d` object -> at most one message:
//   chat_jid "dc:{channel_id}", sender_id author.id, sender_name member.nick >
//   author.global_name > author.username, message_ref = platform_message_id = id (the
//   dedupe key: a resume replays events), reply_ref "" (replies go to the channel through
//   REST), timestamp_ms from `timestamp` (ISO 8601; the id's snowflake time when it does
//   not parse), is_group = guild_id present.
//   mentions_bot: a DM (no guild_id), the bot's id in mentions[].id or as <@id> / <@!id>
//   in the content, or a reply (type 19) to one of the bot's messages.
//   text: the content, with each mention of the bot (<@id>, <@!id>) written as
//   "@{username}" (the configured name if the username is unknown), the way a Telegram
//   text reads "@botname": trigger words and agents see who was addressed; mentions of
//   other users stay in Discord's <@id> form.
// Ignored (ParsedDelivery::ignored, platform_id = the message id): author.bot
// "bot_sender", webhook_id "webhook_sender", the bot itself "own_message", empty content
// "empty_content" (without the MESSAGE_CONTENT intent Discord blanks guild messages that
// do not mention the bot), types other than 0 (default) and 19 (reply) "type:N".
// Errors: channel.malformed_json (text form), missing_field, wrong_type, bad_value (an id
// that is not a snowflake). Strings are sanitised (sanitize_strings).
Result<messaging::ParsedDelivery> parse_message_create(const GatewayIdentity& bot, const rapidjson::Value& d);
Result<messaging::ParsedDelivery> parse_message_create(const GatewayIdentity& bot, std::string_view d_json);

// Unix ms of an ISO 8601 timestamp as Discord writes them ("2017-07-11T17:27:07.299000+00:00",
// also "Z", any fraction length, other offsets); nullopt if it does not parse.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace sb::channels::discord
