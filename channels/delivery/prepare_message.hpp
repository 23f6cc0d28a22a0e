#pragma once
// Checks one reply for the outbox against its bot and splits it into the rows to store.
// Pure: the outbox actor stores the result, the admin API reports the errors.
#include <string>
#include <string_view>
#include <vector>

#include "channels/bot/channel_bot.hpp"
#include "runtime/core/result.hpp"

namespace sb::channels::delivery {

struct PreparedMessage {
  std::string channel;  // "slack"
  std::string bot;      // "main"
  std::string chat_jid;
  std::vector<std::string> pieces;  // in sending order, each within the bot's split rule
  std::string reply_to;
};

// Upper bound on one message's text; the admin API's body limit is lower anyway.
inline constexpr size_t kMaxMessageBytes = 4u << 20;

// Errors: "outbox.cannot_send" (the bot lacks the outbound credential), "outbox.bad_jid"
// (malformed, or a chat of another platform), "outbox.empty_text" (nothing to send after
// trimming), "outbox.too_long", "outbox.bad_reply_to" (control characters or too long).
Result<PreparedMessage> prepare_message(const ChannelBot& bot, std::string_view chat_jid, std::string_view text,
                                        std::string_view reply_to);

}  // namespace sb::channels::delivery
