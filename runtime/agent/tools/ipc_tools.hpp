#pragma once
// The tools that talk to the host through the IPC directory: send_message and the task
// tools write the existing messages/ and tasks/ payloads (the host checks permissions,
// so a result says "handed to the host", not "done"); list_tasks reads the host's
// current_tasks.json. Each payload is validated with the host's own decoder first, so
// the model learns about a bad field at once.
#include <optional>
#include <string>
#include <string_view>

#include "runtime/agent/model_protocol.hpp"
#include "runtime/agent/tools/tool_context.hpp"
#include "runtime/ipc/protocol.hpp"

namespace sb::agent {

ToolResult send_message_tool(const ToolContext& ctx, const std::string& text, const std::optional<std::string>& chat);
ToolResult schedule_task_tool(const ToolContext& ctx, const ipc::ScheduleTask& task);
ToolResult task_control_tool(const ToolContext& ctx, ipc::TaskControl::Op op, const std::string& task_id);
ToolResult list_tasks_tool(const ToolContext& ctx);
// The tool_refused report for the host's audit log (best effort: logged if it fails).
void report_refused_tool(const ToolContext& ctx, const std::string& tool);
// One `progress` line for the host (a terminal shows it; a chat does not).
void report_progress(const ToolContext& ctx, const std::string& line);
// "bash: exit code 0 (16 ms)", "read_file: error: notes.txt: not found (1 ms)": what a
// person watching the turn needs, never the tool's output itself.
std::string progress_line(std::string_view tool, const ToolResult& result, long long ms);

}  // namespace sb::agent
