#include "channels/slack/parse.hpp"

#include "channels/bot/webhook.hpp"
#include "runtime/core/json.hpp"

namespace sb::channels::slack {
namespace {

messaging::ParsedDelivery ignored(std::string id, std::string reason) {
  messaging::ParsedDelivery d;
  d.ignored.push_back({std::move(id), std::move(reason)});
  return d;
}

bool is_direct_message(std::optional<std::string_view> channel_type, std::string_view channel) {
  if (channel_type) return *channel_type == "im";
  return channel.starts_with("D");  // DM channel ids start with D
}

bool mentions(std::string_view text, std::string_view user_id) {
  if (user_id.empty()) return false;
  std::string plain = "<@" + std::string(user_id) + ">";
  std::string labelled = "<@" + std::string(user_id) + "|";
  return text.find(plain) != std::string_view::npos || text.find(labelled) != std::string_view::npos;
}

std::string profile_name(json::Object& event) {
  auto profile = event.opt_obj("user_profile");
  if (!profile) return {};
  for (const char* key : {"display_name", "real_name", "name"}) {
    auto v = profile->opt_str(key);
    if (v && !v->empty()) return std::string(*v);
  }
  return {};
}

}  // namespace

std::optional<std::int64_t> ts_to_unix_ms(std::string_view ts) {
  std::size_t dot = ts.find('.');
  std::string_view whole = ts.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : ts.substr(dot + 1);
  if (whole.empty() || whole.size() > 12) return std::nullopt;
  if (dot != std::string_view::npos && (frac.empty() || frac.size() > 9)) return std::nullopt;
  std::int64_t ms = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    ms = ms * 10 + (c - '0');
  }
  ms *= 1000;
  for (std::size_t i = 0; i < frac.size(); ++i) {
    if (frac[i] < '0' || frac[i] > '9') return std::nullopt;
    if (i == 0) ms += (frac[i] - '0') * 100;
    if (i == 1) ms += (frac[i] - '0') * 10;
    if (i == 2) ms += frac[i] - '0';
  }
  return ms;
}

std::string unescape_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      std::string_view rest = text.substr(i);
      if (rest.starts_with("&amp;")) {
        out += '&';
        i += 5;
        continue;
      }
      if (rest.starts_with("&lt;")) {
        out += '<';
        i += 4;
        continue;
      }
      if (rest.starts_with("&gt;")) {
        out += '>';
        i += 4;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

Result<messaging::ParsedDelivery> parse_event(const BotIdentity& bot, std::string_view body) {
  rapidjson::Document doc;
  if (auto st = json::parse(doc, body); !st) return st.error();
  json::Errors errors;
  json::Object root = json::Object::from(doc, "", errors);
  std::string_view type = root.str("type");
  if (errors.failed()) return *errors.first;
  if (type != "event_callback") return ignored("", "envelope:" + std::string(type));

  std::string event_id(root.str("event_id"));
  json::Object event = root.obj("event");
  std::string_view event_type = event.str("type");
  if (errors.failed()) return *errors.first;
  if (event_id.empty()) return make_error("channel.bad_value", "field 'event_id' is empty");

  // Ignore rules come before field checks: a bot or edited message lacks fields that an
  // ordinary message must have.
  if (event_type != "message") return ignored(event_id, "event:" + std::string(event_type));
  if (const json::Value* subtype = event.raw("subtype"))
    return ignored(event_id,
                   subtype->IsString() ? "subtype:" + std::string(json::view(*subtype)) : std::string("subtype"));
  if (event.has("bot_id")) return ignored(event_id, "bot_message");

  std::string_view user = event.str("user");
  std::string_view channel = event.str("channel");
  std::string_view ts = event.str("ts");
  std::string_view raw_text = event.opt_str("text").value_or("");
  auto thread_ts = event.opt_str("thread_ts");
  auto channel_type = event.opt_str("channel_type");
  std::string sender_name = profile_name(event);
  if (errors.failed()) return *errors.first;
  if (!bot.bot_user_id.empty() && user == bot.bot_user_id) return ignored(event_id, "own_message");
  if (channel.empty() || user.empty())
    return make_error("channel.bad_value", "event.user and event.channel must not be empty");
  auto ts_ms = ts_to_unix_ms(ts);
  if (!ts_ms) return make_error("channel.bad_value", "field 'event.ts' is not a Slack timestamp");
  if (thread_ts && !ts_to_unix_ms(*thread_ts))
    return make_error("channel.bad_value", "field 'event.thread_ts' is not a Slack timestamp");
  if (raw_text.find_first_not_of(" \t\r\n") == std::string_view::npos) return ignored(event_id, "empty_text");

  messaging::InboundMessage m;
  m.channel = messaging::ChannelKind::slack;
  m.bot = bot.name;
  m.chat_jid = messaging::make_jid(messaging::ChannelKind::slack, channel);
  m.sender_id = user;
  m.sender_name = std::move(sender_name);
  m.is_group = !is_direct_message(channel_type, channel);
  // On the raw text: a typed "&lt;@U1&gt;" unescapes to "<@U1>" but is no mention.
  m.mentions_bot = !m.is_group || mentions(raw_text, bot.bot_user_id);
  m.text = unescape_text(raw_text);
  m.reply_ref = thread_ts.value_or("");
  m.message_ref = ts;
  m.platform_message_id = std::move(event_id);
  m.timestamp_ms = *ts_ms;
  messaging::ParsedDelivery d;
  messaging::sanitize_strings(m);
  d.messages.push_back(std::move(m));
  return d;
}

namespace {

// A slash command's fields, wherever they came from (a form over HTTP, JSON over Socket
// Mode). nullopt: the field was absent.
struct SlashFields {
  std::optional<std::string> command, channel_id, user_id, trigger_id, text, channel_name, user_name;
};

Result<messaging::ParsedDelivery> slash_delivery(const BotIdentity& bot, SlashFields f, std::int64_t received_ms) {
  for (auto [value, name] : {std::pair{&f.command, "command"}, std::pair{&f.channel_id, "channel_id"},
                             std::pair{&f.user_id, "user_id"}, std::pair{&f.trigger_id, "trigger_id"}}) {
    if (!*value) return make_error("channel.missing_field", std::string("field '") + name + "' is required");
    if ((*value)->empty()) return make_error("channel.bad_value", std::string("field '") + name + "' is empty");
  }
  std::string text = f.text.value_or("");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return ignored(*f.trigger_id, "empty_text");
  std::string channel_name = f.channel_name.value_or("");

  messaging::InboundMessage m;
  m.channel = messaging::ChannelKind::slack;
  m.bot = bot.name;
  m.chat_jid = messaging::make_jid(messaging::ChannelKind::slack, *f.channel_id);
  m.sender_id = *f.user_id;
  m.sender_name = f.user_name.value_or("");
  m.text = std::move(text);
  m.platform_message_id = *f.trigger_id;
  m.timestamp_ms = received_ms;
  m.is_group = channel_name != "directmessage" && !f.channel_id->starts_with("D");
  m.mentions_bot = true;  // a slash command is addressed to the app by definition
  messaging::ParsedDelivery d;
  messaging::sanitize_strings(m);
  d.messages.push_back(std::move(m));
  return d;
}

}  // namespace

Result<messaging::ParsedDelivery> parse_slash_command(const BotIdentity& bot, std::string_view form_body,
                                                      std::int64_t received_ms) {
  if (form_param(form_body, "ssl_check") == "1") return ignored("", "ssl_check");
  SlashFields f;
  f.command = form_param(form_body, "command");
  f.channel_id = form_param(form_body, "channel_id");
  f.user_id = form_param(form_body, "user_id");
  f.trigger_id = form_param(form_body, "trigger_id");
  f.text = form_param(form_body, "text");
  f.channel_name = form_param(form_body, "channel_name");
  f.user_name = form_param(form_body, "user_name");
  return slash_delivery(bot, std::move(f), received_ms);
}

Result<messaging::ParsedDelivery> parse_slash_command_json(const BotIdentity& bot, std::string_view payload_json,
                                                           std::int64_t received_ms) {
  rapidjson::Document doc;
  if (auto st = json::parse(doc, payload_json); !st) return st.error();
  json::Errors errors;
  json::Object root = json::Object::from(doc, "payload", errors);
  auto field = [&](const char* key) -> std::optional<std::string> {
    auto v = root.opt_str(key);
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  };
  SlashFields f;
  f.command = field("command");
  f.channel_id = field("channel_id");
  f.user_id = field("user_id");
  f.trigger_id = field("trigger_id");
  f.text = field("text");
  f.channel_name = field("channel_name");
  f.user_name = field("user_name");
  if (errors.failed()) return *errors.first;
  return slash_delivery(bot, std::move(f), received_ms);
}

}  // namespace sb::channels::slack
