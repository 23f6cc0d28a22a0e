#pragma once
// Admin API routes for the routing model (added through AdminApiOptions::extensions, so
// they sit behind the bearer token):
//   POST   /api/v1/container/namespaces                 {"name",...} -> 201
//   GET    /api/v1/container/namespaces                 -> [namespace]
//   GET    /api/v1/container/namespaces/{id}            -> namespace | 404
//   PATCH  /api/v1/container/namespaces/{id}            {fields} -> namespace
//          (fields include "agent": the agent settings and instructions, merged member by
//          member; null resets; docs/namespaces.md "Agent settings")
//   DELETE /api/v1/container/namespaces/{id}            -> 204 | 404 | 409
//   POST   /api/v1/container/mappings                   {"jid","namespaceId"|"namespace","replace"?}
//   GET    /api/v1/container/mappings[?namespace=]      -> [mapping]
//   DELETE /api/v1/container/mappings/{jid}             (percent-encoded) -> 204 | 404
//   GET|PUT /api/v1/container/allowlists/{platform}/{bot}
//   GET    /api/v1/container/allowlists                 -> [allowlist] (bots that have one)
//   GET|PUT /api/v1/container/routing
// Errors: 400 invalid_json/invalid_field (the message starts with the field), 404
// not_found, 409 conflict, 503 unavailable (database busy). Every change is audited.
#include <memory>
#include <optional>

#include "runtime/core/audit_sink.hpp"
#include "runtime/http/router.hpp"
#include "storage/namespace_store.hpp"

namespace sb::app::admin {

inline constexpr const char* kNamespacesPath = "/api/v1/container/namespaces";
inline constexpr const char* kMappingsPath = "/api/v1/container/mappings";
inline constexpr const char* kAllowlistsPath = "/api/v1/container/allowlists";
inline constexpr const char* kRoutingPath = "/api/v1/container/routing";

// `agent_defaults`: the node's agent defaults; given, every namespace answer carries
// "agentEffective" (its settings over them).
void add_namespaces_routes(http::Router& api, std::shared_ptr<storage::NamespaceStore> store, AuditSink audit,
                           std::optional<namespaces::AgentProfile> agent_defaults = std::nullopt);

}  // namespace sb::app::admin
