#include "channels/slack/outbound.hpp"

#include <algorithm>
#include <array>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "channels/slack/parse.hpp"
#include "runtime/core/json.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::slack {
namespace {

Error bad(std::string message) {
  return make_error("channel.bad_value", std::move(message));
}

constexpr std::array<std::string_view, 4> kTransientErrors{"internal_error", "fatal_error", "service_unavailable",
                                                           "request_timeout"};

}  // namespace

std::string escape_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

Result<OutboundRequest> build_post_message(const Secret& bot_token, std::string_view channel, std::string_view text,
                                           std::string_view thread_ts, std::string_view dedupe_key) {
  if (!messaging::header_safe(bot_token.reveal())) return bad("Slack bot token is empty or not printable ASCII");
  if (!messaging::token_chars(channel, "_-", 64)) return bad("Slack channel must be a channel id");
  if (!thread_ts.empty() && !ts_to_unix_ms(thread_ts)) return bad("thread_ts is not a Slack timestamp");
  std::string clean = utf8::sanitize(text);
  if (clean.find_first_not_of(" \t\r\n") == std::string::npos) return bad("message text is empty");
  if (measure(clean, kSplitRule.unit) > kSplitRule.max_units)
    return bad("message text exceeds Slack's limit; split it first");
  std::string escaped = escape_text(clean);

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("channel");
  w.String(channel.data(), static_cast<rapidjson::SizeType>(channel.size()));
  w.Key("text");
  w.String(escaped.data(), static_cast<rapidjson::SizeType>(escaped.size()));
  if (!thread_ts.empty()) {
    w.Key("thread_ts");
    w.String(thread_ts.data(), static_cast<rapidjson::SizeType>(thread_ts.size()));
  }
  if (!dedupe_key.empty()) {
    if (!messaging::token_chars(dedupe_key, "_-:", 128)) return bad("dedupe key has unexpected characters");
    w.Key("metadata");
    w.StartObject();
    w.Key("event_type");
    w.String(kMetadataEventType.data(), static_cast<rapidjson::SizeType>(kMetadataEventType.size()));
    w.Key("event_payload");
    w.StartObject();
    w.Key("outbox_id");
    w.String(dedupe_key.data(), static_cast<rapidjson::SizeType>(dedupe_key.size()));
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();

  OutboundRequest r;
  r.method = "POST";
  r.path = r.log_path = "/api/chat.postMessage";
  r.headers = {{"Authorization", "Bearer " + bot_token.reveal()}, {"Content-Type", "application/json; charset=utf-8"}};
  r.body = buf.GetString();
  return r;
}

DeliveryOutcome classify_response(const HttpReply& reply) {
  if (reply.status != 200) return classify_by_status(reply);
  rapidjson::Document doc;
  if (!json::parse(doc, reply.body) || !doc.IsObject())
    return transient_outcome("bad_response", "200 without a Slack JSON body");
  auto ok = doc.FindMember("ok");
  if (ok == doc.MemberEnd() || !ok->value.IsBool()) return transient_outcome("bad_response", "200 without \"ok\"");
  if (ok->value.GetBool()) {
    auto ts = doc.FindMember("ts");
    return success_outcome(ts != doc.MemberEnd() && ts->value.IsString() ? std::string(json::view(ts->value))
                                                                         : std::string());
  }
  auto err = doc.FindMember("error");
  std::string code = err != doc.MemberEnd() && err->value.IsString() ? std::string(json::view(err->value))
                                                                     : std::string("unknown_error");
  if (code == "ratelimited") {
    auto after = find_header(reply.headers, "Retry-After");
    auto parsed = after ? parse_retry_seconds(*after) : std::nullopt;
    return retry_outcome(parsed.value_or(kDefaultRetryAfter), "rate_limited", code);
  }
  for (std::string_view t : kTransientErrors)
    if (code == t) return transient_outcome(code);
  return permanent_outcome(code);
}

Result<OutboundRequest> build_posted_lookup(const Secret& bot_token, std::string_view channel,
                                            std::string_view thread_ts, int64_t oldest_ms) {
  if (!messaging::header_safe(bot_token.reveal())) return bad("Slack bot token is empty or not printable ASCII");
  if (!messaging::token_chars(channel, "_-", 64)) return bad("Slack channel must be a channel id");
  if (!thread_ts.empty() && !ts_to_unix_ms(thread_ts)) return bad("thread_ts is not a Slack timestamp");
  // A second early: Slack's ts and the broker's clock need not agree to the millisecond.
  const int64_t oldest = std::max<int64_t>(0, oldest_ms / 1000 - 1);
  OutboundRequest r;
  r.method = "GET";
  const std::string query = "?channel=" + std::string(channel) + "&oldest=" + std::to_string(oldest) +
                            ".000000&inclusive=true&limit=200&include_all_metadata=true";
  r.path = thread_ts.empty() ? "/api/conversations.history" + query
                             : "/api/conversations.replies" + query + "&ts=" + std::string(thread_ts);
  r.log_path = thread_ts.empty() ? "/api/conversations.history" : "/api/conversations.replies";
  r.headers = {{"Authorization", "Bearer " + bot_token.reveal()}};
  return r;
}

Result<std::optional<std::string>> find_posted(const HttpReply& reply, std::string_view dedupe_key) {
  if (reply.status != 200) return make_error("channel.lookup_failed", "HTTP " + std::to_string(reply.status));
  rapidjson::Document doc;
  if (!json::parse(doc, reply.body) || !doc.IsObject()) return make_error("channel.lookup_failed", "not Slack JSON");
  auto ok = doc.FindMember("ok");
  if (ok == doc.MemberEnd() || !ok->value.IsBool() || !ok->value.GetBool()) {
    auto err = doc.FindMember("error");
    return make_error("channel.lookup_failed", err != doc.MemberEnd() && err->value.IsString()
                                                   ? std::string(json::view(err->value))
                                                   : std::string("not ok"));
  }
  auto messages = doc.FindMember("messages");
  if (messages == doc.MemberEnd() || !messages->value.IsArray())
    return make_error("channel.lookup_failed", "no messages array");
  for (const auto& m : messages->value.GetArray()) {
    if (!m.IsObject()) continue;
    auto meta = m.FindMember("metadata");
    if (meta == m.MemberEnd() || !meta->value.IsObject()) continue;
    auto type = meta->value.FindMember("event_type");
    auto payload = meta->value.FindMember("event_payload");
    if (type == meta->value.MemberEnd() || !type->value.IsString() || json::view(type->value) != kMetadataEventType ||
        payload == meta->value.MemberEnd() || !payload->value.IsObject())
      continue;
    auto id = payload->value.FindMember("outbox_id");
    if (id == payload->value.MemberEnd() || !id->value.IsString() || json::view(id->value) != dedupe_key) continue;
    auto ts = m.FindMember("ts");
    return std::optional<std::string>(ts != m.MemberEnd() && ts->value.IsString() ? std::string(json::view(ts->value))
                                                                                  : std::string());
  }
  return std::optional<std::string>();
}

}  // namespace sb::channels::slack
