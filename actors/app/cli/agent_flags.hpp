#pragma once
// The agent flags of `squadbox ns set` and `squadbox cowork`, turned into API bodies and
// settings: pure, so that a bad flag is a usage error before anything is sent or started.
// Errors: "cli.usage", the message naming the flag.
#include <cstdint>
#include <optional>
#include <string>

#include "runtime/core/result.hpp"
#include "runtime/namespaces/agent_settings.hpp"

namespace sb::app::cli {

// `ns set NAME [--mode ..] [--route ..] ...`: each flag given sets that field; the value
// `default` puts the field back to the node's default (JSON null). --tools takes a comma
// list or `all` (every tool); --command a JSON array of strings.
struct AgentFlags {
  std::optional<std::string> mode, route, protocol, model, tools, command;
  std::optional<std::string> max_tokens, max_steps;  // integers, or `default`
};

// {"agent":{...}}; "cli.usage" when no flag is given or a value is malformed.
Result<std::string> agent_patch_body(const AgentFlags& flags);

// `ns instructions NAME --file F` / `--clear`: {"agent":{"instructions":...}}.
Result<std::string> instructions_patch_body(const std::optional<std::string>& text);

// cowork's --mode/--route/--protocol/--model over nothing (the node's defaults fill the
// rest): naming a route (or a protocol or model) implies llm mode; another --mode with
// them is an error.
struct CoworkAgentFlags {
  std::string mode, route, protocol, model;  // empty: not given
};
Result<namespaces::AgentSettings> cowork_agent_settings(const CoworkAgentFlags& flags);

}  // namespace sb::app::cli
