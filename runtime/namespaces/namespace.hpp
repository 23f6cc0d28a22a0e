#pragma once
// The routing model as plain values: namespaces (squad groups), chat mappings, sender
// allowlists and the default policy. Pure validation and JSON in the product shape; no
// I/O. Errors are "invalid_field" with a message that starts with the field's name.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/namespaces/agent_settings.hpp"

namespace sb::namespaces {

inline constexpr std::size_t kMaxDescriptionBytes = 1024;
inline constexpr std::size_t kMaxTriggerBytes = 64;
inline constexpr std::size_t kMaxInstructionsPathBytes = 4096;
inline constexpr std::size_t kMaxAllowlistSenders = 10000;

struct MountRequest {
  std::string host_path;       // absolute; checked against the mount allowlist at start
  std::string container_path;  // empty: derived from the host path's last component
  bool readonly = true;
};

// What the namespace's container asks for. Everything optional: empty/0 = node default.
struct ContainerConfig {
  std::string image;
  int64_t timeout_secs = 0;
  int64_t idle_timeout_secs = 0;
  std::vector<MountRequest> mounts;
  std::vector<std::string> env;  // names of approved variables, never values
};

struct Namespace {
  std::string id;  // UUID v4
  std::string name;
  std::string description;
  bool is_main = false;
  std::string trigger;           // "" = the default "@<assistant name>"
  bool requires_trigger = true;  // in group chats; DMs never need it
  ContainerConfig container;
  std::string instructions_file;  // "" = none; a workspace file, used when `instructions` is empty
  AgentSettings agent;            // absent fields: the node's [container] defaults
  std::string instructions;       // the group's instructions text ("" = none)
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<std::string> jids;  // mapped chats, sorted
};

struct Mapping {
  std::string jid;
  std::string namespace_id;
  std::string namespace_name;
  int64_t created_at_ms = 0;
};

struct SenderAllowlist {
  std::string channel;  // platform: slack | discord | whatsapp | telegram
  std::string bot;
  bool everyone = true;
  std::vector<std::string> senders;  // when !everyone
  int64_t updated_at_ms = 0;         // 0: never set (the default, everyone)
};

enum class DefaultPolicy { ignore, to_namespace };

struct RoutingSettings {
  DefaultPolicy policy = DefaultPolicy::ignore;
  std::string default_namespace_id;    // when policy == to_namespace
  std::string default_namespace_name;  // filled on read, for display
};

// Field checks: Status error "invalid_field" naming the field.
Status validate_name(std::string_view name);
Status validate_description(std::string_view description);
Status validate_trigger(std::string_view trigger);
Status validate_instructions_file(std::string_view path);
Status validate_container_config(const ContainerConfig& c);
Status validate_sender(std::string_view sender);
bool is_platform(std::string_view platform);  // slack | discord | whatsapp | telegram | local
Status validate_bot_name(std::string_view bot);

// A partial namespace: what POST or PATCH set. Absent = unchanged (PATCH) / default (POST).
struct NamespacePatch {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<bool> is_main;
  std::optional<std::string> trigger;
  std::optional<bool> requires_trigger;
  std::optional<ContainerConfig> container;
  std::optional<std::string> instructions_file;
  std::optional<AgentPatch> agent;  // merged member by member into the stored settings
};

// Parses and validates a POST/PATCH body. `require_name`: POST needs "name". Unknown
// members are refused (a typo must not be silently ignored).
Result<NamespacePatch> parse_namespace_patch(std::string_view body, bool require_name);
// The containerConfig object alone (also used to read the stored column).
Result<ContainerConfig> parse_container_config(std::string_view json);
std::string container_config_json(const ContainerConfig& c);

struct MappingRequest {
  std::string jid;
  std::string namespace_ref;  // an id or a name
  bool replace = false;
  std::string namespace_field = "namespaceId";  // which body field gave it, for errors
};
Result<MappingRequest> parse_mapping_request(std::string_view body);

// {"mode":"everyone"} | {"mode":"list","senders":[...]}; channel/bot come from the path.
Result<SenderAllowlist> parse_allowlist(std::string_view body);
std::string senders_json(const std::vector<std::string>& senders);
Result<std::vector<std::string>> parse_senders_json(std::string_view json);

struct RoutingRequest {
  DefaultPolicy policy = DefaultPolicy::ignore;
  std::string namespace_ref;  // id or name when policy == to_namespace
};
Result<RoutingRequest> parse_routing_request(std::string_view body);

// JSON renderings in the product shape (camelCase, ISO-8601 UTC timestamps).
// `data_dir` gives sessionDir/workspaceDir. With `defaults` (the node's agent defaults),
// "agentEffective" shows what the namespace's agent gets: its settings over the defaults.
std::string namespace_json(const Namespace& ns, const std::string& data_dir, const AgentProfile* defaults = nullptr);
std::string namespaces_json(const std::vector<Namespace>& all, const std::string& data_dir,
                            const AgentProfile* defaults = nullptr);
std::string mapping_json(const Mapping& m);
std::string mappings_json(const std::vector<Mapping>& all);
std::string allowlist_json(const SenderAllowlist& a);
std::string routing_json(const RoutingSettings& r);

// DATA_DIR/sessions/{name} and DATA_DIR/workspaces/{name}.
std::string session_dir(const std::string& data_dir, const std::string& name);
std::string workspace_dir(const std::string& data_dir, const std::string& name);

}  // namespace sb::namespaces
