#include "channels/telegram/parse.hpp"

#include <charconv>
#include <limits>

#include "runtime/core/json.hpp"
#include "runtime/core/text.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::channels::telegram {
namespace {

// Entity text: offsets and lengths are in UTF-16 units.
std::optional<std::string_view> entity_text(std::string_view text, std::int64_t offset, std::int64_t length) {
  if (offset < 0 || length <= 0) return std::nullopt;
  auto begin = utf8::byte_offset_of_utf16(text, static_cast<std::size_t>(offset));
  if (!begin) return std::nullopt;
  auto len = utf8::byte_offset_of_utf16(text.substr(*begin), static_cast<std::size_t>(length));
  if (!len) return std::nullopt;
  return text.substr(*begin, *len);
}

bool addressed_by_entities(const BotIdentity& bot, std::string_view text, const json::Value* entities) {
  if (!entities) return false;
  for (const json::Value& raw : entities->GetArray()) {
    json::Errors local;  // a malformed entity is only a missed mention, not an error
    json::Object e = json::Object::from(raw, "entity", local);
    std::string_view type = e.str("type");
    std::int64_t offset = e.i64("offset"), length = e.i64("length");
    if (local.failed()) continue;
    if (type == "text_mention") {
      if (auto user = e.opt_obj("user"); user && bot.bot_user_id != 0 && user->opt_i64("id") == bot.bot_user_id)
        return true;
      continue;
    }
    auto word = entity_text(text, offset, length);
    if (!word) continue;
    if (type == "mention" && !bot.username.empty() && word->size() == bot.username.size() + 1 && word->front() == '@' &&
        iequals(word->substr(1), bot.username))
      return true;
    if (type == "bot_command") {
      std::size_t at = word->find('@');
      if (at == std::string_view::npos) return true;  // "/cmd" goes to every bot in the chat
      if (!bot.username.empty() && iequals(word->substr(at + 1), bot.username)) return true;
    }
  }
  return false;
}

std::string display_name(json::Object& from) {
  std::string name(from.opt_str("first_name").value_or(""));
  if (auto last = from.opt_str("last_name"); last && !last->empty()) {
    if (!name.empty()) name += ' ';
    name += *last;
  }
  if (name.empty()) name = from.opt_str("username").value_or("");
  return name;
}

// Reads one update into `out`; an error means the update itself is malformed.
Status read_update(const BotIdentity& bot, const json::Value& raw, const std::string& path,
                   messaging::ParsedDelivery& out, std::optional<std::int64_t>& update_id) {
  json::Errors errors;
  json::Object update = json::Object::from(raw, path, errors);
  std::int64_t uid = update.i64("update_id");
  if (errors.failed()) return *errors.first;
  // update_id + 1 is the next polling offset, so the maximum is refused too.
  if (uid < 0 || uid == std::numeric_limits<std::int64_t>::max())
    return make_error("channel.bad_value", "update_id is out of range");
  update_id = uid;
  std::string id = std::to_string(uid);

  if (!update.has("message")) {
    for (const char* edit : {"edited_message", "edited_channel_post", "edited_business_message"}) {
      if (update.has(edit)) {
        out.ignored.push_back({id, edit});
        return {};
      }
    }
    std::string kind = "empty";
    for (auto it = raw.MemberBegin(); it != raw.MemberEnd(); ++it) {
      std::string_view key = json::view(it->name);
      if (key != "update_id") {
        kind = key;
        break;
      }
    }
    out.ignored.push_back({id, "update:" + kind});
    return {};
  }

  json::Object msg = update.obj("message");
  std::int64_t message_id = msg.i64("message_id");
  std::int64_t date = msg.i64("date");
  json::Object chat = msg.obj("chat");
  std::int64_t chat_id = chat.i64("id");
  std::string_view chat_type = chat.str("type");
  auto from = msg.opt_obj("from");
  auto text = msg.opt_str("text");
  const json::Value* entities = msg.opt_array("entities");
  auto reply_to = msg.opt_obj("reply_to_message");
  if (errors.failed()) return *errors.first;
  if (date < 0 || date > 100'000'000'000) return make_error("channel.bad_value", "message.date is out of range");

  if (!from) {
    out.ignored.push_back({id, "no_sender"});
    return {};
  }
  std::int64_t sender_id = from->i64("id");
  bool sender_is_bot = from->opt_bool("is_bot", false);
  std::string sender_name = display_name(*from);
  if (errors.failed()) return *errors.first;
  if (sender_is_bot || (bot.bot_user_id != 0 && sender_id == bot.bot_user_id)) {
    out.ignored.push_back({id, "bot_sender"});
    return {};
  }
  if (!text) {
    out.ignored.push_back({id, "non_text"});
    return {};
  }
  if (text->find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out.ignored.push_back({id, "empty_text"});
    return {};
  }

  std::string reply_ref;
  bool reply_to_bot = false;
  if (reply_to) {
    std::int64_t replied = reply_to->i64("message_id");
    if (auto replied_from = reply_to->opt_obj("from"))
      reply_to_bot = bot.bot_user_id != 0 && replied_from->opt_i64("id") == bot.bot_user_id;
    if (errors.failed()) return *errors.first;
    reply_ref = std::to_string(replied);
  }

  messaging::InboundMessage m;
  m.channel = messaging::ChannelKind::telegram;
  m.bot = bot.name;
  m.chat_jid = messaging::make_jid(messaging::ChannelKind::telegram, std::to_string(chat_id));
  m.sender_id = std::to_string(sender_id);
  m.sender_name = std::move(sender_name);
  m.text = *text;
  m.reply_ref = std::move(reply_ref);
  m.message_ref = std::to_string(message_id);
  // Dedupe key: chat and message, not update_id. Telegram picks the next update_id at
  // random after a week without updates, so an update_id can repeat for a new message
  // (L3 of the 2026-12 audit); a message id is unique within its chat for good.
  m.platform_message_id = std::to_string(chat_id) + ":" + std::to_string(message_id);
  m.timestamp_ms = date * 1000;
  m.is_group = chat_type == "group" || chat_type == "supergroup";
  m.mentions_bot = chat_type == "private" || reply_to_bot || addressed_by_entities(bot, *text, entities);
  messaging::sanitize_strings(m);
  out.messages.push_back(std::move(m));
  return {};
}

}  // namespace

std::optional<std::int64_t> bot_id_from_token(std::string_view token) {
  std::size_t colon = token.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon > 18) return std::nullopt;
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + colon, id);
  if (ec != std::errc() || end != token.data() + colon || id <= 0) return std::nullopt;
  return id;
}

Result<messaging::ParsedDelivery> parse_update(const BotIdentity& bot, std::string_view body) {
  rapidjson::Document doc;
  if (auto st = json::parse(doc, body); !st) return st.error();
  messaging::ParsedDelivery out;
  std::optional<std::int64_t> update_id;
  if (auto st = read_update(bot, doc, "", out, update_id); !st) return st.error();
  return out;
}

Result<PolledUpdates> parse_get_updates(const BotIdentity& bot, std::string_view body) {
  rapidjson::Document doc;
  if (auto st = json::parse(doc, body); !st) return st.error();
  json::Errors errors;
  json::Object root = json::Object::from(doc, "", errors);
  bool ok = root.opt_bool("ok", false);
  if (errors.failed()) return *errors.first;
  if (!ok) {
    std::string description(root.opt_str("description").value_or("getUpdates failed"));
    return make_error("telegram.api", description);
  }
  const json::Value* result = root.array("result");
  if (errors.failed()) return *errors.first;
  PolledUpdates polled;
  for (rapidjson::SizeType i = 0; i < result->Size(); ++i) {
    std::optional<std::int64_t> update_id;
    Status st = read_update(bot, (*result)[i], "result[" + std::to_string(i) + "]", polled.delivery, update_id);
    if (!st) {
      polled.delivery.ignored.push_back(
          {update_id ? std::to_string(*update_id) : "", "invalid: " + st.error().message});
    }
    if (update_id && (!polled.next_offset || *update_id + 1 > *polled.next_offset)) polled.next_offset = *update_id + 1;
  }
  return polled;
}

}  // namespace sb::channels::telegram
