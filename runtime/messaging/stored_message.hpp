#pragma once
// A platform message as the broker keeps it: an InboundMessage plus its row in
// inbound_messages. The ingest stores it, the router and the namespaces pass it on.
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/messaging/inbound.hpp"

namespace sb::messaging {

struct StoredMessage {
  int64_t id = 0;       // inbound_messages.id once stored, else 0
  std::string channel;  // "slack" | "discord" | "whatsapp" | "telegram" | "local"
  std::string bot;      // configured bot name
  std::string chat_jid;
  std::string sender_id;
  std::string sender_name;
  std::string text;
  std::string reply_ref;  // Discord: the interaction token; never log it
  std::string message_ref;
  std::string platform_message_id;  // dedupe key per (channel, bot)
  int64_t timestamp_ms = 0;
  bool is_group = false;
  bool mentions_bot = false;
  // The last inbound id of the agent turn this message was handed to, stored on its row
  // when the turn started (0 = none yet): a replay after a crash forms that turn again.
  int64_t turn_last_id = 0;
};

// A parsed platform message, not stored yet (id 0).
StoredMessage to_stored(InboundMessage message);
std::vector<StoredMessage> to_stored(std::vector<InboundMessage> messages);

}  // namespace sb::messaging
