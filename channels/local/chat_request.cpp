#include "channels/local/chat_request.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace sb::channels::local {

Result<ChatRequest> parse_chat_request(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError())
    return make_error("invalid_json",
                      std::string("body: malformed JSON (") + rapidjson::GetParseError_En(doc.GetParseError()) + ")");
  if (!doc.IsObject()) return make_error("invalid_json", "body: must be a JSON object");
  ChatRequest req;
  bool has_text = false;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    const auto& v = it->value;
    if (key == "text") {
      if (!v.IsString()) return make_error("invalid_field", "text: must be a string");
      if (v.GetStringLength() == 0) return make_error("invalid_field", "text: must not be empty");
      if (v.GetStringLength() > kMaxChatTextBytes)
        return make_error("invalid_field", "text: longer than " + std::to_string(kMaxChatTextBytes) + " bytes");
      req.text.assign(v.GetString(), v.GetStringLength());
      has_text = true;
    } else if (key == "sender") {
      if (!v.IsString()) return make_error("invalid_field", "sender: must be a string");
      if (v.GetStringLength() == 0 || v.GetStringLength() > kMaxSenderNameBytes)
        return make_error("invalid_field", "sender: must be 1 to " + std::to_string(kMaxSenderNameBytes) + " bytes");
      req.sender_name.assign(v.GetString(), v.GetStringLength());
    } else {
      return make_error("invalid_field", std::string(key) + ": unknown member (expected text, sender)");
    }
  }
  if (!has_text) return make_error("invalid_field", "text: missing");
  return req;
}

}  // namespace sb::channels::local
