#pragma once
// One tool call -> its result: refuses tools that are not enabled (and reports the
// refusal to the host), answers calls whose arguments are not an object with an error,
// reads the arguments and runs the tool.
#include <string>
#include <vector>

#include "runtime/agent/model_protocol.hpp"
#include "runtime/agent/tools/tool_context.hpp"

namespace sb::agent {

ToolResult run_tool(const ToolCall& call, const ToolContext& ctx, const std::vector<std::string>& enabled);

}  // namespace sb::agent
