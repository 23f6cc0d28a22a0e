#pragma once
// WhatsApp Cloud API webhook deliveries -> InboundMessage. Verify first (verify.hpp).
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::whatsapp {

struct BotIdentity {
  std::string name;             // configured bot name
  std::string phone_number_id;  // when set, changes for other business numbers are ignored
};

// Every entry[].changes[] with field "messages" is read; one delivery can carry several
// messages. Ignored (with reason): other objects ("object:page") and fields
// ("field:account_update"), changes for another number ("foreign_phone_number"),
// statuses ("status:delivered"), non-text messages ("type:image"), empty text.
// Errors (400): malformed JSON, and an envelope without object/entry or with wrong types.
// A single malformed message inside a valid envelope is ignored ("invalid: <why>")
// rather than failing the delivery: Meta would redeliver the whole batch for days.
Result<messaging::ParsedDelivery> parse_delivery(const BotIdentity& bot, std::string_view body);

}  // namespace sb::channels::whatsapp
