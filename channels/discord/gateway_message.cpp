#include "channels/discord/gateway_message.hpp"

#include <charconv>

#include "channels/discord/parse.hpp"
#include "runtime/core/json.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::discord {
namespace {

constexpr std::int64_t kTypeDefault = 0, kTypeReply = 19;

messaging::ParsedDelivery ignored(std::string_view id, std::string reason) {
  messaging::ParsedDelivery d;
  d.ignored.push_back({std::string(id), std::move(reason)});
  return d;
}

bool read_digits(std::string_view& s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  s.remove_prefix(n);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The bot's mention forms: <@id> and the legacy nickname form <@!id>.
bool mentions_in_text(std::string_view text, std::string_view user_id) {
  if (user_id.empty()) return false;
  const std::string plain = "<@" + std::string(user_id) + ">";
  const std::string nick = "<@!" + std::string(user_id) + ">";
  return text.find(plain) != std::string_view::npos || text.find(nick) != std::string_view::npos;
}

std::string render_mentions(std::string_view text, std::string_view user_id, std::string_view display) {
  if (user_id.empty()) return std::string(text);
  const std::string plain = "<@" + std::string(user_id) + ">";
  const std::string nick = "<@!" + std::string(user_id) + ">";
  const std::string replacement = "@" + std::string(display);
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    if (text.substr(0, plain.size()) == plain) {
      out += replacement;
      text.remove_prefix(plain.size());
    } else if (text.substr(0, nick.size()) == nick) {
      out += replacement;
      text.remove_prefix(nick.size());
    } else {
      out += text.front();
      text.remove_prefix(1);
    }
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> parse_iso8601_ms(std::string_view s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, 4, year) || !expect(s, '-') || !read_digits(s, 2, month) || !expect(s, '-') ||
      !read_digits(s, 2, day) || !expect(s, 'T') || !read_digits(s, 2, hour) || !expect(s, ':') ||
      !read_digits(s, 2, minute) || !expect(s, ':') || !read_digits(s, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::int64_t ms = 0;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    int digits = 0;
    // Milliseconds from the first three fraction digits; finer digits are dropped.
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      if (digits < 3) ms = ms * 10 + (s.front() - '0');
      ++digits;
      s.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) ms *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (expect(s, 'Z')) {
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    const int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!read_digits(s, 2, oh) || !expect(s, ':') || !read_digits(s, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  const std::int64_t days = days_from_civil(year, month, day);
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + ms;
}

Result<messaging::ParsedDelivery> parse_message_create(const GatewayIdentity& bot, const rapidjson::Value& d) {
  json::Errors errors;
  json::Object msg = json::Object::from(d, "d", errors);
  std::string_view id = msg.str("id");
  std::string_view channel_id = msg.str("channel_id");
  auto guild_id = msg.opt_str("guild_id");
  json::Object author = msg.obj("author");
  std::string_view author_id = author.str("id");
  const bool author_bot = author.opt_bool("bot", false);
  auto username = author.opt_str("username");
  auto global_name = author.opt_str("global_name");
  std::optional<std::string_view> nick;
  if (auto member = msg.opt_obj("member")) nick = member->opt_str("nick");
  auto webhook_id = msg.opt_str("webhook_id");
  auto content = msg.opt_str("content");
  auto timestamp = msg.opt_str("timestamp");
  const std::int64_t type = msg.opt_i64("type").value_or(kTypeDefault);
  const json::Value* mentions = msg.opt_array("mentions");
  std::optional<std::string_view> replied_author;
  if (auto ref = msg.opt_obj("referenced_message"))
    if (auto ref_author = ref->opt_obj("author")) replied_author = ref_author->opt_str("id");
  if (errors.failed()) return *errors.first;

  auto created_ms = snowflake_unix_ms(id);
  if (!created_ms) return make_error("channel.bad_value", "field 'd.id' is not a snowflake");
  if (!messaging::snowflake(channel_id))
    return make_error("channel.bad_value", "field 'd.channel_id' is not a snowflake");
  if (guild_id && !messaging::snowflake(*guild_id))
    return make_error("channel.bad_value", "field 'd.guild_id' is not a snowflake");
  if (!messaging::snowflake(author_id))
    return make_error("channel.bad_value", "field 'd.author.id' is not a snowflake");

  // Who sent it first: a bot's or webhook's empty message is about the sender, not the intent.
  if (!bot.user_id.empty() && author_id == bot.user_id) return ignored(id, "own_message");
  if (author_bot) return ignored(id, "bot_sender");
  if (webhook_id) return ignored(id, "webhook_sender");
  if (type != kTypeDefault && type != kTypeReply) return ignored(id, "type:" + std::to_string(type));
  if (!content || content->empty()) return ignored(id, "empty_content");

  bool mentioned = !guild_id || mentions_in_text(*content, bot.user_id);
  if (mentions && !bot.user_id.empty()) {
    for (rapidjson::SizeType i = 0; i < mentions->Size() && !mentioned; ++i) {
      const json::Value& user = (*mentions)[i];
      if (!user.IsObject()) continue;  // a malformed mention list only loses a mention
      auto it = user.FindMember("id");
      if (it != user.MemberEnd() && it->value.IsString() && json::view(it->value) == bot.user_id) mentioned = true;
    }
  }
  if (type == kTypeReply && replied_author && !bot.user_id.empty() && *replied_author == bot.user_id) mentioned = true;

  messaging::InboundMessage m;
  m.channel = messaging::ChannelKind::discord;
  m.bot = bot.name;
  m.chat_jid = messaging::make_jid(messaging::ChannelKind::discord, channel_id);
  m.sender_id = author_id;
  if (nick && !nick->empty())
    m.sender_name = *nick;
  else if (global_name && !global_name->empty())
    m.sender_name = *global_name;
  else
    m.sender_name = username.value_or("");
  m.text = render_mentions(*content, bot.user_id, bot.username.empty() ? bot.name : bot.username);
  m.message_ref = id;
  m.platform_message_id = id;
  auto ts = timestamp ? parse_iso8601_ms(*timestamp) : std::nullopt;
  m.timestamp_ms = ts.value_or(*created_ms);
  m.is_group = guild_id.has_value();
  m.mentions_bot = mentioned;
  messaging::sanitize_strings(m);
  messaging::ParsedDelivery out;
  out.messages.push_back(std::move(m));
  return out;
}

Result<messaging::ParsedDelivery> parse_message_create(const GatewayIdentity& bot, std::string_view d_json) {
  rapidjson::Document doc;
  if (auto st = json::parse(doc, d_json); !st) return st.error();
  return parse_message_create(bot, doc);
}

}  // namespace sb::channels::discord
