#include "runtime/agent/tool_spec.hpp"

#include <algorithm>

namespace sb::agent {

const std::vector<ToolDefinition>& all_tool_definitions() {
  static const std::vector<ToolDefinition> defs = {
      {"bash",
       "Run a shell command with /bin/sh -c in the workspace. stdout and stderr are combined; the result ends with "
       "the exit code. Background processes do not outlive the call.",
       R"({"type":"object","properties":{"command":{"type":"string","description":"the shell command"},)"
       R"("timeout_ms":{"type":"integer","description":"kill the command after this many milliseconds"}},)"
       R"("required":["command"]})"},
      {"read_file",
       "Read a text file. Paths are relative to the workspace (absolute paths must be inside the workspace or the "
       "session directory). Returns up to `limit` lines starting at line `offset` (1-based).",
       R"({"type":"object","properties":{"path":{"type":"string"},)"
       R"j("offset":{"type":"integer","description":"first line, 1-based (default 1)"},)j"
       R"j("limit":{"type":"integer","description":"number of lines (default 2000)"}},"required":["path"]})j"},
      {"write_file", "Create or replace a file with the given content (atomically). The parent directory must exist.",
       R"({"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},)"
       R"("required":["path","content"]})"},
      {"edit_file",
       "Replace one exact occurrence of old_string with new_string in a file. old_string must occur exactly once; "
       "include enough surrounding text to make it unique.",
       R"({"type":"object","properties":{"path":{"type":"string"},"old_string":{"type":"string"},)"
       R"("new_string":{"type":"string"}},"required":["path","old_string","new_string"]})"},
      {"list_files",
       "List files in the workspace matching a glob pattern (`*`, `?`, `**` for any depth), sorted; directories end "
       "with '/'. Default pattern: `*` (the top level).",
       R"({"type":"object","properties":{"pattern":{"type":"string","description":"e.g. src/**/*.cpp"}}})"},
      {"send_message",
       "Send a message to the chat now (before your final answer), or to another chat the group may write to.",
       R"({"type":"object","properties":{"text":{"type":"string"},)"
       R"("chat_jid":{"type":"string","description":"target chat; default: this conversation's chat"}},)"
       R"("required":["text"]})"},
      {"schedule_task",
       "Schedule a prompt to run later: schedule_type cron (a cron expression), interval (milliseconds) or once "
       "(an ISO-8601 time). context_mode group runs it in this group's conversation, isolated (default) alone.",
       R"({"type":"object","properties":{"prompt":{"type":"string"},)"
       R"("schedule_type":{"type":"string","enum":["cron","interval","once"]},)"
       R"("schedule_value":{"type":"string"},"context_mode":{"type":"string","enum":["group","isolated"]}},)"
       R"("required":["prompt","schedule_type","schedule_value"]})"},
      {"list_tasks", "List the scheduled tasks this group can see.", R"({"type":"object","properties":{}})"},
      {"pause_task", "Pause a scheduled task.",
       R"({"type":"object","properties":{"task_id":{"type":"string"}},"required":["task_id"]})"},
      {"resume_task", "Resume a paused task.",
       R"({"type":"object","properties":{"task_id":{"type":"string"}},"required":["task_id"]})"},
      {"cancel_task", "Cancel (delete) a scheduled task.",
       R"({"type":"object","properties":{"task_id":{"type":"string"}},"required":["task_id"]})"},
  };
  return defs;
}

std::vector<ToolDefinition> enabled_tool_definitions(const std::vector<std::string>& enabled) {
  std::vector<ToolDefinition> out;
  for (const auto& d : all_tool_definitions())
    if (std::find(enabled.begin(), enabled.end(), d.name) != enabled.end()) out.push_back(d);
  return out;
}

bool is_known_tool(std::string_view name) {
  return std::find(kToolNames.begin(), kToolNames.end(), name) != kToolNames.end();
}

Result<std::vector<std::string>> parse_tool_list(std::string_view csv) {
  std::vector<std::string> out;
  while (!csv.empty()) {
    std::size_t comma = csv.find(',');
    std::string_view item = csv.substr(0, comma);
    csv = comma == std::string_view::npos ? std::string_view() : csv.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    if (!is_known_tool(item))
      return make_error("agent.bad_tools",
                        "SQUADBOX_AGENT_TOOLS names an unknown tool: " + std::string(item.substr(0, 64)));
    if (std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
  }
  return out;
}

}  // namespace sb::agent
