#include "agent/turn.hpp"

#include <rapidjson/document.h>

#include <charconv>

namespace sb::agent {

Result<std::vector<std::string>> parse_command(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsArray() || doc.Empty())
    return make_error("agent.bad_command",
                      "SQUADBOX_AGENT_COMMAND must be a non-empty JSON array of strings");
  std::vector<std::string> argv;
  for (const auto& v : doc.GetArray()) {
    if (!v.IsString() || v.GetStringLength() == 0)
      return make_error("agent.bad_command", "SQUADBOX_AGENT_COMMAND elements must be non-empty strings");
    argv.emplace_back(v.GetString(), v.GetStringLength());
  }
  return argv;
}

Result<Config> parse_config(const GetEnv& getenv, const std::vector<std::string>& args) {
  Config c;
  auto env = [&](const char* k) -> std::optional<std::string> {
    const char* v = getenv(k);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  if (auto d = env("SQUADBOX_IPC_DIR")) c.ipc_dir = *d;
  if (auto m = env("SQUADBOX_AGENT_MODE")) {
    if (*m == "echo") c.mode = Mode::echo;
    else if (*m == "exec") c.mode = Mode::exec;
    else return make_error("agent.bad_mode", "SQUADBOX_AGENT_MODE must be echo or exec, got " + *m);
  }
  if (c.mode == Mode::exec) {
    auto cmd = env("SQUADBOX_AGENT_COMMAND");
    if (!cmd) return make_error("agent.bad_command", "exec mode needs SQUADBOX_AGENT_COMMAND");
    auto argv = parse_command(*cmd);
    if (!argv) return argv.error();
    c.command = std::move(*argv);
  }
  if (auto o = env("SQUADBOX_AGENT_ONESHOT")) c.oneshot = (*o == "1" || *o == "true");
  if (auto m = env("SQUADBOX_IPC_MAX_BYTES")) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(m->data(), m->data() + m->size(), n);
    if (ec != std::errc() || p != m->data() + m->size() || n < 1024)
      return make_error("agent.bad_max_bytes", "SQUADBOX_IPC_MAX_BYTES must be an integer >= 1024");
    c.max_bytes = n;
  }
  if (auto p = env("SQUADBOX_PROMPT")) c.prompt = *p;

  size_t i = 0;
  if (!args.empty() && args[0] == "--") i = 1;
  else if (!args.empty() && !args[0].empty() && args[0][0] == '-')
    return make_error("agent.bad_args", "usage: squadbox-agent [-- prompt words...]");
  if (i < args.size()) {
    std::string prompt;
    for (; i < args.size(); ++i) {
      if (!prompt.empty()) prompt += ' ';
      prompt += args[i];
    }
    c.prompt = std::move(prompt);
  }
  return c;
}

std::string reply_from_stdout(std::string out) {
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<ipc::Payload> turn_outputs(const ipc::InputMessage& in, const Result<std::string>& reply,
                                       std::size_t max_bytes) {
  std::vector<ipc::Payload> out;
  ipc::TurnDone done{in.id, true, {}};
  if (!reply) {
    done.ok = false;
    done.error = reply.error().message;
  } else if (!reply.value().empty()) {
    ipc::OutboundMessage m{reply.value(), in.id, in.chat_jid};
    if (ipc::encode(m).size() > max_bytes) {
      done.ok = false;
      done.error = "reply exceeds the IPC size limit of " + std::to_string(max_bytes) + " bytes";
    } else {
      out.emplace_back(std::move(m));
    }
  }
  if (!done.ok && ipc::encode(done).size() > max_bytes) done.error.resize(max_bytes / 2);
  out.emplace_back(std::move(done));
  return out;
}

}  // namespace sb::agent
