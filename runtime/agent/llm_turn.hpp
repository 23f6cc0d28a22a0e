#pragma once
// llm mode, the I/O shell: one input message = one user turn of the chat's Messages
// conversation, sent to the credential proxy's unix socket. The chat's history lives
// in `<session_dir>/history/<chat>.json` and is only extended after a successful
// reply, so a failed turn leaves it as it was.
#include <string>

#include "runtime/agent/turn.hpp"
#include "runtime/core/result.hpp"
#include "runtime/ipc/protocol.hpp"

namespace sb::agent {

// The reply text, or an error whose message is fit for turn_done.
Result<std::string> run_llm_turn(const LlmSettings& llm, const ProxySettings& proxy, const ipc::InputMessage& in);

}  // namespace sb::agent
