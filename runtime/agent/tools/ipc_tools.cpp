#include "runtime/agent/tools/ipc_tools.hpp"

#include "runtime/agent/agent_log.hpp"
#include "runtime/agent/agent_loop.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/ipc/ipc_fs.hpp"

namespace sb::agent {
namespace {

// Encodes, validates as the host will, writes. The error is the result's text.
Result<std::string> hand_to_host(const ToolContext& ctx, const ipc::Payload& p) {
  const std::string bytes = ipc::encode(p);
  auto check = ipc::decode(ipc::box_of(p), bytes, ctx.ipc_max_bytes);
  if (!check) return make_error(check.error().code, "the host would refuse this: " + check.error().message);
  if (!ctx.namer) return make_error("tool.internal", "no IPC writer");
  auto name = ipc::write_payload(ctx.ipc_dir + "/" + std::string(ipc::box_dir(ipc::box_of(p))), *ctx.namer, bytes);
  if (!name) return make_error(name.error().code, "could not hand it to the host: " + name.error().message);
  return std::move(*name);
}

ToolResult result_of(const Result<std::string>& r, std::string ok_text) {
  if (!r) return {r.error().message, true};
  return {std::move(ok_text), false};
}

}  // namespace

ToolResult send_message_tool(const ToolContext& ctx, const std::string& text, const std::optional<std::string>& chat) {
  ipc::OutboundMessage m{utf8::sanitize(text), ctx.in_reply_to.empty() ? std::nullopt : std::optional(ctx.in_reply_to),
                         chat};
  return result_of(hand_to_host(ctx, m), "message handed to the host for " +
                                             chat.value_or(ctx.chat_jid.value_or("this chat")) +
                                             " (the host checks that this group may send there)");
}

ToolResult schedule_task_tool(const ToolContext& ctx, const ipc::ScheduleTask& task) {
  return result_of(hand_to_host(ctx, task),
                   "schedule request handed to the host (" + task.schedule_type + " " + task.schedule_value +
                       "); the host validates the schedule and may refuse it. Check with list_tasks.");
}

ToolResult task_control_tool(const ToolContext& ctx, ipc::TaskControl::Op op, const std::string& task_id) {
  ipc::TaskControl c{op, task_id};
  return result_of(hand_to_host(ctx, c), std::string(ipc::type_name(c)) + " " + task_id +
                                             " handed to the host (it applies it if the task belongs to this group)");
}

ToolResult list_tasks_tool(const ToolContext& ctx) {
  auto bytes = ipc::read_bounded(ctx.ipc_dir + "/current_tasks.json", 4u << 20);
  if (!bytes) {
    if (bytes.error().code == "ipc.gone") return {"no tasks (the host has not published a task list)", false};
    return {"cannot read the task list: " + bytes.error().message, true};
  }
  return {cap_tool_output(*bytes, ctx.output_max_bytes), false};
}

std::string progress_line(std::string_view tool, const ToolResult& result, long long ms) {
  std::string_view content = result.content;
  while (!content.empty() && (content.back() == '\n' || content.back() == ' ')) content.remove_suffix(1);
  std::string what;
  const auto nl = content.rfind('\n');
  const auto last = content.substr(nl == std::string_view::npos ? 0 : nl + 1);
  if (last.size() >= 2 && last.front() == '[' && last.back() == ']') {
    what = std::string(last.substr(1, last.size() - 2));  // bash: "[exit code 0]", "[killed after ...]"
  } else if (result.is_error) {
    auto first = content.substr(0, content.find('\n'));
    if (first.starts_with("Error: ")) first.remove_prefix(7);
    what = "error: " + std::string(first.substr(0, 160));
  } else {
    what = "ok";
  }
  return std::string(tool.substr(0, 64)) + ": " + what + " (" + std::to_string(ms) + " ms)";
}

void report_progress(const ToolContext& ctx, const std::string& line) {
  std::string text = utf8::sanitize(line);
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  ipc::Progress p{utf8::truncate(text, ipc::kMaxProgressBytes),
                  ctx.in_reply_to.empty() ? std::nullopt : std::optional(ctx.in_reply_to)};
  if (p.text.empty()) return;
  auto st = hand_to_host(ctx, p);
  if (!st) log_event("warn", "agent.progress_report_failed", {{"error", st.error().message}});
}

void report_refused_tool(const ToolContext& ctx, const std::string& tool) {
  ipc::ToolRefused r{utf8::truncate(utf8::sanitize(tool), ipc::kMaxToolNameBytes),
                     ctx.in_reply_to.empty() ? std::nullopt : std::optional(ctx.in_reply_to)};
  if (r.tool.empty()) r.tool = "?";
  auto st = hand_to_host(ctx, r);
  if (!st) log_event("warn", "agent.tool_refused_report_failed", {{"tool", r.tool}, {"error", st.error().message}});
}

}  // namespace sb::agent
