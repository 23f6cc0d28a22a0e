#pragma once
// messaging::InboundMessage (pure protocol type) -> actors::inbound_message (what the
// ingest actor stores and the router receives).
#include <vector>

#include "actors/protocol.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::ingress {

actors::inbound_message to_inbound(messaging::InboundMessage message);
std::vector<actors::inbound_message> to_inbound(std::vector<messaging::InboundMessage> messages);

}  // namespace sb::channels::ingress
