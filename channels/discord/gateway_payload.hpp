#pragma once
// The Discord Gateway's wire format (REFERENCE-websockets §1.4-1.5): reading a received
// envelope {"op","d","s","t"} and writing the three payloads a bot sends. The state
// machine (gateway_session.hpp) decides when; this only knows the bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::discord {

enum class GatewayOp : std::int64_t {
  dispatch = 0,
  heartbeat = 1,
  identify = 2,
  resume = 6,
  reconnect = 7,
  invalid_session = 9,
  hello = 10,
  heartbeat_ack = 11,
};

// Discord closes the socket with 4002 on a larger payload (gateway.mdx, "Sending Events").
inline constexpr std::size_t kMaxPayloadBytes = 4096;

// A received envelope. `op` stays an integer: an opcode this code does not know is
// logged, not an error.
struct GatewayFrame {
  std::int64_t op = 0;
  std::optional<std::int64_t> seq;  // `s`; only dispatches carry one
  std::string event;                // `t`; "" unless a dispatch
  rapidjson::Document doc;

  // `d`, or nullptr when absent or null.
  const rapidjson::Value* data() const;
};

// Errors: channel.malformed_json, channel.missing_field ("op"), channel.wrong_type.
Result<GatewayFrame> parse_frame(std::string_view text);

// The `properties` of an Identify.
struct IdentifyProperties {
  std::string os = "linux";
  std::string browser = "squadbox";
  std::string device = "squadbox";
};

// {"op":1,"d":seq|null}
std::string heartbeat_payload(std::optional<std::int64_t> seq);
// {"op":2,"d":{"token","intents","properties":{"os","browser","device"}}}
std::string identify_payload(const Secret& token, std::int64_t intents, const IdentifyProperties& properties);
// {"op":6,"d":{"token","session_id","seq"}}
std::string resume_payload(const Secret& token, std::string_view session_id, std::int64_t seq);

}  // namespace sb::channels::discord
