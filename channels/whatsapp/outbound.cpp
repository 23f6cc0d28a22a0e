#include "channels/whatsapp/outbound.hpp"

#include <algorithm>
#include <array>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/json.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::whatsapp {
namespace {

constexpr std::array<std::int64_t, 5> kRateLimitCodes{4, 80007, 130429, 131048, 131056};
constexpr std::array<std::int64_t, 4> kTransientCodes{1, 2, 131000, 131016};
constexpr std::size_t kMaxMessageIdBytes = 256;

Error bad(std::string message) {
  return make_error("channel.bad_value", std::move(message));
}

// "v21.0", "v19": the Graph API version segment of the path.
bool api_version_ok(std::string_view v) {
  if (v.size() < 2 || v.size() > 16 || v[0] != 'v') return false;
  v.remove_prefix(1);
  std::size_t dot = v.find('.');
  if (dot == std::string_view::npos) return messaging::all_digits(v);
  return messaging::all_digits(v.substr(0, dot)) && messaging::all_digits(v.substr(dot + 1));
}

bool contains(const auto& list, std::int64_t code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

void write(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

Result<OutboundRequest> build_text_message(const Secret& access_token, std::string_view api_version,
                                           std::string_view phone_number_id, std::string_view to, std::string_view text,
                                           std::string_view reply_to_message_id) {
  if (!messaging::header_safe(access_token.reveal()))
    return bad("WhatsApp access token is empty or not printable ASCII");
  if (!api_version_ok(api_version)) return bad("WhatsApp API version must look like v21.0");
  if (!messaging::all_digits(phone_number_id)) return bad("WhatsApp phone_number_id must be digits");
  if (!messaging::all_digits(to) || to.size() > 20) return bad("WhatsApp recipient must be a phone number (digits)");
  if (reply_to_message_id.size() > kMaxMessageIdBytes || !utf8::is_valid(reply_to_message_id))
    return bad("WhatsApp reply message id is malformed");
  std::string clean = utf8::sanitize(text);
  if (clean.find_first_not_of(" \t\r\n") == std::string::npos) return bad("message text is empty");
  if (measure(clean, kSplitRule.unit) > kSplitRule.max_units)
    return bad("message text exceeds WhatsApp's limit; split it first");

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("messaging_product");
  w.String("whatsapp");
  w.Key("recipient_type");
  w.String("individual");
  w.Key("to");
  write(w, to);
  w.Key("type");
  w.String("text");
  w.Key("text");
  w.StartObject();
  w.Key("preview_url");
  w.Bool(false);
  w.Key("body");
  write(w, clean);
  w.EndObject();
  if (!reply_to_message_id.empty()) {
    w.Key("context");
    w.StartObject();
    w.Key("message_id");
    write(w, reply_to_message_id);
    w.EndObject();
  }
  w.EndObject();

  OutboundRequest r;
  r.method = "POST";
  r.path = r.log_path = "/" + std::string(api_version) + "/" + std::string(phone_number_id) + "/messages";
  r.headers = {{"Authorization", "Bearer " + access_token.reveal()}, {"Content-Type", "application/json"}};
  r.body = buf.GetString();
  return r;
}

DeliveryOutcome classify_response(const HttpReply& reply) {
  rapidjson::Document doc;
  bool json_body = json::parse(doc, reply.body).ok() && doc.IsObject();
  if (reply.status >= 200 && reply.status < 300) {
    std::string id;
    if (json_body) {
      auto messages = doc.FindMember("messages");
      if (messages != doc.MemberEnd() && messages->value.IsArray() && !messages->value.Empty() &&
          messages->value[0].IsObject()) {
        auto it = messages->value[0].FindMember("id");
        if (it != messages->value[0].MemberEnd() && it->value.IsString()) id = json::view(it->value);
      }
    }
    return success_outcome(std::move(id));
  }

  std::optional<std::int64_t> code;
  std::string detail;
  if (json_body) {
    auto error = doc.FindMember("error");
    if (error != doc.MemberEnd() && error->value.IsObject()) {
      auto c = error->value.FindMember("code");
      if (c != error->value.MemberEnd() && c->value.IsInt64()) code = c->value.GetInt64();
      auto m = error->value.FindMember("message");
      if (m != error->value.MemberEnd() && m->value.IsString()) detail = json::view(m->value);
    }
  }
  if (reply.status == 429 || (code && contains(kRateLimitCodes, *code))) {
    auto after = find_header(reply.headers, "Retry-After");
    auto parsed = after ? parse_retry_seconds(*after) : std::nullopt;
    return retry_outcome(parsed.value_or(kRateLimitBackoff), "rate_limited", std::move(detail));
  }
  if (!code) {
    DeliveryOutcome o = classify_by_status(reply);
    o.detail = std::move(detail);
    return o;
  }
  std::string reason = "error_" + std::to_string(*code);
  if (contains(kTransientCodes, *code) || reply.status == 408 || reply.status >= 500)
    return transient_outcome(std::move(reason), std::move(detail));
  return permanent_outcome(std::move(reason), std::move(detail));
}

}  // namespace sb::channels::whatsapp
