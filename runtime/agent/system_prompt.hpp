#pragma once
// The system prompt of an llm-mode turn: the namespace's instructions, the agent's
// memory file, then a short description of where it runs and what it can do. Pure.
#include <optional>
#include <string>
#include <vector>

#include "runtime/agent/tool_spec.hpp"

namespace sb::agent {

struct SystemPromptParts {
  std::string instructions;           // SQUADBOX_LLM_INSTRUCTIONS_FILE's content (may be empty)
  std::optional<std::string> memory;  // <session>/memory.md's content; nullopt: no such file
  std::string memory_path;
  std::string chat;  // the chat JID (or "default")
  std::string workspace;
  std::vector<ToolDefinition> tools;  // the enabled ones
};

std::string build_system_prompt(const SystemPromptParts& parts);

}  // namespace sb::agent
