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

// A short, single-line excerpt of a body that is not the expected JSON.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  if (body.size() > 200) out += "...";
  return out;
}

// `{"error":{"type","message"}}` (the proxy's own answers and Anthropic's, which also
// carries "type":"error" at the top).
std::optional<std::string> error_object_text(const rapidjson::Document& doc) {
  if (!doc.IsObject()) return std::nullopt;
  auto it = doc.FindMember("error");
  bool typed_error = str_member(doc, "type") == std::optional<std::string>("error");
  if (it == doc.MemberEnd() && !typed_error) return std::nullopt;
  if (it == doc.MemberEnd() || !it->value.IsObject()) return std::string("error");
  auto type = str_member(it->value, "type").value_or("error");
  auto message = str_member(it->value, "message");
  return message ? type + ": " + *message : type;
}

}  // namespace

std::string encode_messages_body(const MessagesRequest& req) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("model");
  write_str(w, req.model);
  w.Key("max_tokens");
  w.Int64(req.max_tokens);
  if (req.system && !req.system->empty()) {
    w.Key("system");
    write_str(w, *req.system);
  }
  write_messages(w, req.messages);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

Result<std::string> build_messages_http_request(std::string_view route, std::string_view token, std::string_view body) {
  if (route.empty() || route.find('/') != std::string_view::npos)
    return make_error("http.bad_request", "invalid route name");
  return build_http_request("POST", "/" + std::string(route) + "/v1/messages",
                            {{"host", "squadbox-proxy"},
                             {"x-api-key", std::string(token)},
                             {"anthropic-version", std::string(kAnthropicVersion)},
                             {"content-type", "application/json"},
                             {"connection", "close"}},
                            body);
}

Result<std::string> parse_messages_reply(int status, std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  const bool json = !doc.HasParseError();
  if (status < 200 || status > 299) {
    if (json) {
      if (auto e = error_object_text(doc))
        return make_error("llm.upstream_error", "HTTP " + std::to_string(status) + " " + *e);
    }
    return make_error("llm.upstream_error",
                      "HTTP " + std::to_string(status) + (body.empty() ? std::string() : ": " + excerpt(body)));
  }
  if (!json || !doc.IsObject())
    return make_error("llm.bad_response", "the Messages response is not a JSON object: " + excerpt(body));
  if (auto e = error_object_text(doc))
    return make_error("llm.upstream_error", "HTTP " + std::to_string(status) + " " + *e);
  auto content = doc.FindMember("content");
  if (content == doc.MemberEnd() || !content->value.IsArray())
    return make_error("llm.bad_response", "the Messages response has no content array");
  std::string text;
  bool any_text = false;
  for (const auto& block : content->value.GetArray()) {
    if (!block.IsObject()) return make_error("llm.bad_response", "a content block is not an object");
    if (str_member(block, "type") != std::optional<std::string>("text")) continue;  // tool_use, thinking, ...
    auto t = str_member(block, "text");
    if (!t) return make_error("llm.bad_response", "a text block has no text");
    text += *t;
    any_text = true;
  }
  if (!any_text)
    return make_error("llm.empty_reply", "the model returned no text (stop_reason " +
                                             str_member(doc, "stop_reason").value_or("unknown") + ")");
  return text;
}

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

std::vector<ChatMessage> trim_history(std::vector<ChatMessage> messages, std::size_t max_messages,
                                      std::size_t max_bytes) {
  std::size_t bytes = 0;
  for (const auto& m : messages) bytes += m.content.size();
  std::size_t drop = 0;
  while (messages.size() - drop > max_messages || bytes > max_bytes) {
    if (messages.size() - drop < 2) break;
    bytes -= messages[drop].content.size() + messages[drop + 1].content.size();
    drop += 2;
  }
  messages.erase(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(drop));
  return messages;
}

}  // namespace sb::agent
