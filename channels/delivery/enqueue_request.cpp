#include "channels/delivery/enqueue_request.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace sb::channels::delivery {

Result<EnqueueRequest> parse_enqueue_request(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return make_error("invalid_json", std::string("body: malformed JSON (") +
                                          rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                                          std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) return make_error("invalid_json", "body: must be a JSON object");
  EnqueueRequest m;
  auto field = [&](const char* name, std::string& out, bool required) -> Status {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || (!required && it->value.IsNull())) {
      if (required) return make_error("invalid_field", std::string(name) + ": required");
      return {};
    }
    if (!it->value.IsString()) return make_error("invalid_field", std::string(name) + ": must be a string");
    out.assign(it->value.GetString(), it->value.GetStringLength());
    if (required && out.empty()) return make_error("invalid_field", std::string(name) + ": must not be empty");
    return {};
  };
  if (auto s = field("bot", m.bot_id, true); !s) return s.error();
  if (auto s = field("chatJid", m.chat_jid, true); !s) return s.error();
  if (auto s = field("text", m.text, true); !s) return s.error();
  if (auto s = field("replyTo", m.reply_to, false); !s) return s.error();
  return m;
}

}  // namespace sb::channels::delivery
