#include "channels/slack/socket_mode_envelope.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/json.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::channels::slack::socket_mode {
namespace {

constexpr std::size_t kMaxLabelBytes = 64;

std::string label(std::string_view text) {
  return utf8::truncate(utf8::sanitize(text), kMaxLabelBytes);
}

// Nesting depth of the brackets outside strings, stopping as soon as it passes `limit`.
// Checked on the text, before parsing, because everything after the (iterative) parse
// that walks the tree recurses.
bool nests_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if (c == '}' || c == ']')
      --depth;
  }
  return false;
}

DisconnectReason disconnect_reason(std::string_view text) {
  if (text == "warning") return DisconnectReason::warning;
  if (text == "refresh_requested") return DisconnectReason::refresh_requested;
  if (text == "too_many_websockets") return DisconnectReason::too_many_websockets;
  if (text == "link_disabled") return DisconnectReason::link_disabled;
  return DisconnectReason::unknown;
}

EnvelopeType envelope_type(std::string_view text) {
  if (text == "events_api") return EnvelopeType::events_api;
  if (text == "slash_commands") return EnvelopeType::slash_commands;
  if (text == "interactive") return EnvelopeType::interactive;
  return EnvelopeType::unknown;
}

std::string compact(const json::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  std::string out(buffer.GetString(), buffer.GetSize());
  // A JSON escape can decode to a lone surrogate, which the writer copies out as invalid
  // UTF-8 that parse_event would then refuse as a whole. Invalid bytes can only sit inside
  // strings (the writer's own syntax is ASCII), so replacing them keeps the JSON valid and
  // the message readable, as sanitize_strings does on the webhook path.
  if (!utf8::is_valid(out)) out = utf8::sanitize(out);
  return out;
}

Status check_envelope_id(std::string_view id) {
  if (id.empty()) return make_error("channel.bad_value", "field 'envelope_id' is empty");
  if (id.size() > kMaxEnvelopeIdBytes)
    return make_error("channel.bad_value",
                      "field 'envelope_id' is longer than " + std::to_string(kMaxEnvelopeIdBytes) + " bytes");
  if (!utf8::is_valid(id)) return make_error("channel.bad_value", "field 'envelope_id' is not valid UTF-8");
  for (unsigned char c : id)
    if (c < 0x20 || c == 0x7f)
      return make_error("channel.bad_value", "field 'envelope_id' contains a control character");
  return {};
}

}  // namespace

std::string_view to_string(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::warning: return "warning";
    case DisconnectReason::refresh_requested: return "refresh_requested";
    case DisconnectReason::too_many_websockets: return "too_many_websockets";
    case DisconnectReason::link_disabled: return "link_disabled";
    case DisconnectReason::unknown: break;
  }
  return "unknown";
}

std::string_view to_string(EnvelopeType type) {
  switch (type) {
    case EnvelopeType::events_api: return "events_api";
    case EnvelopeType::slash_commands: return "slash_commands";
    case EnvelopeType::interactive: return "interactive";
    case EnvelopeType::unknown: break;
  }
  return "unknown";
}

Result<Frame> parse_frame(std::string_view text) {
  if (text.size() > kMaxFrameBytes)
    return make_error("channel.bad_value", "frame of " + std::to_string(text.size()) + " bytes is larger than " +
                                               std::to_string(kMaxFrameBytes));
  if (nests_deeper_than(text, kMaxNesting))
    return make_error("channel.bad_value", "frame nests deeper than " + std::to_string(kMaxNesting) + " levels");
  rapidjson::Document doc;
  if (auto st = json::parse(doc, text); !st) return st.error();
  json::Errors errors;
  json::Object root = json::Object::from(doc, "", errors);
  std::string_view type = root.str("type");
  if (errors.failed()) return *errors.first;

  if (type == "hello") {
    Hello hello;
    hello.num_connections = root.opt_i64("num_connections");
    if (auto debug = root.opt_obj("debug_info"))
      hello.approximate_connection_time_s = debug->opt_i64("approximate_connection_time");
    if (errors.failed()) return *errors.first;
    return Frame{hello};
  }
  if (type == "disconnect") {
    auto reason = root.opt_str("reason");
    if (errors.failed()) return *errors.first;
    Disconnect d;
    d.reason = disconnect_reason(reason.value_or(""));
    d.reason_text = label(reason.value_or(""));
    return Frame{std::move(d)};
  }

  Envelope e;
  e.type = envelope_type(type);
  e.type_text = label(type);
  auto id = root.opt_str("envelope_id");
  if (errors.failed()) return *errors.first;
  if (!id) {
    if (e.type == EnvelopeType::unknown) return Frame{Control{std::move(e.type_text)}};
    return make_error("channel.missing_field", "field 'envelope_id' is required");
  }
  if (auto st = check_envelope_id(*id); !st) return st.error();
  e.envelope_id = *id;
  e.accepts_response_payload = root.opt_bool("accepts_response_payload", false);
  e.retry_attempt = root.opt_i64("retry_attempt").value_or(0);
  e.retry_reason = label(root.opt_str("retry_reason").value_or(""));
  const json::Value* payload = root.raw("payload");
  if (errors.failed()) return *errors.first;
  if (e.retry_attempt < 0) return make_error("channel.bad_value", "field 'retry_attempt' is negative");
  if (e.type != EnvelopeType::unknown) {
    if (!payload) return make_error("channel.missing_field", "field 'payload' is required");
    if (!payload->IsObject()) return make_error("channel.wrong_type", "field 'payload' must be an object");
  }
  if (payload) e.payload_json = compact(*payload);
  return Frame{std::move(e)};
}

std::string ack_frame(std::string_view envelope_id) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("envelope_id");
  writer.String(envelope_id.data(), static_cast<rapidjson::SizeType>(envelope_id.size()));
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sb::channels::slack::socket_mode
