#pragma once
// llm mode, the I/O shell around AgentLoop: one input message = one turn of the chat's
// conversation. It sends the loop's requests to the credential proxy's unix socket,
// sleeps its retry waits, runs its tool calls (one `agent.tool` log line each) and,
// after a final answer, extends the chat's history in `<session_dir>/history/<chat>.json`.
// A failed turn leaves the history as it was.
#include <cstddef>
#include <string>

#include "runtime/agent/turn.hpp"
#include "runtime/core/result.hpp"
#include "runtime/ipc/protocol.hpp"

namespace sb::agent {

// Where the IPC tools write (send_message, the task tools, tool_refused reports).
struct IpcWriter {
  std::string ipc_dir;
  std::size_t max_bytes = ipc::kDefaultMaxBytes;
  ipc::Namer* namer = nullptr;  // the agent's one, so every file sorts in write order
};

// The final answer, or an error whose message is one line fit for the chat.
Result<std::string> run_llm_turn(const LlmSettings& llm, const ProxySettings& proxy, const IpcWriter& ipc,
                                 const ipc::InputMessage& in);

}  // namespace sb::agent
