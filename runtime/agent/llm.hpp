#pragma once
// llm mode's per-chat history basics: the chat key, the file name, the bounds, and the
// version 1 file (user/assistant text pairs, written before the tool loop), which
// history_file.hpp converts. Pure.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::agent {

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

// The version 1 history file (before the tool loop; history_file.hpp converts it):
// `{"version":1,"chat":"tg:42","messages":[{"role":"user","content":..},..]}`.
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

}  // namespace sb::agent
