#include "runtime/messaging/stored_message.hpp"

namespace sb::messaging {

StoredMessage to_stored(InboundMessage m) {
  StoredMessage out;
  out.channel = std::string(channel_name(m.channel));
  out.bot = std::move(m.bot);
  out.chat_jid = std::move(m.chat_jid);
  out.sender_id = std::move(m.sender_id);
  out.sender_name = std::move(m.sender_name);
  out.text = std::move(m.text);
  out.reply_ref = std::move(m.reply_ref);
  out.message_ref = std::move(m.message_ref);
  out.platform_message_id = std::move(m.platform_message_id);
  out.timestamp_ms = m.timestamp_ms;
  out.is_group = m.is_group;
  out.mentions_bot = m.mentions_bot;
  return out;
}

std::vector<StoredMessage> to_stored(std::vector<InboundMessage> messages) {
  std::vector<StoredMessage> out;
  out.reserve(messages.size());
  for (auto& m : messages) out.push_back(to_stored(std::move(m)));
  return out;
}

}  // namespace sb::messaging
