#pragma once
// Slack Socket Mode frames: what one WebSocket text message from Slack says (hello,
// disconnect, or an envelope to acknowledge), and the acknowledgement we send back.
// Pure parsing; the connection manager (socket_mode_session.hpp) decides what to do.
// Errors: channel.malformed_json, channel.missing_field, channel.wrong_type,
// channel.bad_value (too large, nested too deeply, an unusable envelope_id).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "runtime/core/result.hpp"

namespace sb::channels::slack::socket_mode {

// Slack's real frames are far smaller (a message's text is capped at 40,000 characters);
// the limit only bounds what a hostile or broken peer can make us parse and copy.
inline constexpr std::size_t kMaxFrameBytes = 4 * 1024 * 1024;
// Envelope ids are UUIDs (36 bytes); anything much longer is not one.
inline constexpr std::size_t kMaxEnvelopeIdBytes = 256;
// Serialising the payload again recurses once per level, so nesting is bounded; Slack's
// deepest real payloads (rich_text blocks) stay below 16.
inline constexpr int kMaxNesting = 128;

enum class DisconnectReason : std::uint8_t { warning, refresh_requested, too_many_websockets, link_disabled, unknown };
std::string_view to_string(DisconnectReason reason);

enum class EnvelopeType : std::uint8_t { events_api, slash_commands, interactive, unknown };
std::string_view to_string(EnvelopeType type);

// {"type":"hello","num_connections":1,"debug_info":{"approximate_connection_time":3600},...}
struct Hello {
  std::optional<std::int64_t> num_connections;
  // Seconds until Slack expects to refresh the connection (debug_info); a hint only.
  std::optional<std::int64_t> approximate_connection_time_s;
};

// {"type":"disconnect","reason":"warning",...}. A missing or new reason is `unknown`.
struct Disconnect {
  DisconnectReason reason = DisconnectReason::unknown;
  std::string reason_text;  // as sent, at most 64 bytes (for logs of unknown reasons)
};

// Everything with an envelope_id: it must be acknowledged with that id.
struct Envelope {
  EnvelopeType type = EnvelopeType::unknown;
  std::string type_text;  // as sent, at most 64 bytes (for logs of unknown types)
  std::string envelope_id;
  bool accepts_response_payload = false;
  std::int64_t retry_attempt = 0;  // events_api: 0 first delivery, 1..3 Slack's retries
  std::string retry_reason;        // events_api: e.g. "timeout"; "" on a first delivery
  // The payload re-serialised as compact JSON ("" when absent, which only an unknown type
  // may be). For events_api it is an Events API event_callback: feed it to parse_event.
  std::string payload_json;
};

// A frame of a type we do not know and without an envelope_id: nothing to acknowledge.
struct Control {
  std::string type_text;  // at most 64 bytes
};

using Frame = std::variant<Hello, Disconnect, Envelope, Control>;

// One text frame. events_api, slash_commands and interactive need an envelope_id and an
// object payload; an unknown type is an Envelope when it carries an envelope_id (so it
// can be acknowledged) and a Control otherwise.
Result<Frame> parse_frame(std::string_view text);

// {"envelope_id":"..."}, escaped as JSON requires.
std::string ack_frame(std::string_view envelope_id);

}  // namespace sb::channels::slack::socket_mode
