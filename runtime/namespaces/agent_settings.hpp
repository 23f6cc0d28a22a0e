#pragma once
// A namespace's agent settings (issue 15): what the agent in its containers does. Every
// field is optional; an absent one takes the node's `[container]` default, so a node
// change reaches every namespace that did not choose otherwise. Plus the namespace's
// instructions text (the product's group-specific instructions file, kept in the
// database). Pure: parsing and validation, the product JSON, settings over defaults, and
// the agent's environment. Errors are "invalid_field" naming the field
// ("agent.maxSteps: must be an integer from 1 to 200").
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/fwd.h>

#include "runtime/config/config.hpp"
#include "runtime/core/agent_contract.hpp"
#include "runtime/core/result.hpp"

namespace sb::namespaces {

enum class AgentMode { echo, exec, llm };
using sb::LlmProtocol;  // runtime/core/agent_contract.hpp, shared with the agent

std::string_view to_string(AgentMode m);
std::optional<AgentMode> parse_agent_mode(std::string_view s);

// The in-container agent's tool names (a contract with runtime/agent), in its order.
const std::vector<std::string>& agent_tool_names();

inline constexpr std::size_t kMaxInstructionsBytes = 64 * 1024;
inline constexpr int64_t kMaxAgentSteps = 200;
inline constexpr int64_t kMaxAgentTokens = 1000000;

struct AgentSettings {
  std::optional<AgentMode> mode;
  std::optional<std::string> route;  // a [proxy.routes.NAME]
  std::optional<LlmProtocol> protocol;
  std::optional<std::string> model;
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> max_steps;
  std::optional<std::vector<std::string>> tools;    // the enabled tools; [] = none
  std::optional<std::vector<std::string>> command;  // exec mode's argv
  bool operator==(const AgentSettings&) const = default;
};

// One field of a PATCH: absent (unchanged), null (back to the node default) or a value.
template <typename T>
using FieldPatch = std::optional<std::optional<T>>;

// The `agent` object of a POST or PATCH body, merged member by member into what is stored.
struct AgentPatch {
  bool reset = false;  // "agent": null: every field back to the default, instructions cleared
  FieldPatch<AgentMode> mode;
  FieldPatch<std::string> route;
  FieldPatch<LlmProtocol> protocol;
  FieldPatch<std::string> model;
  FieldPatch<int64_t> max_tokens;
  FieldPatch<int64_t> max_steps;
  FieldPatch<std::vector<std::string>> tools;
  FieldPatch<std::vector<std::string>> command;
  std::optional<std::string> instructions;  // null: "" (none)
};

// `value` is the member's JSON value, `field` its name for errors ("agent").
Result<AgentPatch> agent_patch_from(const rapidjson::Value& value, const std::string& field);
AgentSettings apply_agent_patch(AgentSettings base, const AgentPatch& patch);

Status validate_instructions(std::string_view text);
// "all" or "" -> nullopt (all); "none" -> []; "a,b,c" (blanks ignored) -> the list.
// Errors ("invalid_field") name `field`.
Result<std::optional<std::vector<std::string>>> parse_tool_list(std::string_view csv, std::string_view field);

// The stored column (the settings without null members) and back; a stored value that
// no longer parses is "namespaces.corrupt".
std::string agent_settings_json(const AgentSettings& s);
Result<AgentSettings> parse_agent_settings(std::string_view json);

// What the agent of a container is told, every field resolved.
struct AgentProfile {
  AgentMode mode = AgentMode::echo;
  std::vector<std::string> command;
  std::string route;
  LlmProtocol protocol = LlmProtocol::anthropic;
  std::string model;
  int64_t max_tokens = 1024;
  int64_t max_steps = 20;
  std::optional<std::vector<std::string>> tools;  // nullopt: all
};

// The node's defaults from its [container] keys. Errors ("config.invalid") name the key:
// container.agent_command not a JSON array of strings, container.agent_tools naming an
// unknown tool (serve and cowork check this at start).
Result<AgentProfile> agent_defaults(const config::ContainerConfig& c);
AgentProfile effective_agent(const AgentSettings& s, const AgentProfile& defaults);

// The agent's SQUADBOX_* variables: mode, command (JSON argv), route, protocol, model,
// max tokens and steps; SQUADBOX_AGENT_TOOLS only when restricted; the instructions file
// (a path inside the container) only when `instructions_path` is not empty.
std::map<std::string, std::string> agent_env(const AgentProfile& a, const std::string& instructions_path);

// {"mode":..,"route":..,...} with every member (the API's agentEffective).
std::string agent_profile_json(const AgentProfile& a);
// The namespace's "agent" member: the settings' members that are set, plus "instructions".
std::string agent_object_json(const AgentSettings& s, const std::string& instructions);

}  // namespace sb::namespaces
