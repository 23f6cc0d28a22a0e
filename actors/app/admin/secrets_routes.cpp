#include "actors/app/admin/secrets_routes.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/time.hpp"
#include "runtime/http/message.hpp"
#include "runtime/security/vault/vault_crypto.hpp"
#include "storage/error_codes.hpp"

namespace sb::app::admin {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kAuditActor = "admin-api";

void write_info(JsonWriter& w, const storage::SecretInfo& info) {
  w.StartObject();
  w.Key("name");
  w.String(info.name.c_str());
  w.Key("createdAt");
  w.String(iso8601_utc(info.created_at_ms).c_str());
  w.Key("updatedAt");
  w.String(iso8601_utc(info.updated_at_ms).c_str());
  w.EndObject();
}

http::Response vault_error(const Error& e) {
  if (e.code == "vault.invalid_name") return http::Response::error(400, "invalid_field", "name: " + e.message);
  if (e.code == "vault.empty_value" || e.code == "vault.too_large")
    return http::Response::error(400, "invalid_field", "value: " + e.message);
  if (e.code == "vault.key_from_env" || e.code == "vault.decrypt")
    return http::Response::error(409, "conflict", e.message);
  if (storage::is_unavailable(e.code)) return http::Response::error(503, "unavailable", e.message);
  return http::Response::error(500, "internal", e.message);
}

// The {name} segment after "/api/v1/container/secrets/", or an error response.
Result<std::string> name_from_path(const std::string& path) {
  const std::string prefix = std::string(kSecretsPath) + "/";
  std::string name = http::percent_decode(std::string_view(path).substr(prefix.size()));
  if (!security::vault::valid_secret_name(name))
    return make_error("invalid_field", std::string("name: must match ") + security::vault::kSecretNamePattern);
  return name;
}

void audit_record(const AuditSink& audit, std::string event, std::string subject, std::string detail) {
  if (audit) audit(AuditRecord{kAuditActor, std::move(event), std::move(subject), std::move(detail)});
}

}  // namespace

void add_secrets_routes(http::Router& api, std::shared_ptr<storage::Vault> vault, AuditSink audit) {
  const std::string item_prefix = std::string(kSecretsPath) + "/";

  api.add("GET", kSecretsPath, [vault](const http::Request&, http::Reply reply) {
    auto secrets = vault->list();
    if (!secrets) return reply(vault_error(secrets.error()));
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const auto& info : *secrets) write_info(w, info);
    w.EndArray();
    reply(http::Response::json(200, buf.GetString()));
  });

  api.add_prefix("PUT", item_prefix, [vault, audit](const http::Request& req, http::Reply reply) {
    auto name = name_from_path(req.path);
    if (!name) return reply(http::Response::error(400, name.error().code, name.error().message));
    auto value = parse_secret_body(req.body);
    if (!value) return reply(http::Response::error(400, value.error().code, value.error().message));
    auto stored = vault->set(*name, *value);
    if (!stored) return reply(vault_error(stored.error()));
    audit_record(audit, "secret.set", *name, stored->created ? R"({"created":true})" : R"({"created":false})");
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    write_info(w, stored->info);
    reply(http::Response::json(stored->created ? 201 : 200, buf.GetString()));
  });

  api.add_prefix("DELETE", item_prefix, [vault, audit](const http::Request& req, http::Reply reply) {
    auto name = name_from_path(req.path);
    if (!name) return reply(http::Response::error(400, name.error().code, name.error().message));
    auto removed = vault->remove(*name);
    if (!removed) return reply(vault_error(removed.error()));
    if (!*removed) return reply(http::Response::error(404, "not_found", "no secret named " + *name));
    audit_record(audit, "secret.removed", *name, "{}");
    http::Response r;
    r.status = 204;
    r.content_type.clear();
    reply(std::move(r));
  });

  api.add("POST", kRotateKeyPath, [vault, audit](const http::Request&, http::Reply reply) {
    auto rotated = vault->rotate_key();
    if (!rotated) return reply(vault_error(rotated.error()));
    const std::string n = std::to_string(*rotated);
    audit_record(audit, "secret.key_rotated", "vault", R"({"rotated":)" + n + "}");
    reply(http::Response::json(200, R"({"rotated":)" + n + "}"));
  });
}

}  // namespace sb::app::admin
