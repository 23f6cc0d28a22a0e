#pragma once
// The body of a local chat message (POST /api/v1/chat/{namespace}, docs/local-chat.md),
// decoded without I/O: the admin route (actors/app/admin/chat_routes) and the fuzz target
// call the same function.
#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"

namespace sb::channels::local {

inline constexpr std::size_t kMaxChatTextBytes = 32 * 1024;
inline constexpr std::size_t kMaxSenderNameBytes = 256;

struct ChatRequest {
  std::string text;
  std::string sender_name = "operator";
};

// {"text": non-empty string of at most kMaxChatTextBytes, "sender"?: 1..256 bytes}; other
// members are refused. Errors "invalid_json" / "invalid_field", the message names the field.
Result<ChatRequest> parse_chat_request(std::string_view body);

}  // namespace sb::channels::local
