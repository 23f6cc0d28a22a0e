#include "runtime/agent/model_protocol.hpp"

#include "runtime/agent/anthropic_protocol.hpp"
#include "runtime/agent/json_text.hpp"
#include "runtime/agent/openai_protocol.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::agent {

const ModelProtocol& model_protocol(LlmProtocol protocol) {
  static const AnthropicProtocol anthropic;
  static const OpenAiProtocol openai;
  if (protocol == LlmProtocol::openai) return openai;
  return anthropic;
}

bool is_retryable_status(int status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

bool is_retryable_transport(const Error& e) {
  return e.code == "http.connect" || e.code == "http.io" || e.code == "http.truncated";
}

std::string one_line(std::string_view s, std::size_t max) {
  std::string out = utf8::sanitize(s.substr(0, max + 4));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (out.size() > max) out = utf8::truncate(out, max) + "...";
  return out;
}

Error upstream_error(int status, std::string_view body) {
  std::string what = "HTTP " + std::to_string(status);
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    if (const auto* e = json::member(doc, "error")) {
      if (e->IsString()) return make_error("llm.upstream_error", what + " " + one_line(e->GetString()));
      if (e->IsObject()) {
        auto type = json::str_member(*e, "type");
        if (!type) type = json::str_member(*e, "code");
        auto message = json::str_member(*e, "message");
        std::string text = one_line(type.value_or("error"), 64);
        if (message) text += ": " + one_line(*message);
        return make_error("llm.upstream_error", what + " " + text);
      }
    }
  }
  if (!body.empty()) what += ": " + one_line(body);
  return make_error("llm.upstream_error", what);
}

}  // namespace sb::agent
