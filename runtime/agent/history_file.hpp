#pragma once
// The per-chat history file of llm mode, version 2: the conversation in the protocol's
// own message shape, `{"version":2,"protocol":"anthropic","chat":"tg:42","messages":[..]}`,
// kept as whole turns (a turn = the user's message and everything up to the final
// answer, tool calls and results included). Pure; llm_turn.cpp reads and writes it.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/agent/llm.hpp"
#include "runtime/agent/model_protocol.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

using HistoryTurn = std::vector<std::string>;  // messages, JSON object text

std::string encode_history_file(const ModelProtocol& protocol, std::string_view chat,
                                const std::vector<HistoryTurn>& turns);

struct LoadedHistory {
  std::vector<HistoryTurn> turns;
  // Set when the file was converted (version 1, or plain-text turns of the other
  // protocol) or dropped (the other protocol's tool turns cannot be translated): the
  // shell logs it.
  std::optional<std::string> note;
};

// "llm.history_invalid" for a file that is not a history (the shell sets it aside).
Result<LoadedHistory> decode_history_file(std::string_view json, const ModelProtocol& protocol);

// Drops the oldest whole turns until at most max_messages messages and max_bytes of
// message JSON remain, so a tool call is never separated from its result.
std::vector<HistoryTurn> trim_turns(std::vector<HistoryTurn> turns, std::size_t max_messages = kMaxHistoryMessages,
                                    std::size_t max_bytes = kMaxHistoryBytes);

}  // namespace sb::agent
