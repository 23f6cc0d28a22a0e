#pragma once
// Readable GoogleTest output for the channel value types.
#include <ostream>

#include "runtime/messaging/inbound.hpp"

namespace sb::channels {

inline void PrintTo(const messaging::InboundMessage& m, std::ostream* os) {
  *os << "{channel=" << messaging::channel_name(m.channel) << " bot=" << m.bot << " jid=" << m.chat_jid
      << " sender=" << m.sender_id << " name=" << m.sender_name << " text=\"" << m.text
      << "\" reply_ref=" << m.reply_ref << " message_ref=" << m.message_ref << " id=" << m.platform_message_id
      << " ts=" << m.timestamp_ms << " group=" << m.is_group << " mentions=" << m.mentions_bot << "}";
}

inline void PrintTo(const messaging::IgnoredItem& i, std::ostream* os) {
  *os << "{id=" << i.platform_id << " reason=" << i.reason << "}";
}

}  // namespace sb::channels
