#pragma once
// The contract between a namespace's agent settings (host) and the in-container agent:
// the model protocols it speaks and the names of its tools. One copy for both sides of
// the container boundary (the host writes SQUADBOX_LLM_PROTOCOL / SQUADBOX_AGENT_TOOLS,
// the agent reads them), so they cannot drift apart. Header-only: the static agent
// uses it too.
#include <array>
#include <optional>
#include <string_view>

namespace sb {

enum class LlmProtocol { anthropic, openai };

// "anthropic" | "openai": the config value, the env value and the JSON value.
constexpr std::string_view to_string(LlmProtocol p) {
  return p == LlmProtocol::openai ? "openai" : "anthropic";
}

constexpr std::optional<LlmProtocol> parse_llm_protocol(std::string_view s) {
  if (s == "anthropic") return LlmProtocol::anthropic;
  if (s == "openai") return LlmProtocol::openai;
  return std::nullopt;
}

// Every tool of the built-in agent, in the order it offers them (docs/agents.md).
inline constexpr std::array<std::string_view, 11> kAgentToolNames = {
    "bash",          "read_file",  "write_file", "edit_file",   "list_files", "send_message",
    "schedule_task", "list_tasks", "pause_task", "resume_task", "cancel_task"};

}  // namespace sb
