#include "runtime/agent/turn.hpp"

#include <cctype>
#include <charconv>

#include <rapidjson/document.h>

#include "runtime/agent/tool_spec.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::agent {

Result<std::vector<std::string>> parse_command(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsArray() || doc.Empty())
    return make_error("agent.bad_command", "SQUADBOX_AGENT_COMMAND must be a non-empty JSON array of strings");
  std::vector<std::string> argv;
  for (const auto& v : doc.GetArray()) {
    if (!v.IsString() || v.GetStringLength() == 0)
      return make_error("agent.bad_command", "SQUADBOX_AGENT_COMMAND elements must be non-empty strings");
    argv.emplace_back(v.GetString(), v.GetStringLength());
  }
  return argv;
}

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::echo: return "echo";
    case Mode::exec: return "exec";
    case Mode::llm: return "llm";
  }
  return "echo";
}

namespace {

// A decimal integer in [min, max], the whole string.
std::optional<int64_t> parse_int(const std::string& s, int64_t min, int64_t max) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < min || n > max) return std::nullopt;
  return n;
}

bool valid_route(const std::string& r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return r != "." && r != "..";
}

// Printable ASCII without spaces: goes verbatim into a header.
bool valid_token(const std::string& t) {
  if (t.empty() || t.size() > 512) return false;
  for (char c : t)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

bool printable(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

Result<Config> parse_config(const GetEnv& getenv, const std::vector<std::string>& args) {
  Config c;
  auto env = [&](const char* k) -> std::optional<std::string> {
    const char* v = getenv(k);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  if (auto d = env("SQUADBOX_IPC_DIR")) c.ipc_dir = *d;
  if (auto m = env("SQUADBOX_AGENT_MODE")) {
    if (*m == "echo")
      c.mode = Mode::echo;
    else if (*m == "exec")
      c.mode = Mode::exec;
    else if (*m == "llm")
      c.mode = Mode::llm;
    else
      return make_error("agent.bad_mode", "SQUADBOX_AGENT_MODE must be echo, exec or llm, got " + *m);
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

  if (auto s = env("SQUADBOX_PROXY_SOCKET")) c.proxy.socket = *s;
  if (auto p = env("SQUADBOX_PROXY_PORT")) {
    auto n = parse_int(*p, 0, 65535);
    if (!n) return make_error("agent.bad_proxy", "SQUADBOX_PROXY_PORT must be an integer 0-65535, got " + *p);
    if (c.proxy.socket.empty())
      return make_error("agent.bad_proxy", "SQUADBOX_PROXY_PORT is set but SQUADBOX_PROXY_SOCKET is not");
    c.proxy.port = static_cast<uint16_t>(*n);
  }
  if (auto t = env("SQUADBOX_PROXY_TOKEN")) {
    if (!valid_token(*t))
      return make_error("agent.bad_proxy", "SQUADBOX_PROXY_TOKEN must be printable ASCII without spaces");
    c.proxy.token = *t;
  }
  if (auto r = env("SQUADBOX_LLM_ROUTE")) {
    if (!valid_route(*r)) return make_error("agent.bad_llm", "SQUADBOX_LLM_ROUTE must match [A-Za-z0-9_.-]{1,64}");
    c.llm.route = *r;
  }
  if (auto m = env("SQUADBOX_LLM_MODEL")) {
    if (m->size() > 256 || !printable(*m)) return make_error("agent.bad_llm", "SQUADBOX_LLM_MODEL is not a model name");
    c.llm.model = *m;
  }
  if (auto t = env("SQUADBOX_LLM_MAX_TOKENS")) {
    auto n = parse_int(*t, 1, 1'000'000);
    if (!n) return make_error("agent.bad_llm", "SQUADBOX_LLM_MAX_TOKENS must be an integer 1-1000000, got " + *t);
    c.llm.max_tokens = *n;
  }
  if (auto p = env("SQUADBOX_LLM_PROTOCOL")) {
    if (auto parsed = parse_llm_protocol(*p))
      c.llm.protocol = *parsed;
    else
      return make_error("agent.bad_llm", "SQUADBOX_LLM_PROTOCOL must be anthropic or openai, got " + *p);
  }
  // The older name first, so the newer one wins when both are set.
  if (auto f = env("SQUADBOX_LLM_SYSTEM_FILE")) c.llm.instructions_file = *f;
  if (auto f = env("SQUADBOX_LLM_INSTRUCTIONS_FILE")) c.llm.instructions_file = *f;
  if (auto d = env("SQUADBOX_SESSION_DIR")) c.llm.session_dir = *d;
  if (auto w = env("SQUADBOX_WORKSPACE")) {
    if (w->front() != '/') return make_error("agent.bad_llm", "SQUADBOX_WORKSPACE must be an absolute path, got " + *w);
    c.llm.workspace = *w;
  }
  if (const char* t = getenv("SQUADBOX_AGENT_TOOLS")) {  // set but empty means: no tools
    auto tools = parse_tool_list(t);
    if (!tools) return tools.error();
    c.llm.tools = std::move(*tools);
  } else {
    c.llm.tools.assign(kToolNames.begin(), kToolNames.end());
  }
  if (auto t = env("SQUADBOX_LLM_MAX_STEPS")) {
    auto n = parse_int(*t, 1, 1000);
    if (!n) return make_error("agent.bad_llm", "SQUADBOX_LLM_MAX_STEPS must be an integer 1-1000, got " + *t);
    c.llm.max_steps = static_cast<int>(*n);
  }
  if (auto t = env("SQUADBOX_LLM_TURN_TIMEOUT_MS")) {
    auto n = parse_int(*t, 0, 7ll * 24 * 3600 * 1000);
    if (!n) return make_error("agent.bad_llm", "SQUADBOX_LLM_TURN_TIMEOUT_MS must be an integer >= 0, got " + *t);
    c.llm.turn_timeout = std::chrono::milliseconds(*n);
  }
  if (auto t = env("SQUADBOX_TOOL_OUTPUT_MAX_BYTES")) {
    auto n = parse_int(*t, 256, 16ll << 20);
    if (!n)
      return make_error("agent.bad_llm", "SQUADBOX_TOOL_OUTPUT_MAX_BYTES must be an integer 256-16777216, got " + *t);
    c.llm.tool_output_max_bytes = static_cast<std::size_t>(*n);
  }
  if (auto t = env("SQUADBOX_BASH_TIMEOUT_MS")) {
    auto n = parse_int(*t, 1, 24ll * 3600 * 1000);
    if (!n) return make_error("agent.bad_llm", "SQUADBOX_BASH_TIMEOUT_MS must be a positive integer, got " + *t);
    c.llm.bash_timeout = std::chrono::milliseconds(*n);
  }
  if (auto t = env("SQUADBOX_LLM_TIMEOUT_MS")) {
    auto n = parse_int(*t, 1, 24ll * 3600 * 1000);
    if (!n) return make_error("agent.bad_llm", "SQUADBOX_LLM_TIMEOUT_MS must be a positive integer, got " + *t);
    c.llm.timeout = std::chrono::milliseconds(*n);
  }
  if (c.mode == Mode::llm && (c.proxy.socket.empty() || c.proxy.token.empty()))
    return make_error(
        "agent.bad_llm",
        "llm mode needs SQUADBOX_PROXY_SOCKET and SQUADBOX_PROXY_TOKEN (is the credential proxy configured?)");

  size_t i = 0;
  if (!args.empty() && args[0] == "--")
    i = 1;
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

namespace {

// Cuts done.error until the encoded turn_done fits in max_bytes: on a UTF-8 character
// boundary (a cut character would make the file invalid UTF-8, which the host refuses),
// with "…" appended. The bound is the encoding, not the text: JSON escaping makes a
// control character six bytes. The longest prefix that fits is found by bisection.
void fit_error(ipc::TurnDone& done, std::size_t max_bytes) {
  if (ipc::encode(done).size() <= max_bytes) return;
  const std::string full = std::move(done.error);
  auto prefix = [&](std::size_t n) {
    while (n > 0 && n < full.size() && (static_cast<unsigned char>(full[n]) & 0xC0) == 0x80) --n;
    return full.substr(0, n) + "\xE2\x80\xA6";  // U+2026
  };
  std::size_t lo = 0, hi = full.size();  // prefix(lo) fits (or lo == 0)
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo + 1) / 2;
    done.error = prefix(mid);
    if (ipc::encode(done).size() <= max_bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  done.error = lo > 0 ? prefix(lo) : std::string();
}

}  // namespace

std::vector<ipc::Payload> turn_outputs(const ipc::InputMessage& in, const Result<std::string>& reply,
                                       std::size_t max_bytes, bool failure_is_final) {
  std::vector<ipc::Payload> out;
  ipc::TurnDone done{in.id, true, {}};
  if (!reply) {
    done.ok = false;
    done.retry = !failure_is_final;
    // A command's output or error may hold any bytes; the host takes only valid UTF-8.
    done.error = utf8::sanitize(reply.error().message);
  } else if (!reply.value().empty()) {
    ipc::OutboundMessage m{utf8::sanitize(reply.value()), in.id, in.chat_jid};
    if (ipc::encode(m).size() > max_bytes) {
      done.ok = false;
      done.error = "reply exceeds the IPC size limit of " + std::to_string(max_bytes) + " bytes";
    } else {
      out.emplace_back(std::move(m));
    }
  }
  if (!done.ok) fit_error(done, max_bytes);
  out.emplace_back(std::move(done));
  return out;
}

}  // namespace sb::agent
