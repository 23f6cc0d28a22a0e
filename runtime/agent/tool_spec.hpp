#pragma once
// The tools the agent offers the model: names, descriptions and JSON Schemas. The
// names and parameters are a contract (docs/agents.md): prompts, namespace settings
// (SQUADBOX_AGENT_TOOLS) and the host's audit log refer to them. Pure data.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/agent_contract.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

inline constexpr const auto& kToolNames = kAgentToolNames;  // runtime/core/agent_contract.hpp

struct ToolDefinition {
  std::string_view name;
  std::string_view description;
  std::string_view schema_json;  // a JSON Schema object for the arguments
};

// Every tool, in kToolNames order.
const std::vector<ToolDefinition>& all_tool_definitions();
// The enabled ones, in kToolNames order (what the model is offered).
std::vector<ToolDefinition> enabled_tool_definitions(const std::vector<std::string>& enabled);
bool is_known_tool(std::string_view name);

// SQUADBOX_AGENT_TOOLS: "bash, read_file" -> {"bash","read_file"}; blanks around names
// and empty items are ignored, duplicates dropped. "agent.bad_tools" names an unknown tool.
Result<std::vector<std::string>> parse_tool_list(std::string_view csv);

}  // namespace sb::agent
