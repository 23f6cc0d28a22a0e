#pragma once
// llm mode, the pure parts: the Anthropic Messages request, reading its reply (or its
// error), and the per-chat history file (format, name, trimming). No I/O here;
// llm_turn.hpp is the shell that reads/writes files and talks to the proxy.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/agent/http_message.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

inline constexpr std::string_view kAnthropicVersion = "2023-06-01";
inline constexpr std::string_view kDefaultChat = "default";
// History bounds: the oldest user/assistant pairs are dropped beyond either limit, so a
// long chat neither outgrows the model's context nor the proxy's request limit.
inline constexpr std::size_t kMaxHistoryMessages = 100;
inline constexpr std::size_t kMaxHistoryBytes = 512u << 10;

struct ChatMessage {
  std::string role;  // "user" | "assistant"
  std::string content;
  bool operator==(const ChatMessage&) const = default;
};

struct MessagesRequest {
  std::string model;
  int64_t max_tokens = 1024;
  std::optional<std::string> system;  // omitted when absent or empty
  std::vector<ChatMessage> messages;  // history, then this turn's user message
};

// `{"model":..,"max_tokens":..,"system"?:..,"messages":[{"role","content"}..]}`
std::string encode_messages_body(const MessagesRequest& req);

// `POST /<route>/v1/messages` with x-api-key, anthropic-version and content-type.
// "http.bad_request" if the route or token would break the request line or a header.
Result<std::string> build_messages_http_request(std::string_view route, std::string_view token, std::string_view body);

// The turn's reply: the concatenated `text` blocks of a 2xx Messages response. Errors
// (message says what the upstream or the proxy said, never the request):
//   "llm.upstream_error": non-2xx, or a body of type "error" / with an `error` object
//                         ("HTTP 401 authentication_error: ...");
//   "llm.bad_response":   not JSON, no `content` array, a text block without text;
//   "llm.empty_reply":    no text block at all (nothing worth keeping in history).
Result<std::string> parse_messages_reply(int status, std::string_view body);

// History file: `{"version":1,"chat":"tg:42","messages":[{"role":"user","content":..},..]}`.
// decode_history accepts only alternating user/assistant messages starting with user
// (what encode_history writes): "llm.history_invalid" otherwise.
std::string encode_history(std::string_view chat, const std::vector<ChatMessage>& messages);
Result<std::vector<ChatMessage>> decode_history(std::string_view json);

// The chat a message belongs to: its JID, or "default" without one.
std::string chat_key(const std::optional<std::string>& chat_jid);

// A safe file name for a chat: [A-Za-z0-9_-] kept, every other byte %XX, `.json`
// appended; long keys are cut and suffixed with a hash so distinct chats never share
// a file and the name stays below NAME_MAX.
std::string history_file_name(std::string_view chat);

// Drops the oldest user/assistant pairs until within both limits (the result still
// starts with a user message).
std::vector<ChatMessage> trim_history(std::vector<ChatMessage> messages, std::size_t max_messages = kMaxHistoryMessages,
                                      std::size_t max_bytes = kMaxHistoryBytes);

}  // namespace sb::agent
