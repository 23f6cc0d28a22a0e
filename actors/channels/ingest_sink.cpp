#include "actors/channels/ingest_sink.hpp"

namespace sb::channels::ingress {

actors::inbound_message to_inbound(messaging::InboundMessage m) {
  actors::inbound_message out;
  out.channel = std::string(messaging::channel_name(m.channel));
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

std::vector<actors::inbound_message> to_inbound(std::vector<messaging::InboundMessage> messages) {
  std::vector<actors::inbound_message> out;
  out.reserve(messages.size());
  for (auto& m : messages) out.push_back(to_inbound(std::move(m)));
  return out;
}

}  // namespace sb::channels::ingress
