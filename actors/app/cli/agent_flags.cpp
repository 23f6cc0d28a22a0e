#include "actors/app/cli/agent_flags.hpp"

#include <charconv>
#include <map>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::app::cli {
namespace {

using Value = rapidjson::Value;

Error usage(std::string message) {
  return make_error("cli.usage", std::move(message));
}

// "agent.maxSteps: must be ..." -> "--max-steps: must be ..." (the user typed flags).
Error as_flag_error(const Error& e) {
  static const std::map<std::string, std::string> flags = {
      {"mode", "--mode"},   {"route", "--route"},          {"protocol", "--protocol"},
      {"model", "--model"}, {"maxTokens", "--max-tokens"}, {"maxSteps", "--max-steps"},
      {"tools", "--tools"}, {"command", "--command"},      {"instructions", "--file"}};
  const std::string& m = e.message;
  const auto colon = m.find(": ");
  if (!m.starts_with("agent.") || colon == std::string::npos) return usage(m);
  const std::string key = m.substr(6, m.find_first_of(".[:", 6) - 6);
  auto it = flags.find(key);
  return usage((it == flags.end() ? key : it->second) + m.substr(colon));
}

std::string written(const rapidjson::Document& doc) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return buf.GetString();
}

// {"agent": agent}, checked the way the node checks it.
Result<std::string> agent_body(rapidjson::Document& doc, Value& agent) {
  if (auto p = namespaces::agent_patch_from(agent, "agent"); !p) return as_flag_error(p.error());
  doc.SetObject();
  doc.AddMember("agent", agent, doc.GetAllocator());
  return written(doc);
}

}  // namespace

Result<std::string> agent_patch_body(const AgentFlags& f) {
  rapidjson::Document doc;
  auto& a = doc.GetAllocator();
  Value agent(rapidjson::kObjectType);
  auto text = [&](const char* key, const std::optional<std::string>& v) {
    if (!v) return;
    Value value;
    if (*v == "default")
      value.SetNull();
    else
      value.SetString(v->c_str(), static_cast<rapidjson::SizeType>(v->size()), a);
    agent.AddMember(Value(key, a), value, a);
  };
  text("mode", f.mode);
  text("route", f.route);
  text("protocol", f.protocol);
  text("model", f.model);
  auto integer = [&](const char* key, const char* flag, const std::optional<std::string>& v) -> Status {
    if (!v) return {};
    Value value;
    if (*v != "default") {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc() || end != v->data() + v->size())
        return usage(std::string(flag) + ": " + *v + " is not an integer (or default)");
      value.SetInt64(n);
    }
    agent.AddMember(Value(key, a), value, a);
    return {};
  };
  if (auto st = integer("maxTokens", "--max-tokens", f.max_tokens); !st) return st.error();
  if (auto st = integer("maxSteps", "--max-steps", f.max_steps); !st) return st.error();
  if (f.tools) {
    Value tools;
    if (*f.tools == "default") {
      tools.SetNull();
    } else if (*f.tools == "none") {
      tools.SetArray();
    } else {
      if (f.tools->empty()) return usage("--tools: give tool names a,b,c, all, none or default");
      auto list = namespaces::parse_tool_list(*f.tools, "--tools");
      if (!list) return usage(list.error().message);
      tools.SetArray();
      for (const auto& t : list->value_or(namespaces::agent_tool_names()))
        tools.PushBack(Value(t.c_str(), static_cast<rapidjson::SizeType>(t.size()), a), a);
    }
    agent.AddMember("tools", tools, a);
  }
  if (f.command) {
    Value command;
    if (*f.command != "default") {
      rapidjson::Document parsed;
      parsed.Parse(f.command->c_str(), f.command->size());
      if (parsed.HasParseError() || !parsed.IsArray())
        return usage("--command: must be a JSON array of strings, e.g. '[\"python3\",\"/workspace/agent.py\"]'");
      command.CopyFrom(parsed, a);
    }
    agent.AddMember("command", command, a);
  }
  if (agent.ObjectEmpty())
    return usage(
        "nothing to set: give at least one of --mode --route --protocol --model --max-tokens "
        "--max-steps --tools --command");
  return agent_body(doc, agent);
}

Result<std::string> instructions_patch_body(const std::optional<std::string>& text) {
  rapidjson::Document doc;
  auto& a = doc.GetAllocator();
  Value agent(rapidjson::kObjectType);
  Value value;
  if (text) value.SetString(text->c_str(), static_cast<rapidjson::SizeType>(text->size()), a);
  agent.AddMember("instructions", value, a);
  return agent_body(doc, agent);
}

Result<namespaces::AgentSettings> cowork_agent_settings(const CoworkAgentFlags& f) {
  namespaces::AgentSettings s;
  if (!f.mode.empty()) {
    auto m = namespaces::parse_agent_mode(f.mode);
    if (!m) return usage("--mode: must be echo, exec or llm");
    s.mode = *m;
  }
  const bool llm_flags = !f.route.empty() || !f.protocol.empty() || !f.model.empty();
  if (llm_flags) {
    if (s.mode && *s.mode != namespaces::AgentMode::llm)
      return usage("--route, --protocol and --model are for --mode llm");
    s.mode = namespaces::AgentMode::llm;
  }
  // The node's own checks, so cowork refuses what the API refuses.
  rapidjson::Document doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  auto add = [&](const char* key, const std::string& v) {
    if (!v.empty()) doc.AddMember(Value(key, a), Value(v.c_str(), static_cast<rapidjson::SizeType>(v.size()), a), a);
  };
  add("route", f.route);
  add("protocol", f.protocol);
  add("model", f.model);
  auto p = namespaces::agent_patch_from(doc, "agent");
  if (!p) return as_flag_error(p.error());
  auto mode = s.mode;
  s = namespaces::apply_agent_patch({}, *p);
  s.mode = mode;
  return s;
}

}  // namespace sb::app::cli
