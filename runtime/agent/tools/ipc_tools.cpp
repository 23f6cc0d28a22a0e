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

void report_refused_tool(const ToolContext& ctx, const std::string& tool) {
  ipc::ToolRefused r{utf8::truncate(utf8::sanitize(tool), ipc::kMaxToolNameBytes),
                     ctx.in_reply_to.empty() ? std::nullopt : std::optional(ctx.in_reply_to)};
  if (r.tool.empty()) r.tool = "?";
  auto st = hand_to_host(ctx, r);
  if (!st) log_event("warn", "agent.tool_refused_report_failed", {{"tool", r.tool}, {"error", st.error().message}});
}

}  // namespace sb::agent
