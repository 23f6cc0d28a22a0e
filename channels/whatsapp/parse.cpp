#include "channels/whatsapp/parse.hpp"

#include <map>

#include "runtime/core/json.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::whatsapp {
namespace {

using Names = std::map<std::string, std::string, std::less<>>;

// wa_id -> profile name from value.contacts. Malformed contacts are skipped: names are
// decoration, not worth dropping a message over.
void read_contacts(const json::Value* contacts, Names& names) {
  if (!contacts) return;
  for (const json::Value& c : contacts->GetArray()) {
    json::Errors local;
    json::Object contact = json::Object::from(c, "contact", local);
    auto wa_id = contact.opt_str("wa_id");
    std::optional<std::string_view> name;
    if (auto profile = contact.opt_obj("profile")) name = profile->opt_str("name");
    if (!local.failed() && wa_id && name) names.emplace(*wa_id, *name);
  }
}

void read_message(const BotIdentity& bot, const json::Value& raw, const std::string& path, const Names& names,
                  messaging::ParsedDelivery& out) {
  json::Errors errors;
  json::Object msg = json::Object::from(raw, path, errors);
  std::string id(msg.str("id"));
  std::string_view from = msg.str("from");
  std::string_view type = msg.str("type");
  // The Cloud API sends the timestamp as a string of unix seconds.
  std::string_view ts = msg.str("timestamp");
  if (errors.failed()) {
    out.ignored.push_back({id, "invalid: " + errors.first->message});
    return;
  }
  if (type != "text") {
    out.ignored.push_back({id, "type:" + std::string(type)});
    return;
  }
  std::string_view text = msg.obj("text").str("body");
  std::optional<std::string_view> reply_to;
  if (auto context = msg.opt_obj("context")) reply_to = context->opt_str("id");
  if (errors.failed()) {
    out.ignored.push_back({id, "invalid: " + errors.first->message});
    return;
  }
  if (id.empty() || !messaging::all_digits(from) || !messaging::all_digits(ts) || ts.size() > 12) {
    out.ignored.push_back({id, "invalid: id, from or timestamp malformed"});
    return;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out.ignored.push_back({id, "empty_text"});
    return;
  }
  messaging::InboundMessage m;
  m.channel = messaging::ChannelKind::whatsapp;
  m.bot = bot.name;
  m.chat_jid = messaging::make_jid(messaging::ChannelKind::whatsapp, from);
  m.sender_id = from;
  if (auto it = names.find(from); it != names.end()) m.sender_name = it->second;
  m.text = text;
  m.reply_ref = reply_to.value_or("");
  m.message_ref = id;
  m.platform_message_id = id;
  m.timestamp_ms = std::stoll(std::string(ts)) * 1000;
  m.is_group = false;     // the Cloud API delivers one-to-one chats only
  m.mentions_bot = true;  // every message in a one-to-one chat is addressed to the business
  messaging::sanitize_strings(m);
  out.messages.push_back(std::move(m));
}

}  // namespace

Result<messaging::ParsedDelivery> parse_delivery(const BotIdentity& bot, std::string_view body) {
  rapidjson::Document doc;
  if (auto st = json::parse(doc, body); !st) return st.error();
  json::Errors errors;
  json::Object root = json::Object::from(doc, "", errors);
  std::string_view object = root.str("object");
  if (errors.failed()) return *errors.first;
  messaging::ParsedDelivery out;
  if (object != "whatsapp_business_account") {
    out.ignored.push_back({"", "object:" + std::string(object)});
    return out;
  }
  const json::Value* entries = root.array("entry");
  if (errors.failed()) return *errors.first;

  for (rapidjson::SizeType e = 0; e < entries->Size(); ++e) {
    std::string entry_path = "entry[" + std::to_string(e) + "]";
    json::Object entry = json::Object::from((*entries)[e], entry_path, errors);
    const json::Value* changes = entry.opt_array("changes");
    if (errors.failed()) return *errors.first;
    if (!changes) continue;
    for (rapidjson::SizeType c = 0; c < changes->Size(); ++c) {
      std::string change_path = entry_path + ".changes[" + std::to_string(c) + "]";
      json::Object change = json::Object::from((*changes)[c], change_path, errors);
      std::string_view field = change.str("field");
      if (errors.failed()) return *errors.first;
      if (field != "messages") {
        out.ignored.push_back({"", "field:" + std::string(field)});
        continue;
      }
      json::Object value = change.obj("value");
      std::optional<std::string_view> phone_number_id;
      if (auto metadata = value.opt_obj("metadata")) phone_number_id = metadata->opt_str("phone_number_id");
      const json::Value* contacts = value.opt_array("contacts");
      const json::Value* messages = value.opt_array("messages");
      const json::Value* statuses = value.opt_array("statuses");
      if (errors.failed()) return *errors.first;

      bool foreign = !bot.phone_number_id.empty() && phone_number_id && *phone_number_id != bot.phone_number_id;
      Names names;
      read_contacts(contacts, names);
      if (statuses) {
        for (const json::Value& s : statuses->GetArray()) {
          json::Errors local;
          json::Object status = json::Object::from(s, "status", local);
          std::string id(status.opt_str("id").value_or(""));
          std::string what(status.opt_str("status").value_or(""));
          out.ignored.push_back({id, what.empty() ? "status" : "status:" + what});
        }
      }
      if (!messages) continue;
      for (rapidjson::SizeType i = 0; i < messages->Size(); ++i) {
        if (foreign) {
          std::string id;
          if (const json::Value& m = (*messages)[i]; m.IsObject() && m.HasMember("id") && m["id"].IsString())
            id = json::view(m["id"]);
          out.ignored.push_back({id, "foreign_phone_number"});
          continue;
        }
        read_message(bot, (*messages)[i], change_path + ".value.messages[" + std::to_string(i) + "]", names, out);
      }
    }
  }
  return out;
}

}  // namespace sb::channels::whatsapp
