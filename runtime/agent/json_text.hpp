#pragma once
// Small RapidJSON helpers shared by the agent's codecs (protocols, history, tools):
// writing strings and pre-encoded JSON, reading typed members. Internal to the agent's
// .cpp files (its headers stay free of RapidJSON).
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::agent::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
// A value that is already JSON text (a stored message, a schema, tool arguments).
inline void raw(Writer& w, std::string_view json_text, rapidjson::Type type = rapidjson::kObjectType) {
  w.RawValue(json_text.data(), json_text.size(), type);
}

inline std::optional<std::string> str_member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return std::nullopt;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

inline const rapidjson::Value* member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

// `{"role":ROLE,"content":TEXT}`: a plain text message, the same in both protocols.
inline std::string text_message(std::string_view role, std::string_view text) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("role");
  str(w, role);
  w.Key("content");
  str(w, text);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

inline std::string to_string(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace sb::agent::json
