#include "runtime/namespaces/agent_settings.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/utf8.hpp"
#include "runtime/namespaces/field_checks.hpp"

namespace sb::namespaces {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
using Value = rapidjson::Value;

constexpr std::size_t kMaxModelBytes = 256;
constexpr std::size_t kMaxCommandArgs = 256;
constexpr std::size_t kMaxCommandArgBytes = 4096;

using detail::field_error;
using detail::has_control;

// The proxy's route names (docs/ipc.md): the first path segment the agent calls.
bool valid_route(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (unsigned char c : r)
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

Result<std::string> string_of(const Value& v, const std::string& f) {
  if (!v.IsString()) return field_error(f, "must be a string");
  return std::string(v.GetString(), v.GetStringLength());
}

Result<std::vector<std::string>> tools_of(const Value& v, const std::string& f) {
  if (!v.IsArray()) return field_error(f, "must be an array of tool names");
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& t : v.GetArray()) {
    const std::string tf = f + "[" + std::to_string(i++) + "]";
    auto s = string_of(t, tf);
    if (!s) return s.error();
    const auto& names = agent_tool_names();
    if (std::find(names.begin(), names.end(), *s) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return field_error(tf, "unknown tool " + *s + " (known: " + known + ")");
    }
    if (std::find(out.begin(), out.end(), *s) != out.end()) return field_error(tf, "duplicate tool " + *s);
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::vector<std::string>> command_of(const Value& v, const std::string& f) {
  if (!v.IsArray() || v.Empty()) return field_error(f, "must be a non-empty array of strings (argv)");
  if (v.Size() > kMaxCommandArgs) return field_error(f, "more than " + std::to_string(kMaxCommandArgs) + " arguments");
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& a : v.GetArray()) {
    const std::string af = f + "[" + std::to_string(i++) + "]";
    auto s = string_of(a, af);
    if (!s) return s.error();
    if (s->size() > kMaxCommandArgBytes || s->find('\0') != std::string::npos || !utf8::is_valid(*s))
      return field_error(af, "must be UTF-8 without NUL, at most " + std::to_string(kMaxCommandArgBytes) + " bytes");
    out.push_back(std::move(*s));
  }
  if (out.front().empty()) return field_error(f + "[0]", "the program must not be empty");
  return out;
}

// Reads one member into `out`: absent leaves it, null makes it "reset", else `read`.
template <typename T, typename Read>
Status member(const Value& obj, const char* key, const std::string& prefix, FieldPatch<T>& out, Read read) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return {};
  if (it->value.IsNull()) {
    out = std::optional<T>{};
    return {};
  }
  auto v = read(it->value, prefix + "." + key);
  if (!v) return v.error();
  out = std::optional<T>(std::move(*v));
  return {};
}

void write_strings(JsonWriter& w, const std::vector<std::string>& v) {
  w.StartArray();
  for (const auto& s : v) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

void write_settings_members(JsonWriter& w, const AgentSettings& s) {
  if (s.mode) {
    w.Key("mode");
    w.String(std::string(to_string(*s.mode)).c_str());
  }
  if (s.route) {
    w.Key("route");
    w.String(s.route->c_str());
  }
  if (s.protocol) {
    w.Key("protocol");
    w.String(std::string(to_string(*s.protocol)).c_str());
  }
  if (s.model) {
    w.Key("model");
    w.String(s.model->c_str(), static_cast<rapidjson::SizeType>(s.model->size()));
  }
  if (s.max_tokens) {
    w.Key("maxTokens");
    w.Int64(*s.max_tokens);
  }
  if (s.max_steps) {
    w.Key("maxSteps");
    w.Int64(*s.max_steps);
  }
  if (s.tools) {
    w.Key("tools");
    write_strings(w, *s.tools);
  }
  if (s.command) {
    w.Key("command");
    write_strings(w, *s.command);
  }
}

Error invalid_config(std::string message) {
  return make_error("config.invalid", std::move(message));
}

std::string strings_json(const std::vector<std::string>& v) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_strings(w, v);
  return buf.GetString();
}

}  // namespace

std::string_view to_string(AgentMode m) {
  switch (m) {
    case AgentMode::exec: return "exec";
    case AgentMode::llm: return "llm";
    case AgentMode::echo: break;
  }
  return "echo";
}

std::optional<AgentMode> parse_agent_mode(std::string_view s) {
  if (s == "echo") return AgentMode::echo;
  if (s == "exec") return AgentMode::exec;
  if (s == "llm") return AgentMode::llm;
  return std::nullopt;
}

const std::vector<std::string>& agent_tool_names() {
  static const std::vector<std::string> names(kAgentToolNames.begin(), kAgentToolNames.end());
  return names;
}

Status validate_instructions(std::string_view text) {
  if (text.size() > kMaxInstructionsBytes)
    return field_error("agent.instructions", "longer than " + std::to_string(kMaxInstructionsBytes) + " bytes");
  if (text.find('\0') != std::string_view::npos) return field_error("agent.instructions", "must not contain NUL");
  if (!utf8::is_valid(text)) return field_error("agent.instructions", "must be valid UTF-8");
  return {};
}

Result<AgentPatch> agent_patch_from(const Value& v, const std::string& f) {
  AgentPatch p;
  if (v.IsNull()) {
    p.reset = true;
    return p;
  }
  if (!v.IsObject()) return field_error(f, "must be a JSON object (or null: every field back to the node default)");
  static const std::set<std::string_view> known = {"mode",     "route", "protocol", "model",       "maxTokens",
                                                   "maxSteps", "tools", "command",  "instructions"};
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (!known.contains(key)) {
      if (key == "image") return field_error(f + ".image", "unknown field (the image is containerConfig.image)");
      return field_error(f + "." + std::string(key), "unknown field");
    }
  }
  auto mode = [](const Value& x, const std::string& mf) -> Result<AgentMode> {
    auto m = x.IsString() ? parse_agent_mode(std::string_view(x.GetString(), x.GetStringLength())) : std::nullopt;
    if (!m) return field_error(mf, "must be echo, exec or llm");
    return *m;
  };
  auto route = [](const Value& x, const std::string& rf) -> Result<std::string> {
    auto s = string_of(x, rf);
    if (!s) return s.error();
    if (!valid_route(*s)) return field_error(rf, "must be a proxy route name ([A-Za-z0-9_.-]{1,64})");
    return s;
  };
  auto protocol = [](const Value& x, const std::string& pf) -> Result<LlmProtocol> {
    auto p = x.IsString() ? parse_llm_protocol(std::string_view(x.GetString(), x.GetStringLength())) : std::nullopt;
    if (!p) return field_error(pf, "must be anthropic or openai");
    return *p;
  };
  auto model = [](const Value& x, const std::string& mf) -> Result<std::string> {
    auto s = string_of(x, mf);
    if (!s) return s.error();
    if (s->empty() || s->size() > kMaxModelBytes || has_control(*s) || !utf8::is_valid(*s))
      return field_error(mf, "must be 1 to 256 printable UTF-8 bytes");
    return s;
  };
  auto ranged = [](int64_t max) {
    return [max](const Value& x, const std::string& nf) -> Result<int64_t> {
      if (!x.IsInt64() || x.GetInt64() < 1 || x.GetInt64() > max)
        return field_error(nf, "must be an integer from 1 to " + std::to_string(max));
      return x.GetInt64();
    };
  };
  for (auto st : {member(v, "mode", f, p.mode, mode), member(v, "route", f, p.route, route),
                  member(v, "protocol", f, p.protocol, protocol), member(v, "model", f, p.model, model),
                  member(v, "maxTokens", f, p.max_tokens, ranged(kMaxAgentTokens)),
                  member(v, "maxSteps", f, p.max_steps, ranged(kMaxAgentSteps)),
                  member(v, "tools", f, p.tools, tools_of), member(v, "command", f, p.command, command_of)})
    if (!st) return st.error();
  if (auto it = v.FindMember("instructions"); it != v.MemberEnd()) {
    if (it->value.IsNull()) {
      p.instructions = "";
    } else {
      auto s = string_of(it->value, f + ".instructions");
      if (!s) return s.error();
      if (auto st = validate_instructions(*s); !st) return st.error();
      p.instructions = std::move(*s);
    }
  }
  return p;
}

AgentSettings apply_agent_patch(AgentSettings base, const AgentPatch& p) {
  if (p.reset) base = AgentSettings{};
  auto merge = [](auto& field, const auto& patch) {
    if (patch) field = *patch;
  };
  merge(base.mode, p.mode);
  merge(base.route, p.route);
  merge(base.protocol, p.protocol);
  merge(base.model, p.model);
  merge(base.max_tokens, p.max_tokens);
  merge(base.max_steps, p.max_steps);
  merge(base.tools, p.tools);
  merge(base.command, p.command);
  return base;
}

Result<std::optional<std::vector<std::string>>> parse_tool_list(std::string_view csv, std::string_view field) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  if (trim(csv) == "all" || trim(csv).empty()) return std::optional<std::vector<std::string>>{};
  if (trim(csv) == "none") return std::optional<std::vector<std::string>>(std::vector<std::string>{});
  rapidjson::Document doc;
  doc.SetArray();
  std::size_t start = 0;
  while (start <= csv.size()) {
    std::size_t comma = std::min(csv.find(',', start), csv.size());
    auto name = trim(csv.substr(start, comma - start));
    if (!name.empty())
      doc.PushBack(Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), doc.GetAllocator()),
                   doc.GetAllocator());
    start = comma + 1;
  }
  auto tools = tools_of(doc, std::string(field));
  if (!tools) {
    // tools_of names an array element; the operator wrote a comma list.
    const auto& msg = tools.error().message;
    return field_error(field, msg.substr(std::min(msg.find(": ") + 2, msg.size())));
  }
  return std::optional<std::vector<std::string>>(std::move(*tools));
}

std::string agent_settings_json(const AgentSettings& s) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_settings_members(w, s);
  w.EndObject();
  return buf.GetString();
}

Result<AgentSettings> parse_agent_settings(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject() || doc.HasMember("instructions"))
    return make_error("namespaces.corrupt", "agent_config: not a settings object");
  auto p = agent_patch_from(doc, "agent");
  if (!p) return make_error("namespaces.corrupt", "agent_config: " + p.error().message);
  return apply_agent_patch({}, *p);
}

Result<AgentProfile> agent_defaults(const config::ContainerConfig& c) {
  AgentProfile a;
  auto mode = parse_agent_mode(c.agent_mode);
  if (!mode) return invalid_config("container.agent_mode: must be echo, exec or llm");
  a.mode = *mode;
  if (!c.agent_command.empty()) {
    rapidjson::Document doc;
    doc.Parse(c.agent_command.data(), c.agent_command.size());
    std::optional<std::vector<std::string>> cmd;
    if (!doc.HasParseError())
      if (auto r = command_of(doc, "container.agent_command")) cmd = std::move(*r);
    if (!cmd) return invalid_config("container.agent_command: must be a JSON array of strings (argv)");
    a.command = std::move(*cmd);
  }
  a.route = c.llm_route;
  auto protocol = parse_llm_protocol(c.llm_protocol);
  if (!protocol) return invalid_config("container.llm_protocol: must be anthropic or openai");
  a.protocol = *protocol;
  a.model = c.llm_model;
  a.max_tokens = c.llm_max_tokens;
  a.max_steps = c.llm_max_steps;
  auto tools = parse_tool_list(c.agent_tools, "container.agent_tools");
  if (!tools) return invalid_config(tools.error().message);
  a.tools = std::move(*tools);
  return a;
}

AgentProfile effective_agent(const AgentSettings& s, const AgentProfile& d) {
  AgentProfile a = d;
  if (s.mode) a.mode = *s.mode;
  if (s.command) a.command = *s.command;
  if (s.route) a.route = *s.route;
  if (s.protocol) a.protocol = *s.protocol;
  if (s.model) a.model = *s.model;
  if (s.max_tokens) a.max_tokens = *s.max_tokens;
  if (s.max_steps) a.max_steps = *s.max_steps;
  if (s.tools) a.tools = *s.tools;
  return a;
}

std::map<std::string, std::string> agent_env(const AgentProfile& a, const std::string& instructions_path) {
  std::map<std::string, std::string> env = {
      {"SQUADBOX_AGENT_MODE", std::string(to_string(a.mode))},
      {"SQUADBOX_AGENT_COMMAND", a.command.empty() ? "" : strings_json(a.command)},
      {"SQUADBOX_LLM_ROUTE", a.route},
      {"SQUADBOX_LLM_PROTOCOL", std::string(to_string(a.protocol))},
      {"SQUADBOX_LLM_MODEL", a.model},
      {"SQUADBOX_LLM_MAX_TOKENS", std::to_string(a.max_tokens)},
      {"SQUADBOX_LLM_MAX_STEPS", std::to_string(a.max_steps)},
  };
  if (a.tools) {
    std::string csv;
    for (const auto& t : *a.tools) csv += (csv.empty() ? "" : ",") + t;
    env["SQUADBOX_AGENT_TOOLS"] = csv;
  }
  if (!instructions_path.empty()) {
    env["SQUADBOX_LLM_INSTRUCTIONS_FILE"] = instructions_path;
    // The name the agent of this tree reads; both until it reads the new one.
    env["SQUADBOX_LLM_SYSTEM_FILE"] = instructions_path;
  }
  return env;
}

std::string agent_profile_json(const AgentProfile& a) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("mode");
  w.String(std::string(to_string(a.mode)).c_str());
  w.Key("route");
  w.String(a.route.c_str());
  w.Key("protocol");
  w.String(std::string(to_string(a.protocol)).c_str());
  w.Key("model");
  w.String(a.model.c_str(), static_cast<rapidjson::SizeType>(a.model.size()));
  w.Key("maxTokens");
  w.Int64(a.max_tokens);
  w.Key("maxSteps");
  w.Int64(a.max_steps);
  w.Key("tools");
  write_strings(w, a.tools ? *a.tools : agent_tool_names());
  w.Key("command");
  write_strings(w, a.command);
  w.EndObject();
  return buf.GetString();
}

std::string agent_object_json(const AgentSettings& s, const std::string& instructions) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_settings_members(w, s);
  w.Key("instructions");
  w.String(instructions.c_str(), static_cast<rapidjson::SizeType>(instructions.size()));
  w.EndObject();
  return buf.GetString();
}

}  // namespace sb::namespaces
