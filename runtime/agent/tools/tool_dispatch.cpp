#include "runtime/agent/tools/tool_dispatch.hpp"

#include <algorithm>

#include "runtime/agent/tool_spec.hpp"
#include "runtime/agent/tools/bash_tool.hpp"
#include "runtime/agent/tools/file_tools.hpp"
#include "runtime/agent/tools/ipc_tools.hpp"
#include "runtime/agent/tools/list_files.hpp"
#include "runtime/agent/tools/tool_args.hpp"

namespace sb::agent {
namespace {

ToolResult run_known(const std::string& name, const ToolArgs& a, const ToolContext& ctx) {
  auto bad = [](const Error& e) { return ToolResult{e.message, true}; };
  if (name == "bash") {
    auto command = a.str("command");
    if (!command) return bad(command.error());
    auto timeout = a.opt_int("timeout_ms");
    if (!timeout) return bad(timeout.error());
    BashRequest req{*command, ctx.workspace, ctx.bash_timeout, ctx.output_max_bytes};
    if (*timeout && **timeout > 0) req.timeout = std::min(ctx.bash_timeout, std::chrono::milliseconds(**timeout));
    return run_bash(req);
  }
  if (name == "read_file") {
    auto path = a.str("path");
    auto offset = a.opt_int("offset");
    auto limit = a.opt_int("limit");
    if (!path) return bad(path.error());
    if (!offset) return bad(offset.error());
    if (!limit) return bad(limit.error());
    return read_file_tool(ctx, *path, *offset, *limit);
  }
  if (name == "write_file") {
    auto path = a.str("path");
    auto content = a.str("content");
    if (!path) return bad(path.error());
    if (!content) return bad(content.error());
    return write_file_tool(ctx, *path, *content);
  }
  if (name == "edit_file") {
    auto path = a.str("path");
    auto old_s = a.str("old_string");
    auto new_s = a.str("new_string");
    if (!path) return bad(path.error());
    if (!old_s) return bad(old_s.error());
    if (!new_s) return bad(new_s.error());
    return edit_file_tool(ctx, *path, *old_s, *new_s);
  }
  if (name == "list_files") {
    auto pattern = a.opt_str("pattern");
    if (!pattern) return bad(pattern.error());
    return list_files_tool(ctx, *pattern);
  }
  if (name == "send_message") {
    auto text = a.str("text");
    auto chat = a.opt_str("chat_jid");
    if (!text) return bad(text.error());
    if (!chat) return bad(chat.error());
    return send_message_tool(ctx, *text, *chat);
  }
  if (name == "schedule_task") {
    auto prompt = a.str("prompt");
    auto type = a.str("schedule_type");
    auto value = a.str("schedule_value");
    auto mode = a.opt_str("context_mode");
    if (!prompt) return bad(prompt.error());
    if (!type) return bad(type.error());
    if (!value) return bad(value.error());
    if (!mode) return bad(mode.error());
    return schedule_task_tool(ctx, ipc::ScheduleTask{*prompt, *type, *value, mode->value_or("isolated"), std::nullopt});
  }
  if (name == "list_tasks") return list_tasks_tool(ctx);
  auto id = a.str("task_id");
  if (!id) return bad(id.error());
  auto op = name == "pause_task"    ? ipc::TaskControl::Op::pause
            : name == "resume_task" ? ipc::TaskControl::Op::resume
                                    : ipc::TaskControl::Op::cancel;
  return task_control_tool(ctx, op, *id);
}

}  // namespace

ToolResult run_tool(const ToolCall& call, const ToolContext& ctx, const std::vector<std::string>& enabled) {
  if (std::find(enabled.begin(), enabled.end(), call.name) == enabled.end()) {
    report_refused_tool(ctx, call.name);
    if (!is_known_tool(call.name)) return {"there is no tool named " + call.name.substr(0, 64), true};
    return {"tool " + call.name + " is not enabled for this group", true};
  }
  if (call.input_error) return {*call.input_error, true};
  auto args = ToolArgs::parse(call.input_json);
  if (!args) return {args.error().message, true};
  return run_known(call.name, *args, ctx);
}

}  // namespace sb::agent
