#include "channels/telegram/outbound.hpp"

#include <charconv>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/json.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::telegram {
namespace {

constexpr int kMaxPollTimeout = 50;

Error bad(std::string message) {
  return make_error("channel.bad_value", std::move(message));
}

std::optional<std::int64_t> to_int64(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.front() == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

OutboundRequest base_request(const Secret& token, std::string_view method) {
  OutboundRequest r;
  r.method = "POST";
  r.path = "/bot" + token.reveal() + "/" + std::string(method);
  r.log_path = "/bot" + std::string(Secret::redacted) + "/" + std::string(method);
  r.headers = {{"Content-Type", "application/json"}};
  return r;
}

}  // namespace

bool valid_bot_token(std::string_view token) {
  std::size_t colon = token.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 18) return false;
  return messaging::all_digits(token.substr(0, colon)) && messaging::token_chars(token.substr(colon + 1), "_-", 256);
}

Result<OutboundRequest> build_send_message(const Secret& bot_token, std::string_view chat_id, std::string_view text,
                                           std::string_view reply_to_message_id) {
  if (!valid_bot_token(bot_token.reveal())) return bad("Telegram bot token is malformed");
  auto chat = to_int64(chat_id);
  if (!chat) return bad("Telegram chat id must be a 64-bit integer");
  std::optional<std::int64_t> reply_to;
  if (!reply_to_message_id.empty()) {
    reply_to = messaging::all_digits(reply_to_message_id) ? to_int64(reply_to_message_id) : std::nullopt;
    if (!reply_to) return bad("Telegram reply message id must be digits");
  }
  std::string clean = utf8::sanitize(text);
  if (clean.find_first_not_of(" \t\r\n") == std::string::npos) return bad("message text is empty");
  if (measure(clean, kSplitRule.unit) > kSplitRule.max_units)
    return bad("message text exceeds Telegram's limit; split it first");

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("chat_id");
  w.Int64(*chat);
  w.Key("text");
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
  if (reply_to) {
    w.Key("reply_parameters");
    w.StartObject();
    w.Key("message_id");
    w.Int64(*reply_to);
    w.Key("allow_sending_without_reply");
    w.Bool(true);
    w.EndObject();
  }
  w.EndObject();
  OutboundRequest r = base_request(bot_token, "sendMessage");
  r.body = buf.GetString();
  return r;
}

Result<OutboundRequest> build_get_updates(const Secret& bot_token, std::int64_t offset, int timeout_seconds) {
  if (!valid_bot_token(bot_token.reveal())) return bad("Telegram bot token is malformed");
  if (offset < 0) return bad("getUpdates offset must not be negative");
  if (timeout_seconds < 0 || timeout_seconds > kMaxPollTimeout) return bad("getUpdates timeout must be 0-50 seconds");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("offset");
  w.Int64(offset);
  w.Key("timeout");
  w.Int(timeout_seconds);
  w.Key("allowed_updates");
  w.StartArray();
  w.String("message");
  w.EndArray();
  w.EndObject();
  OutboundRequest r = base_request(bot_token, "getUpdates");
  r.body = buf.GetString();
  return r;
}

DeliveryOutcome classify_response(const HttpReply& reply) {
  rapidjson::Document doc;
  if (!json::parse(doc, reply.body).ok() || !doc.IsObject()) {
    if (reply.status >= 200 && reply.status < 300)
      return transient_outcome("bad_response", "2xx without a Bot API JSON body");
    return classify_by_status(reply);
  }
  json::Errors errors;  // a mistyped optional field is treated as absent
  json::Object root = json::Object::from(doc, "", errors);
  bool ok = root.opt_bool("ok", false);
  if (ok) {
    std::string id;
    if (auto result = root.opt_obj("result"))
      if (auto message_id = result->opt_i64("message_id")) id = std::to_string(*message_id);
    return success_outcome(std::move(id));
  }
  std::int64_t code = root.opt_i64("error_code").value_or(reply.status);
  std::string description(root.opt_str("description").value_or(""));
  std::optional<std::int64_t> retry_after, migrate_to;
  if (auto params = root.opt_obj("parameters")) {
    retry_after = params->opt_i64("retry_after");
    migrate_to = params->opt_i64("migrate_to_chat_id");
  }
  if (retry_after || code == 429) {
    std::chrono::milliseconds after = kDefaultRetryAfter;
    if (retry_after && *retry_after >= 0) {
      after = clamp_retry(static_cast<double>(*retry_after));
    } else if (auto header = find_header(reply.headers, "Retry-After")) {
      after = parse_retry_seconds(*header).value_or(kDefaultRetryAfter);
    }
    return retry_outcome(after, "rate_limited", std::move(description));
  }
  if (migrate_to) return permanent_outcome("chat_migrated", "migrate_to_chat_id=" + std::to_string(*migrate_to));
  if (code >= 500 || code == 408 || reply.status >= 500)
    return transient_outcome("error_" + std::to_string(code), std::move(description));
  return permanent_outcome("error_" + std::to_string(code), std::move(description));
}

}  // namespace sb::channels::telegram
