#include "channels/discord/parse.hpp"

#include <charconv>

#include <fmt/format.h>

#include "runtime/core/json.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::discord {
namespace {

constexpr std::int64_t kDiscordEpochMs = 1420070400000;
// Discord nests at most subcommand group -> subcommand -> options.
constexpr int kMaxOptionDepth = 3;
constexpr std::int64_t kSubcommand = 1, kSubcommandGroup = 2;

messaging::ParsedDelivery ignored(std::string id, std::string reason, std::string ack) {
  messaging::ParsedDelivery d;
  d.ignored.push_back({std::move(id), std::move(reason)});
  d.ack_body = std::move(ack);
  return d;
}

void render_options(const json::Value& options, const std::string& path, int depth, json::Errors& errors,
                    std::string& out) {
  if (depth > kMaxOptionDepth) {
    errors.fail("channel.bad_value", "'" + path + "' nests deeper than Discord allows");
    return;
  }
  for (rapidjson::SizeType i = 0; i < options.Size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    json::Object opt = json::Object::from(options[i], item_path, errors);
    std::string_view name = opt.str("name");
    std::int64_t type = opt.i64("type");
    if (errors.failed()) return;
    auto append = [&](std::string_view word) {
      if (word.empty()) return;
      if (!out.empty()) out += ' ';
      out += word;
    };
    if (type == kSubcommand || type == kSubcommandGroup) {
      append(name);
      if (const json::Value* sub = opt.opt_array("options"))
        render_options(*sub, item_path + ".options", depth + 1, errors, out);
      continue;
    }
    const json::Value* value = opt.raw("value");
    if (!value) continue;
    if (value->IsString())
      append(json::view(*value));
    else if (value->IsBool())
      append(value->GetBool() ? "true" : "false");
    else if (value->IsInt64())
      append(std::to_string(value->GetInt64()));
    else if (value->IsNumber())
      append(fmt::format("{}", value->GetDouble()));
    else
      errors.fail("channel.wrong_type", "'" + item_path + ".value' must be a scalar");
  }
}

}  // namespace

std::optional<std::int64_t> snowflake_unix_ms(std::string_view id) {
  if (!messaging::snowflake(id)) return std::nullopt;
  std::uint64_t v = 0;
  std::from_chars(id.data(), id.data() + id.size(), v);
  return static_cast<std::int64_t>(v >> 22) + kDiscordEpochMs;
}

Result<messaging::ParsedDelivery> parse_interaction(const BotIdentity& bot, std::string_view body) {
  rapidjson::Document doc;
  if (auto st = json::parse(doc, body); !st) return st.error();
  json::Errors errors;
  json::Object root = json::Object::from(doc, "", errors);
  std::string id(root.str("id"));
  std::int64_t type = root.i64("type");
  auto application_id = root.opt_str("application_id");
  if (errors.failed()) return *errors.first;
  auto created_ms = snowflake_unix_ms(id);
  if (!created_ms) return make_error("channel.bad_value", "field 'id' is not a snowflake");
  if (!bot.application_id.empty() && application_id && *application_id != bot.application_id)
    return make_error("channel.bad_value", "interaction is for another application");

  switch (type) {
    case 1: return ignored(id, "ping", R"({"type":1})");
    case 2: break;
    case 3: return ignored(id, "interaction:component", R"({"type":6})");
    case 4: return ignored(id, "interaction:autocomplete", R"({"type":8,"data":{"choices":[]}})");
    case 5: return ignored(id, "interaction:modal_submit", R"({"type":6})");
    default: return make_error("channel.bad_value", "unknown interaction type " + std::to_string(type));
  }

  std::string_view token = root.str("token");
  json::Object data = root.obj("data");
  std::string_view command = data.str("name");
  auto channel_id = root.opt_str("channel_id");
  if (!channel_id) {
    if (auto channel = root.opt_obj("channel")) channel_id = channel->opt_str("id");
  }
  auto guild_id = root.opt_str("guild_id");
  // In a guild the invoking user is member.user; in a DM it is user.
  std::optional<json::Object> user;
  if (auto member = root.opt_obj("member"))
    user = member->obj("user");
  else
    user = root.opt_obj("user");
  std::string text;
  if (const json::Value* options = data.opt_array("options")) render_options(*options, "data.options", 1, errors, text);
  if (errors.failed()) return *errors.first;
  if (!user) return make_error("channel.missing_field", "field 'member.user' or 'user' is required");
  std::string_view user_id = user->str("id");
  auto username = user->opt_str("username");
  auto global_name = user->opt_str("global_name");
  if (errors.failed()) return *errors.first;
  if (!channel_id || !messaging::snowflake(*channel_id))
    return make_error("channel.missing_field", "field 'channel_id' is required and must be a snowflake");
  if (!messaging::snowflake(user_id)) return make_error("channel.bad_value", "user id is not a snowflake");
  if (token.empty()) return make_error("channel.bad_value", "field 'token' is empty");
  if (text.empty()) text = "/" + std::string(command);

  messaging::InboundMessage m;
  m.channel = messaging::ChannelKind::discord;
  m.bot = bot.name;
  m.chat_jid = messaging::make_jid(messaging::ChannelKind::discord, *channel_id);
  m.sender_id = user_id;
  m.sender_name = global_name && !global_name->empty() ? *global_name : username.value_or("");
  m.text = std::move(text);
  m.reply_ref = token;
  m.message_ref = id;
  m.platform_message_id = id;
  m.timestamp_ms = *created_ms;
  m.is_group = guild_id.has_value();
  m.mentions_bot = true;  // a slash command is addressed to the app by definition
  messaging::ParsedDelivery d;
  messaging::sanitize_strings(m);
  d.messages.push_back(std::move(m));
  d.ack_body = std::string(kDeferredAck);
  return d;
}

}  // namespace sb::channels::discord
