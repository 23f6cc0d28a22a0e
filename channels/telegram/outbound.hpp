#pragma once
// Telegram Bot API sendMessage and getUpdates requests, and response classification.
#include <cstdint>
#include <string_view>

#include "channels/bot/outbound.hpp"
#include "channels/bot/split.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::telegram {

// 4096 characters, counted in UTF-16 units as Telegram does (entity offsets too).
inline constexpr SplitRule kSplitRule{4096, LengthUnit::utf16_units};

// A bot token: "<digits>:<A-Z a-z 0-9 _ ->". It is part of the URL path.
bool valid_bot_token(std::string_view token);

// POST /bot<token>/sendMessage {"chat_id":<int>,"text","reply_parameters":{"message_id",
// "allow_sending_without_reply":true}?}. Plain text (no parse_mode): an agent's Markdown
// can never make the request fail. log_path redacts the token.
// Errors (channel.bad_value): malformed token, chat_id not a 64-bit integer,
// reply_to_message_id not digits, empty text, text over kSplitRule.
Result<OutboundRequest> build_send_message(const Secret& bot_token, std::string_view chat_id, std::string_view text,
                                           std::string_view reply_to_message_id = {});

// POST /bot<token>/getUpdates {"offset","timeout","allowed_updates":["message"]}
// (long polling; timeout in seconds, 0-50).
Result<OutboundRequest> build_get_updates(const Secret& bot_token, std::int64_t offset, int timeout_seconds);

// {"ok":true,"result":{"message_id"}} -> success. {"ok":false}: parameters.retry_after
// or error_code 429 -> retry_after; parameters.migrate_to_chat_id -> permanent
// "chat_migrated" (detail names the new chat id); error_code >= 500 -> transient; any
// other error_code (400 chat not found, 401, 403 blocked by the user, 404 bad token)
// -> permanent "error_<code>", detail = description. Non-JSON answers go by HTTP status
// (a 2xx without JSON is transient "bad_response").
DeliveryOutcome classify_response(const HttpReply& reply);

}  // namespace sb::channels::telegram
