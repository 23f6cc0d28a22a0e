#pragma once
// What a container run tells its listener (the namespace that runs it, or `cowork`):
// each thing the agent said, each lifecycle transition, and once, how the run ended.
// Plain values: the ContainerSupervisor actor sends them, pure rules (the namespace
// runner, the scheduled-run rules) decide on them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/container/lifecycle.hpp"

namespace sb::container {

// What a run is for (the io.squadbox.kind label and container_runs.kind).
enum class RunKind : uint8_t { squad, cowork, scheduled };
std::string_view to_string(RunKind kind);  // "squad", "cowork", "scheduled"
std::optional<RunKind> parse_run_kind(std::string_view text);

// Why a run ended.
enum class EndReason : uint8_t {
  finished,      // the agent exited by itself with nothing unfinished
  stopped,       // a stop was asked for (operator, pre-emption, node shutdown)
  hard_timeout,  // the run's hard limit passed: the container was killed
  idle_timeout,  // no output for the idle limit
  gave_up,       // it kept failing: the restart budget is spent (detail: the last failure)
  refused,       // spec, image, mounts or proxy lease refused: retrying cannot help
  unknown_exit,  // a container adopted after a broker restart ended; its status is unknown
};
std::string_view to_string(EndReason reason);  // "finished", "hard_timeout", ...

// One message of the agent, forwarded from the run's IPC directory.
struct RunOutput {
  std::string run_id;
  std::string text;
  std::string in_reply_to;   // input id, "" if unsolicited
  std::string chat_jid;      // "" = the chat the input came from
  bool turn_failed = false;  // the turn for in_reply_to failed; `error` says why (text is "")
  std::string error;
  // A failed turn the host may run again; false: the agent's `error` is its final word,
  // one line meant for the chat (an upstream 401, a step limit).
  bool retryable = true;
  // A progress line of the turn (the agent's tool calls), not a reply: cowork prints it,
  // namespaces do not send it to a chat.
  bool progress = false;
};

// A lifecycle transition (DESIGN.md "Container lifecycle").
struct RunTransition {
  std::string run_id;
  RunState from = RunState::pending;
  RunState to = RunState::pending;
  std::string reason;  // for people and the audit log; nobody branches on it
};

// How a run ended: sent once, when it reached exited or dead.
struct RunResult {
  std::string run_id;
  RunState final_state = RunState::exited;  // exited | dead
  int32_t exit_code = 0;
  bool oom_killed = false;
  EndReason reason = EndReason::finished;
  std::string detail;  // what happened, for people ("exit code 3", the runtime's error)
  uint32_t restarts = 0;
};

// The detail, or the reason's name when there is none: for log lines and chat notices.
std::string describe(const RunResult& result);

}  // namespace sb::container
