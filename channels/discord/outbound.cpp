#include "channels/discord/outbound.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/json.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::discord {
namespace {

// Discord requires a User-Agent of this form on every API request.
constexpr const char* kUserAgent = "DiscordBot (squadbox, 0.1.0)";
constexpr std::size_t kMaxInteractionToken = 1024;
constexpr std::size_t kMaxNonce = 25;  // Discord's limit

Error bad(std::string message) {
  return make_error("channel.bad_value", std::move(message));
}

Result<std::string> content_body(std::string_view content, std::string_view nonce = {}) {
  std::string clean = utf8::sanitize(content);
  if (clean.find_first_not_of(" \t\r\n") == std::string::npos) return bad("message text is empty");
  if (measure(clean, kSplitRule.unit) > kSplitRule.max_units)
    return bad("message text exceeds Discord's limit; split it first");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("content");
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
  w.Key("allowed_mentions");
  w.StartObject();
  w.Key("parse");
  w.StartArray();
  w.EndArray();
  w.EndObject();
  if (!nonce.empty()) {
    // Discord keeps the first message with this nonce for a few minutes and answers a
    // repeat with it instead of posting again.
    w.Key("nonce");
    w.String(nonce.data(), static_cast<rapidjson::SizeType>(nonce.size()));
    w.Key("enforce_nonce");
    w.Bool(true);
  }
  w.EndObject();
  return std::string(buf.GetString());
}

bool is_true(std::optional<std::string_view> v) {
  return v && (*v == "true" || *v == "True");
}

}  // namespace

Result<OutboundRequest> build_channel_message(const Secret& bot_token, std::string_view channel_id,
                                              std::string_view content, std::string_view nonce) {
  if (!messaging::header_safe(bot_token.reveal())) return bad("Discord bot token is empty or not printable ASCII");
  if (!messaging::snowflake(channel_id)) return bad("Discord channel id must be a snowflake");
  if (!nonce.empty() && !messaging::token_chars(nonce, "_-", kMaxNonce))
    return bad("Discord nonce must be at most 25 safe characters");
  auto body = content_body(content, nonce);
  if (!body) return body.error();
  OutboundRequest r;
  r.method = "POST";
  r.path = r.log_path = "/api/v10/channels/" + std::string(channel_id) + "/messages";
  r.headers = {
      {"Authorization", "Bot " + bot_token.reveal()}, {"Content-Type", "application/json"}, {"User-Agent", kUserAgent}};
  r.body = std::move(*body);
  return r;
}

Result<OutboundRequest> build_followup(std::string_view application_id, const Secret& interaction_token,
                                       std::string_view content) {
  if (!messaging::snowflake(application_id)) return bad("Discord application id must be a snowflake");
  if (!messaging::token_chars(interaction_token.reveal(), "._-", kMaxInteractionToken))
    return bad("Discord interaction token has unexpected characters");
  auto body = content_body(content);
  if (!body) return body.error();
  OutboundRequest r;
  r.method = "POST";
  std::string prefix = "/api/v10/webhooks/" + std::string(application_id) + "/";
  r.path = prefix + interaction_token.reveal();
  r.log_path = prefix + Secret::redacted;
  r.headers = {{"Content-Type", "application/json"}, {"User-Agent", kUserAgent}};
  r.body = std::move(*body);
  return r;
}

DeliveryOutcome classify_response(const HttpReply& reply) {
  rapidjson::Document doc;
  bool json_body = json::parse(doc, reply.body).ok() && doc.IsObject();
  auto member = [&](const char* key) -> const json::Value* {
    if (!json_body) return nullptr;
    auto it = doc.FindMember(key);
    return it == doc.MemberEnd() ? nullptr : &it->value;
  };

  if (reply.status >= 200 && reply.status < 300) {
    const json::Value* id = member("id");
    DeliveryOutcome o = success_outcome(id && id->IsString() ? std::string(json::view(*id)) : "");
    if (find_header(reply.headers, "X-RateLimit-Remaining") == "0")
      if (auto reset = find_header(reply.headers, "X-RateLimit-Reset-After"))
        o.bucket_pause = parse_retry_seconds(*reset).value_or(std::chrono::milliseconds(0));
    return o;
  }
  if (reply.status == 429) {
    const json::Value* global = member("global");
    bool is_global =
        (global && global->IsBool() && global->GetBool()) || is_true(find_header(reply.headers, "X-RateLimit-Global"));
    std::string reason = is_global ? "global_rate_limited" : "rate_limited";
    const json::Value* after = member("retry_after");
    if (after && after->IsNumber() && after->GetDouble() >= 0)
      return retry_outcome(clamp_retry(after->GetDouble()), reason);
    DeliveryOutcome o = classify_by_status(reply);  // Retry-After header or the default
    o.reason = reason;
    return o;
  }
  DeliveryOutcome o = classify_by_status(reply);
  const json::Value* code = member("code");
  const json::Value* message = member("message");
  if (code && code->IsInt64()) o.detail = std::to_string(code->GetInt64());
  if (message && message->IsString()) {
    if (!o.detail.empty()) o.detail += ": ";
    o.detail += json::view(*message);
  }
  return o;
}

}  // namespace sb::channels::discord
