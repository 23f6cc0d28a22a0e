#pragma once
// What a tool call may use: the roots of the file tools, the IPC directory for the host
// payloads, the turn it belongs to and the limits. Built by the llm shell per turn.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "runtime/ipc/protocol.hpp"

namespace sb::agent {

struct ToolContext {
  std::string workspace = "/workspace";  // relative paths resolve here; bash's cwd
  std::string session_dir = "/session";  // also reachable by absolute path (memory.md)
  std::string ipc_dir = "/workspace/ipc";
  std::string in_reply_to;                        // the input being answered
  std::optional<std::string> chat_jid;            // its chat
  std::chrono::milliseconds bash_timeout{60000};  // default and cap of bash's timeout_ms
  std::size_t output_max_bytes = 32768;
  std::size_t ipc_max_bytes = ipc::kDefaultMaxBytes;
  ipc::Namer* namer = nullptr;  // the agent's one writer sequence, so files sort in write order
};

}  // namespace sb::agent
