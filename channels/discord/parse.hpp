#pragma once
// Discord interactions -> InboundMessage. Verify first (verify.hpp); this only reads.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::discord {

struct BotIdentity {
  std::string name;            // configured bot name
  std::string application_id;  // when set, interactions for another application are refused
};

inline constexpr std::string_view kDeferredAck = R"({"type":5})";

// type 2 APPLICATION_COMMAND -> one message, ack_body {"type":5} (deferred: the answer
// follows later via build_followup). The text is the command's option values in order,
// subcommand names included, joined by spaces; a command without options is "/name".
// type 1 PING -> ignored "ping", ack {"type":1}; 3 and 5 (components, modals) -> ignored,
// ack {"type":6}; 4 (autocomplete) -> ignored, ack with no choices.
// Errors: channel.malformed_json / missing_field / wrong_type / bad_value (unknown type,
// id not a snowflake, foreign application_id).
Result<messaging::ParsedDelivery> parse_interaction(const BotIdentity& bot, std::string_view body);

// Unix ms encoded in a snowflake (Discord epoch 2015-01-01); nullopt if not a snowflake.
std::optional<std::int64_t> snowflake_unix_ms(std::string_view id);

}  // namespace sb::channels::discord
