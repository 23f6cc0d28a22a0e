#pragma once
// OpenAI-compatible Chat Completions (POST /<route>/v1/chat/completions, Bearer token),
// as served by OpenAI, llama.cpp's server, Ollama and vLLM. Tolerates their quirks:
// `content` null next to tool_calls, `arguments` an empty string (= {}) or already an
// object, a tool call without an id (the loop makes one up). Pure.
#include "runtime/agent/model_protocol.hpp"

namespace sb::agent {

class OpenAiProtocol final : public ModelProtocol {
 public:
  LlmProtocol id() const override { return LlmProtocol::openai; }
  std::string encode_request(const ModelRequest& req) const override;
  Result<std::string> build_http_request(std::string_view route, std::string_view token,
                                         std::string_view body) const override;
  Result<ModelReply> parse_response(int status, std::string_view body) const override;
  std::string user_message(std::string_view text) const override;
  std::string assistant_message(const ModelReply& reply) const override;
  std::vector<std::string> tool_result_messages(const std::vector<ToolCall>& calls,
                                                const std::vector<ToolResult>& results) const override;
  bool starts_turn(std::string_view message_json) const override;
  std::optional<PlainMessage> plain_text(std::string_view message_json) const override;
};

}  // namespace sb::agent
