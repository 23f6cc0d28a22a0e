#include "channels/delivery/prepare_message.hpp"

namespace sb::channels::delivery {

Result<PreparedMessage> prepare_message(const ChannelBot& bot, std::string_view chat_jid, std::string_view text,
                                        std::string_view reply_to) {
  if (!bot.can_send()) {
    return make_error("outbox.cannot_send", "bot " + bot.id() + " has no credential for sending");
  }
  auto jid = messaging::parse_jid(chat_jid);
  if (!jid) return make_error("outbox.bad_jid", jid.error().message);
  if (jid->kind != bot.kind()) {
    return make_error("outbox.bad_jid", "chat " + std::string(chat_jid) + " is not a " +
                                            std::string(messaging::channel_name(bot.kind())) + " chat (expected " +
                                            std::string(messaging::jid_prefix(bot.kind())) + "...)");
  }
  if (text.size() > kMaxMessageBytes) {
    return make_error("outbox.too_long", "text exceeds " + std::to_string(kMaxMessageBytes) + " bytes");
  }
  if (reply_to.size() > 1024) return make_error("outbox.bad_reply_to", "reply_to exceeds 1024 bytes");
  for (const char c : reply_to) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error("outbox.bad_reply_to", "reply_to contains control characters");
    }
  }
  PreparedMessage m;
  m.pieces = split_message(text, bot.split_rule());
  if (m.pieces.empty()) return make_error("outbox.empty_text", "text is empty");
  m.channel = std::string(messaging::channel_name(bot.kind()));
  m.bot = bot.name();
  m.chat_jid = std::string(chat_jid);
  m.reply_to = std::string(reply_to);
  return m;
}

}  // namespace sb::channels::delivery
