#include "runtime/container/env_policy.hpp"

#include <algorithm>

namespace sb::container {

const std::vector<std::string>& approved_env_names() {
  static const std::vector<std::string> names = {
      "SQUADBOX_IPC_DIR",
      "SQUADBOX_AGENT_MODE",
      "SQUADBOX_AGENT_COMMAND",
      "SQUADBOX_PROMPT",
      "SQUADBOX_AGENT_ONESHOT",
      "SQUADBOX_NAMESPACE",
      "SQUADBOX_RUN_ID",
      "HOME",
      "LANG",
      "TZ",
      "ANTHROPIC_BASE_URL",
      "ANTHROPIC_API_KEY",
      // agent llm mode (docs/ipc.md)
      "SQUADBOX_LLM_ROUTE",
      "SQUADBOX_LLM_MODEL",
      "SQUADBOX_LLM_MAX_TOKENS",
      "SQUADBOX_LLM_SYSTEM_FILE",
      "SQUADBOX_LLM_PROTOCOL",
      "SQUADBOX_LLM_MAX_STEPS",
      "SQUADBOX_LLM_INSTRUCTIONS_FILE",
      "SQUADBOX_AGENT_TOOLS",
      "SQUADBOX_SESSION_DIR",
      // credential proxy lease (docs/credential-proxy.md)
      "SQUADBOX_PROXY_SOCKET",
      "SQUADBOX_PROXY_PORT",
      "SQUADBOX_PROXY_TOKEN",
      "SQUADBOX_PROXY_URL",
  };
  return names;
}

std::map<std::string, std::string> EnvPolicy::build(const std::map<std::string, std::string>& wanted,
                                                    const std::map<std::string, std::string>& host) const {
  std::map<std::string, std::string> out;
  const auto& approved = approved_env_names();
  for (const auto& [k, v] : wanted)
    if (std::find(approved.begin(), approved.end(), k) != approved.end()) out[k] = v;
  for (const auto& name : passthrough)
    if (auto it = host.find(name); it != host.end()) out[name] = it->second;
  return out;
}

std::vector<std::string> split_env_names(const std::string& csv) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : csv) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace sb::container
