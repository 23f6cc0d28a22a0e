#include "channels/discord/gateway_payload.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/json.hpp"

namespace sb::channels::discord {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

const rapidjson::Value* GatewayFrame::data() const {
  if (!doc.IsObject()) return nullptr;
  auto it = doc.FindMember("d");
  if (it == doc.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

Result<GatewayFrame> parse_frame(std::string_view text) {
  GatewayFrame f;
  if (auto st = json::parse(f.doc, text); !st) return st.error();
  json::Errors errors;
  json::Object root = json::Object::from(f.doc, "", errors);
  f.op = root.i64("op");
  f.seq = root.opt_i64("s");
  f.event = std::string(root.opt_str("t").value_or(""));
  if (errors.failed()) return *errors.first;
  return f;
}

std::string heartbeat_payload(std::optional<std::int64_t> seq) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("op");
  w.Int64(static_cast<std::int64_t>(GatewayOp::heartbeat));
  w.Key("d");
  if (seq)
    w.Int64(*seq);
  else
    w.Null();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string identify_payload(const Secret& token, std::int64_t intents, const IdentifyProperties& properties) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("op");
  w.Int64(static_cast<std::int64_t>(GatewayOp::identify));
  w.Key("d");
  w.StartObject();
  w.Key("token");
  write_string(w, token.reveal());
  w.Key("intents");
  w.Int64(intents);
  w.Key("properties");
  w.StartObject();
  w.Key("os");
  write_string(w, properties.os);
  w.Key("browser");
  write_string(w, properties.browser);
  w.Key("device");
  write_string(w, properties.device);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string resume_payload(const Secret& token, std::string_view session_id, std::int64_t seq) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("op");
  w.Int64(static_cast<std::int64_t>(GatewayOp::resume));
  w.Key("d");
  w.StartObject();
  w.Key("token");
  write_string(w, token.reveal());
  w.Key("session_id");
  write_string(w, session_id);
  w.Key("seq");
  w.Int64(seq);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace sb::channels::discord
