#pragma once
// The Anthropic Messages API (POST /<route>/v1/messages): request with `system`, `tools`
// ({name, description, input_schema}) and `messages`; replies of `text` and `tool_use`
// blocks; tool results as one user message of `tool_result` blocks. Pure.
#include "runtime/agent/model_protocol.hpp"

namespace sb::agent {

inline constexpr std::string_view kAnthropicApiVersion = "2023-06-01";

class AnthropicProtocol final : public ModelProtocol {
 public:
  LlmProtocol id() const override { return LlmProtocol::anthropic; }
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
