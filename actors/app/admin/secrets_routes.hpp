#pragma once
// Admin API routes for the vault (added through AdminApiOptions::extensions, so they sit
// behind the bearer token):
//   PUT    /api/v1/container/secrets/{name}       {"value":"..."} -> 201 new | 200 replaced
//   GET    /api/v1/container/secrets              -> [{"name","createdAt","updatedAt"}]
//   DELETE /api/v1/container/secrets/{name}       -> 204 | 404
//   POST   /api/v1/container/secrets:rotate-key   -> 200 {"rotated":N}
// Values are write-only: no route ever returns one. Every change is audited (subject =
// the secret's name, never its value).
#include <memory>
#include <string>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"
#include "runtime/http/router.hpp"
#include "runtime/security/vault/secret_body.hpp"
#include "storage/vault_store.hpp"

namespace sb::app::admin {

inline constexpr const char* kSecretsPath = "/api/v1/container/secrets";
inline constexpr const char* kRotateKeyPath = "/api/v1/container/secrets:rotate-key";

void add_secrets_routes(http::Router& api, std::shared_ptr<storage::Vault> vault, AuditSink audit);

// Pure: the value of a PUT body {"value":"..."}; errors name the field ("invalid_json",
// "invalid_field"). Decoded in runtime/security/vault (CAF-free, fuzzed on its own).
using security::vault::parse_secret_body;

}  // namespace sb::app::admin
