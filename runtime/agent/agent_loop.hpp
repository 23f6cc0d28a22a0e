#pragma once
// One llm-mode turn as a pure state machine: the shell asks what to do next, does it
// (an HTTP request, a wait, the tool calls) and reports back. No I/O and an injected
// clock, so every path (retries, limits, parallel calls) is tested without a model.
//
//   start() -> Send
//   on_response / on_transport_error -> Send (next step) | Wait (retry) | RunTools | Finish | Fail
//   resume() (after Wait) -> Send
//   on_tool_results -> Send | Fail
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/agent/model_protocol.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

struct LoopLimits {
  std::string model;
  int64_t max_tokens = 1024;
  int max_steps = 20;                          // model responses per turn
  std::size_t tool_output_max_bytes = 32768;   // per tool result, as sent to the model
  std::chrono::milliseconds turn_timeout{0};   // 0: none
  int max_retries = 3;                         // per request, for 408/429/5xx and transport errors
  std::chrono::milliseconds retry_base{1000};  // 1 s, 2 s, 4 s ...
  std::chrono::milliseconds retry_cap{30000};  // also caps retry-after
};

namespace loop {
struct Send {
  std::string body;  // the request body; the protocol builds the HTTP request around it
  bool operator==(const Send&) const = default;
};
struct Wait {  // sleep, then resume()
  std::chrono::milliseconds delay;
  bool operator==(const Wait&) const = default;
};
struct RunTools {  // every call of the step, in order; answer each with on_tool_results
  std::vector<ToolCall> calls;
  bool operator==(const RunTools&) const = default;
};
struct Finish {
  std::string text;               // the turn's reply
  std::vector<std::string> turn;  // this turn's messages, for the history
  bool operator==(const Finish&) const = default;
};
struct Fail {
  Error error;  // message: one short line fit for the chat, never a body or a secret
};
}  // namespace loop

using LoopAction = std::variant<loop::Send, loop::Wait, loop::RunTools, loop::Finish, loop::Fail>;

class AgentLoop {
 public:
  using Clock = std::chrono::steady_clock;

  AgentLoop(const ModelProtocol& protocol, LoopLimits limits, std::string system, std::vector<ToolDefinition> tools,
            std::vector<std::string> history, std::string_view user_text,
            std::function<Clock::time_point()> now = Clock::now);

  LoopAction start();
  // A complete HTTP response; retry_after is the `retry-after` header, if any.
  LoopAction on_response(int status, std::string_view body, const std::optional<std::string>& retry_after = {});
  // The exchange failed without a response (the http.* codes of UnixHttpClient::exchange).
  LoopAction on_transport_error(const Error& error);
  LoopAction resume();
  // One result per call of the last RunTools, in the same order.
  LoopAction on_tool_results(std::vector<ToolResult> results);

  // What is left of the turn's wall time (nullopt: no limit), to bound a request.
  std::optional<std::chrono::milliseconds> time_left() const;
  int steps() const { return steps_; }

 private:
  LoopAction send();
  LoopAction retry_or_fail(const std::string& what, std::optional<std::chrono::milliseconds> hint);
  loop::Fail fail(std::string code, std::string line) const;

  const ModelProtocol& protocol_;
  LoopLimits limits_;
  std::string system_;
  std::vector<ToolDefinition> tools_;
  std::vector<std::string> history_;
  std::vector<std::string> turn_;
  std::vector<ToolCall> pending_;
  std::function<Clock::time_point()> now_;
  Clock::time_point started_;
  int steps_ = 0;
  int retries_ = 0;  // of the current request
};

// Room above the output limit for a tool's own marker and status line.
inline constexpr std::size_t kToolOutputSlack = 256;

// A tool's output as the model gets it: valid UTF-8, at most max_bytes (cut on a
// character boundary) plus `\n[... output truncated: N of M bytes shown]`; M is
// total_bytes when the producer already dropped bytes (bash reads past its cap).
std::string cap_tool_output(std::string_view text, std::size_t max_bytes, std::size_t total_bytes = 0);

// The chat line for a failed turn: "[squadbox] " + one line of the error.
std::string failure_line(std::string_view what);

}  // namespace sb::agent
