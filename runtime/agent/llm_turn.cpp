#include "runtime/agent/llm_turn.hpp"

#include <stdio.h>
#include <sys/stat.h>

#include "runtime/agent/agent_log.hpp"
#include "runtime/agent/llm.hpp"
#include "runtime/agent/unix_http.hpp"
#include "runtime/core/time.hpp"
#include "runtime/ipc/ipc_fs.hpp"

namespace sb::agent {
namespace {

constexpr std::size_t kMaxHistoryFileBytes = 8u << 20;
constexpr std::size_t kMaxSystemFileBytes = 256u << 10;
constexpr std::size_t kMaxResponseBytes = 8u << 20;

// An unreadable or corrupt history must not block the chat forever: it is moved aside
// (kept for the operator) and the conversation starts over.
std::vector<ChatMessage> load_history(const std::string& dir, const std::string& name, const std::string& chat) {
  std::string path = dir + "/" + name;
  auto bytes = ipc::read_bounded(path, kMaxHistoryFileBytes);
  if (!bytes && bytes.error().code == "ipc.gone") return {};
  Result<std::vector<ChatMessage>> history =
      bytes ? decode_history(*bytes) : Result<std::vector<ChatMessage>>(bytes.error());
  if (history) return std::move(*history);
  std::string aside = path + ".corrupt-" + std::to_string(now_ms());
  bool moved = ::rename(path.c_str(), aside.c_str()) == 0;
  log_event("warn", "agent.history_reset",
            {{"chat", chat}, {"error", history.error().message}, {"moved_to", moved ? aside : std::string("-")}});
  return {};
}

}  // namespace

Result<std::string> run_llm_turn(const LlmSettings& llm, const ProxySettings& proxy, const ipc::InputMessage& in) {
  const std::string chat = chat_key(in.chat_jid);
  const std::string dir = llm.session_dir + "/history";
  const std::string name = history_file_name(chat);

  MessagesRequest req;
  req.model = llm.model;
  req.max_tokens = llm.max_tokens;
  if (llm.system_file) {
    auto sys = ipc::read_bounded(*llm.system_file, kMaxSystemFileBytes);
    if (!sys) return make_error("llm.system_file", "cannot read SQUADBOX_LLM_SYSTEM_FILE: " + sys.error().message);
    req.system = std::move(*sys);
  }
  req.messages = load_history(dir, name, chat);
  const std::size_t history_size = req.messages.size();
  req.messages.push_back({"user", in.text});

  auto http = build_messages_http_request(llm.route, proxy.token, encode_messages_body(req));
  if (!http) return http.error();
  auto resp = unix_http_exchange(proxy.socket, *http, llm.timeout, kMaxResponseBytes);
  if (!resp) return make_error(resp.error().code, "credential proxy: " + resp.error().message);
  auto reply = parse_messages_reply(resp->status, resp->body);
  if (!reply) return reply.error();

  req.messages.push_back({"assistant", *reply});
  auto kept = trim_history(std::move(req.messages));
  // Normally both exist (the host mounts the session dir); a failure shows in the write.
  ::mkdir(llm.session_dir.c_str(), 0700);
  ::mkdir(dir.c_str(), 0700);
  auto st = ipc::write_atomic(dir, name, encode_history(chat, kept), /*replace=*/true, 0600);
  if (!st) {
    // The reply is still worth delivering; the next turn of this chat lacks this one.
    log_event("warn", "agent.history_write_failed", {{"chat", chat}, {"error", st.error().message}});
  }
  log_event("info", "agent.llm_turn",
            {{"chat", chat},
             {"history", std::to_string(history_size)},
             {"status", std::to_string(resp->status)},
             {"reply_bytes", std::to_string(reply->size())}});
  return reply;
}

}  // namespace sb::agent
