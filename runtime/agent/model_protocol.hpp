#pragma once
// The model API as the agent loop sees it, whatever the wire protocol: one interface,
// one pure codec per protocol (anthropic_protocol.hpp, openai_protocol.hpp). Messages
// are kept as JSON object text in the protocol's own shape, so the history file and the
// next request carry exactly what the API sent and expects; the loop never looks inside.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/agent/tool_spec.hpp"
#include "runtime/agent/turn.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

struct ToolCall {
  std::string id;  // empty when the server sent none; the loop fills one in
  std::string name;
  std::string input_json;  // the arguments, a JSON object's text ("{}" when absent or empty)
  // Set when the arguments were not a JSON object (input_json is then "{}"): answered
  // with an error result, so the model can correct itself.
  std::optional<std::string> input_error;
  bool operator==(const ToolCall&) const = default;
};

struct ToolResult {
  std::string content;
  bool is_error = false;
  bool operator==(const ToolResult&) const = default;
};

enum class StopKind { end, tool_use, max_tokens, other };

struct ModelReply {
  std::string text;  // all text of the reply, concatenated
  std::vector<ToolCall> calls;
  StopKind stop = StopKind::end;
  std::string stop_reason;  // as the server said it
};

struct ModelRequest {
  std::string_view model;
  int64_t max_tokens = 1024;
  std::string_view system;                   // omitted when empty
  const std::vector<ToolDefinition>* tools;  // omitted when null or empty
  const std::vector<std::string>* messages;  // the conversation, protocol-shaped
};

// A message's role and text when it is plain text only (for converting history
// between protocols); nullopt for anything with tool calls or tool results.
struct PlainMessage {
  std::string role;  // "user" | "assistant"
  std::string text;
};

class ModelProtocol {
 public:
  virtual ~ModelProtocol() = default;
  virtual LlmProtocol id() const = 0;
  virtual std::string encode_request(const ModelRequest& req) const = 0;
  // POST /<route>/<endpoint> with the protocol's auth header carrying the proxy token.
  // "http.bad_request" for a route or token that would break the request.
  virtual Result<std::string> build_http_request(std::string_view route, std::string_view token,
                                                 std::string_view body) const = 0;
  // "llm.upstream_error" (non-2xx, or an error object; the message is one line,
  // "HTTP 401 authentication_error: ..."), "llm.bad_response" (not the expected JSON).
  virtual Result<ModelReply> parse_response(int status, std::string_view body) const = 0;

  virtual std::string user_message(std::string_view text) const = 0;
  // The reply as the next request must carry it: text and tool calls (ids filled in).
  virtual std::string assistant_message(const ModelReply& reply) const = 0;
  // The answers to one step's calls, in order (results.size() == calls.size()).
  virtual std::vector<std::string> tool_result_messages(const std::vector<ToolCall>& calls,
                                                        const std::vector<ToolResult>& results) const = 0;
  // Does this stored message begin a turn (a user's own words, not tool results)?
  virtual bool starts_turn(std::string_view message_json) const = 0;
  virtual std::optional<PlainMessage> plain_text(std::string_view message_json) const = 0;
};

const ModelProtocol& model_protocol(LlmProtocol protocol);

// Retry policy inputs: 408, 429 and 5xx are worth another attempt; other statuses are not.
bool is_retryable_status(int status);
// Transport failures worth another attempt (no connection, reset, cut off); a timeout
// already waited the whole request time and is not retried.
bool is_retryable_transport(const Error& e);

// Shared by the codecs: "llm.upstream_error" for a non-2xx status or an error body,
// with `{"error":{"type","message"}}`, `{"error":"text"}` or the body's first bytes.
Error upstream_error(int status, std::string_view body);
// One line of at most max bytes: control characters become spaces, cut on a UTF-8 boundary.
std::string one_line(std::string_view s, std::size_t max = 200);

}  // namespace sb::agent
