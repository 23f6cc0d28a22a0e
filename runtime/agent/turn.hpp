#pragma once
// The agent's pure parts: configuration from env/args, the exec command parser and the
// turn logic (input + reply -> payloads to write). No I/O, so tests need no inotify.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/agent_contract.hpp"
#include "runtime/core/result.hpp"
#include "runtime/ipc/protocol.hpp"

namespace sb::agent {

enum class Mode { echo, exec, llm };
std::string_view mode_name(Mode mode);

// The credential proxy as the container sees it (set by the host, docs/ipc.md).
struct ProxySettings {
  std::string socket;            // SQUADBOX_PROXY_SOCKET: the proxy's unix socket
  std::optional<uint16_t> port;  // SQUADBOX_PROXY_PORT: bridge on 127.0.0.1:port (0: any free port)
  std::string token;             // SQUADBOX_PROXY_TOKEN: this run's placeholder credential
};

// The wire protocol of the model API behind the proxy route (runtime/core/agent_contract.hpp).
using sb::LlmProtocol;

struct LlmSettings {
  LlmProtocol protocol = LlmProtocol::anthropic;  // SQUADBOX_LLM_PROTOCOL (anthropic|openai)
  std::string route = "anthropic";                // SQUADBOX_LLM_ROUTE
  std::string model = "claude-sonnet-4-5";        // SQUADBOX_LLM_MODEL
  int64_t max_tokens = 1024;                      // SQUADBOX_LLM_MAX_TOKENS
  // SQUADBOX_LLM_INSTRUCTIONS_FILE (alias SQUADBOX_LLM_SYSTEM_FILE): the namespace's
  // instructions, first part of the system prompt.
  std::optional<std::string> instructions_file;
  std::string session_dir = "/session";  // SQUADBOX_SESSION_DIR; memory is <session>/memory.md
  std::string workspace = "/workspace";  // SQUADBOX_WORKSPACE: the file tools' root, bash's cwd
  // SQUADBOX_AGENT_TOOLS: comma list of enabled tool names; unset = all, "" = none.
  std::vector<std::string> tools;
  int max_steps = 20;  // SQUADBOX_LLM_MAX_STEPS: model requests per turn
  // SQUADBOX_LLM_TURN_TIMEOUT_MS: wall time of a whole turn; 0 = none (the container's
  // own timeout bounds it anyway).
  std::chrono::milliseconds turn_timeout{0};
  std::size_t tool_output_max_bytes = 32768;      // SQUADBOX_TOOL_OUTPUT_MAX_BYTES, per tool call
  std::chrono::milliseconds bash_timeout{60000};  // SQUADBOX_BASH_TIMEOUT_MS: default and cap of a bash call
  // SQUADBOX_LLM_TIMEOUT_MS: one model request. Above the proxy's own request timeout
  // (600 s), so the proxy's 504 normally arrives first and names the cause.
  std::chrono::milliseconds timeout{630000};
};

struct Config {
  std::string ipc_dir = "/workspace/ipc";
  Mode mode = Mode::echo;
  std::vector<std::string> command;   // exec mode: argv
  std::optional<std::string> prompt;  // handled as input id "prompt"
  bool oneshot = false;
  std::size_t max_bytes = ipc::kDefaultMaxBytes;
  ProxySettings proxy;
  LlmSettings llm;
};

inline constexpr std::string_view kPromptId = "prompt";

// Env: SQUADBOX_IPC_DIR, SQUADBOX_AGENT_MODE (echo|exec|llm), SQUADBOX_AGENT_COMMAND (JSON
// array of strings), SQUADBOX_PROMPT, SQUADBOX_AGENT_ONESHOT (1|true),
// SQUADBOX_IPC_MAX_BYTES, the SQUADBOX_PROXY_* and SQUADBOX_LLM_* names above and
// SQUADBOX_SESSION_DIR. llm mode needs SQUADBOX_PROXY_SOCKET and SQUADBOX_PROXY_TOKEN.
// Args: `[--] words...` = the prompt (wins over the env).
using GetEnv = std::function<const char*(const char*)>;
Result<Config> parse_config(const GetEnv& getenv, const std::vector<std::string>& args);

// `["/bin/sh","-c","tr a-z A-Z"]` -> argv. Must be a non-empty array of non-empty strings.
Result<std::vector<std::string>> parse_command(std::string_view json);

// Command stdout -> reply text: one trailing newline is dropped (shell tools end their
// output with one); everything else is kept verbatim.
std::string reply_from_stdout(std::string out);

// What to write for one processed input: the reply message (skipped when the reply is
// empty) then turn_done; a failed reply yields only turn_done{status:error}. A reply
// whose encoding exceeds max_bytes becomes a turn_done error instead. Every file passes
// the host's checks: reply and error are made valid UTF-8 (U+FFFD for bad bytes, as a
// command may print anything), and an error whose encoding would exceed max_bytes is cut
// on a character boundary with "…" appended.
// failure_is_final: a failed reply is marked retry=false (the llm loop already retried
// what made sense; its error is the one line for the chat), so the host does not run the
// turn again.
std::vector<ipc::Payload> turn_outputs(const ipc::InputMessage& in, const Result<std::string>& reply,
                                       std::size_t max_bytes = ipc::kDefaultMaxBytes, bool failure_is_final = false);

}  // namespace sb::agent
