#include "runtime/agent/llm.hpp"

#include <cctype>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::agent {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// `"messages":[{"role","content"}...]`, as the API and the history file both spell it.
void write_messages(Writer& w, const std::vector<ChatMessage>& messages) {
  w.Key("messages");
  w.StartArray();
  for (const auto& m : messages) {
    w.StartObject();
    w.Key("role");
    write_str(w, m.role);
    w.Key("content");
    write_str(w, m.content);
    w.EndObject();
  }
  w.EndArray();
}

std::optional<std::string> str_member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return std::nullopt;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

std::string encode_history(std::string_view chat, const std::vector<ChatMessage>& messages) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("chat");
  write_str(w, chat);
  write_messages(w, messages);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

Result<std::vector<ChatMessage>> decode_history(std::string_view json) {
  auto bad = [](std::string msg) { return make_error("llm.history_invalid", std::move(msg)); };
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return bad("history is not a JSON object");
  auto version = doc.FindMember("version");
  if (version == doc.MemberEnd() || !version->value.IsInt() || version->value.GetInt() != 1)
    return bad("history version must be 1");
  auto msgs = doc.FindMember("messages");
  if (msgs == doc.MemberEnd() || !msgs->value.IsArray()) return bad("history has no messages array");
  std::vector<ChatMessage> out;
  for (const auto& m : msgs->value.GetArray()) {
    auto role = str_member(m, "role");
    auto content = str_member(m, "content");
    if (!role || !content) return bad("a history message needs string role and content");
    const char* expected = out.size() % 2 == 0 ? "user" : "assistant";
    if (*role != expected) return bad("history messages must alternate user/assistant, starting with user");
    out.push_back({std::move(*role), std::move(*content)});
  }
  if (out.size() % 2 != 0) return bad("history ends with an unanswered user message");
  return out;
}

std::string chat_key(const std::optional<std::string>& chat_jid) {
  return chat_jid && !chat_jid->empty() ? *chat_jid : std::string(kDefaultChat);
}

std::string history_file_name(std::string_view chat) {
  static constexpr char hex[] = "0123456789ABCDEF";
  constexpr std::size_t kMaxEncoded = 160;
  std::string enc;
  bool cut = false;
  for (unsigned char c : chat) {
    if (enc.size() >= kMaxEncoded) {
      cut = true;
      break;
    }
    if (std::isalnum(c) || c == '_' || c == '-') {
      enc += static_cast<char>(c);
    } else {
      enc += '%';
      enc += hex[c >> 4];
      enc += hex[c & 15];
    }
  }
  if (cut) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the whole key
    for (unsigned char c : chat) h = (h ^ c) * 1099511628211ull;
    enc += '~';
    for (int i = 15; i >= 0; --i) enc += hex[(h >> (i * 4)) & 15];
  }
  return enc + ".json";
}

}  // namespace sb::agent
