#include "runtime/agent/llm_turn.hpp"

#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>

#include <chrono>

#include "runtime/agent/agent_log.hpp"
#include "runtime/agent/agent_loop.hpp"
#include "runtime/agent/history_file.hpp"
#include "runtime/agent/llm.hpp"
#include "runtime/agent/model_protocol.hpp"
#include "runtime/agent/system_prompt.hpp"
#include "runtime/agent/tools/ipc_tools.hpp"
#include "runtime/agent/tools/tool_dispatch.hpp"
#include "runtime/agent/unix_http.hpp"
#include "runtime/core/time.hpp"
#include "runtime/ipc/ipc_fs.hpp"

namespace sb::agent {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxHistoryFileBytes = 8u << 20;
constexpr std::size_t kMaxInstructionsBytes = 256u << 10;
constexpr std::size_t kMaxMemoryBytes = 64u << 10;
constexpr std::size_t kMaxResponseBytes = 8u << 20;

// An unreadable or corrupt history must not block the chat forever: it is moved aside
// (kept for the operator) and the conversation starts over.
std::vector<HistoryTurn> load_history(const std::string& dir, const std::string& name, const std::string& chat,
                                      const ModelProtocol& protocol) {
  std::string path = dir + "/" + name;
  auto bytes = ipc::read_bounded(path, kMaxHistoryFileBytes);
  if (!bytes && bytes.error().code == "ipc.gone") return {};
  Result<LoadedHistory> history = bytes ? decode_history_file(*bytes, protocol) : Result<LoadedHistory>(bytes.error());
  if (history) {
    if (history->note) log_event("info", "agent.history_converted", {{"chat", chat}, {"note", *history->note}});
    return std::move(history->turns);
  }
  std::string aside = path + ".corrupt-" + std::to_string(now_ms());
  bool moved = ::rename(path.c_str(), aside.c_str()) == 0;
  log_event("warn", "agent.history_reset",
            {{"chat", chat}, {"error", history.error().message}, {"moved_to", moved ? aside : std::string("-")}});
  return {};
}

void save_history(const LlmSettings& llm, const std::string& dir, const std::string& name, const std::string& chat,
                  const ModelProtocol& protocol, std::vector<HistoryTurn> turns) {
  auto kept = trim_turns(std::move(turns));
  // Normally both exist (the host mounts the session dir); a failure shows in the write.
  ::mkdir(llm.session_dir.c_str(), 0700);
  ::mkdir(dir.c_str(), 0700);
  auto st = ipc::write_atomic(dir, name, encode_history_file(protocol, chat, kept), /*replace=*/true, 0600);
  // The reply is still worth delivering; the next turn of this chat lacks this one.
  if (!st) log_event("warn", "agent.history_write_failed", {{"chat", chat}, {"error", st.error().message}});
}

std::optional<std::string> read_optional(const std::string& path, std::size_t max) {
  auto r = ipc::read_bounded(path, max);
  if (!r) return std::nullopt;
  return std::move(*r);
}

long long micros_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

}  // namespace

Result<std::string> run_llm_turn(const LlmSettings& llm, const ProxySettings& proxy, const IpcWriter& ipc,
                                 const ipc::InputMessage& in) {
  const ModelProtocol& protocol = model_protocol(llm.protocol);
  const std::string chat = chat_key(in.chat_jid);
  const std::string dir = llm.session_dir + "/history";
  const std::string name = history_file_name(chat);
  const auto tools = enabled_tool_definitions(llm.tools);

  SystemPromptParts parts;
  if (llm.instructions_file) {
    auto text = ipc::read_bounded(*llm.instructions_file, kMaxInstructionsBytes);
    if (!text)
      return make_error("llm.instructions_file",
                        failure_line("cannot read SQUADBOX_LLM_INSTRUCTIONS_FILE: " + text.error().message));
    parts.instructions = std::move(*text);
  }
  parts.memory_path = llm.session_dir + "/memory.md";
  parts.memory = read_optional(parts.memory_path, kMaxMemoryBytes);
  parts.chat = chat;
  parts.workspace = llm.workspace;
  parts.tools = tools;

  std::vector<HistoryTurn> history = load_history(dir, name, chat, protocol);
  std::vector<std::string> flat;
  for (const auto& t : history) flat.insert(flat.end(), t.begin(), t.end());

  LoopLimits limits;
  limits.model = llm.model;
  limits.max_tokens = llm.max_tokens;
  limits.max_steps = llm.max_steps;
  limits.tool_output_max_bytes = llm.tool_output_max_bytes;
  limits.turn_timeout = llm.turn_timeout;
  AgentLoop loop(protocol, limits, build_system_prompt(parts), tools, std::move(flat), in.text);

  ToolContext ctx;
  ctx.workspace = llm.workspace;
  ctx.session_dir = llm.session_dir;
  ctx.ipc_dir = ipc.ipc_dir;
  ctx.in_reply_to = in.id;
  ctx.chat_jid = in.chat_jid;
  ctx.bash_timeout = llm.bash_timeout;
  ctx.output_max_bytes = llm.tool_output_max_bytes;
  ctx.ipc_max_bytes = ipc.max_bytes;
  ctx.namer = ipc.namer;

  UnixHttpClient http_client(proxy.socket);
  int last_status = 0, tool_calls = 0;
  LoopAction action = loop.start();
  while (true) {
    if (auto* send = std::get_if<loop::Send>(&action)) {
      auto http = protocol.build_http_request(llm.route, proxy.token, send->body);
      if (!http) return http.error();
      auto timeout = llm.timeout;
      if (auto left = loop.time_left()) timeout = std::max(std::chrono::milliseconds(1), std::min(timeout, *left));
      auto resp = http_client.exchange(*http, timeout, kMaxResponseBytes);
      if (!resp) {
        action = loop.on_transport_error(resp.error());
        continue;
      }
      last_status = resp->status;
      action = loop.on_response(resp->status, resp->body, resp->header("retry-after"));
    } else if (auto* wait = std::get_if<loop::Wait>(&action)) {
      log_event("info", "agent.llm_retry", {{"chat", chat}, {"delay_ms", std::to_string(wait->delay.count())}});
      const auto until = Clock::now() + wait->delay;
      while (Clock::now() < until) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        ::poll(nullptr, 0, static_cast<int>(std::max<long long>(left, 1)));
      }
      action = loop.resume();
    } else if (auto* run = std::get_if<loop::RunTools>(&action)) {
      std::vector<ToolResult> results;
      for (const auto& call : run->calls) {
        const auto start = Clock::now();
        results.push_back(run_tool(call, ctx, llm.tools));
        ++tool_calls;
        const auto us = micros_since(start);
        log_event(results.back().is_error ? "warn" : "info", "agent.tool",
                  {{"name", call.name.substr(0, 64)},
                   {"status", results.back().is_error ? "error" : "ok"},
                   {"duration_us", std::to_string(us)},
                   {"output_bytes", std::to_string(results.back().content.size())}});
        report_progress(ctx, progress_line(call.name, results.back(), static_cast<long long>(us / 1000)));
      }
      action = loop.on_tool_results(std::move(results));
    } else if (auto* done = std::get_if<loop::Finish>(&action)) {
      const std::size_t history_turns = history.size();
      history.push_back(std::move(done->turn));
      save_history(llm, dir, name, chat, protocol, std::move(history));
      log_event("info", "agent.llm_turn",
                {{"chat", chat},
                 {"protocol", std::string(to_string(llm.protocol))},
                 {"history_turns", std::to_string(history_turns)},
                 {"steps", std::to_string(loop.steps())},
                 {"tool_calls", std::to_string(tool_calls)},
                 {"status", std::to_string(last_status)},
                 {"reply_bytes", std::to_string(done->text.size())}});
      return std::move(done->text);
    } else {
      auto& fail = std::get<loop::Fail>(action);
      log_event("warn", "agent.llm_turn_failed",
                {{"chat", chat},
                 {"code", fail.error.code},
                 {"steps", std::to_string(loop.steps())},
                 {"status", std::to_string(last_status)}});
      return fail.error;
    }
  }
}

}  // namespace sb::agent
