#include "actors/app/admin/namespaces_routes.hpp"

#include "runtime/http/message.hpp"
#include "runtime/messaging/inbound.hpp"
#include "storage/error_codes.hpp"

namespace sb::app::admin {
namespace {

constexpr const char* kAuditActor = "admin-api";

http::Response error_response(const Error& e) {
  if (e.code == "invalid_field" || e.code == "invalid_json") return http::Response::error(400, e.code, e.message);
  if (e.code == "namespaces.not_found") return http::Response::error(404, "not_found", e.message);
  if (e.code == "namespaces.conflict" || e.code == "sqlite.constraint")
    return http::Response::error(409, "conflict", e.message);
  if (storage::is_unavailable(e.code)) return http::Response::error(503, "unavailable", e.message);
  return http::Response::error(500, "internal", e.message);
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

void record(const AuditSink& audit, std::string event, std::string subject, std::string detail) {
  if (audit) audit(AuditRecord{kAuditActor, std::move(event), std::move(subject), std::move(detail)});
}

std::string json_quoted(const std::string& s) {
  return "\"" + http::json_escape(s) + "\"";
}

// The decoded path segment after `prefix`; empty or containing '/' is refused.
Result<std::string> segment_after(const std::string& path, const std::string& prefix, const char* field) {
  std::string seg = http::percent_decode(std::string_view(path).substr(prefix.size()));
  if (seg.empty() || seg.find('/') != std::string::npos)
    return make_error("invalid_field", std::string(field) + ": missing or malformed in the path");
  return seg;
}

}  // namespace

void add_namespaces_routes(http::Router& api, std::shared_ptr<storage::NamespaceStore> store, AuditSink audit,
                           std::optional<namespaces::AgentProfile> agent_defaults) {
  auto defaults = std::make_shared<const std::optional<namespaces::AgentProfile>>(std::move(agent_defaults));
  auto one = [store, defaults](const namespaces::Namespace& ns) {
    return namespaces::namespace_json(ns, store->data_dir(), *defaults ? &**defaults : nullptr);
  };
  const std::string ns_item = std::string(kNamespacesPath) + "/";
  const std::string map_item = std::string(kMappingsPath) + "/";
  const std::string allow_item = std::string(kAllowlistsPath) + "/";

  api.add("POST", kNamespacesPath, [store, audit, one](const http::Request& req, http::Reply reply) {
    auto patch = namespaces::parse_namespace_patch(req.body, /*require_name=*/true);
    if (!patch) return reply(error_response(patch.error()));
    auto ns = store->create(*patch);
    if (!ns) return reply(error_response(ns.error()));
    record(audit, "namespace.created", ns->id,
           "{\"name\":" + json_quoted(ns->name) + ",\"isMain\":" + (ns->is_main ? "true" : "false") + "}");
    reply(http::Response::json(201, one(*ns)));
  });

  api.add("GET", kNamespacesPath, [store, defaults](const http::Request&, http::Reply reply) {
    auto all = store->list();
    if (!all) return reply(error_response(all.error()));
    reply(http::Response::json(
        200, namespaces::namespaces_json(*all, store->data_dir(), *defaults ? &**defaults : nullptr)));
  });

  api.add_prefix("GET", ns_item, [store, ns_item, one](const http::Request& req, http::Reply reply) {
    auto id = segment_after(req.path, ns_item, "id");
    if (!id) return reply(error_response(id.error()));
    auto ns = store->get(*id);
    if (!ns) return reply(error_response(ns.error()));
    reply(http::Response::json(200, one(*ns)));
  });

  api.add_prefix("PATCH", ns_item, [store, audit, ns_item, one](const http::Request& req, http::Reply reply) {
    auto id = segment_after(req.path, ns_item, "id");
    if (!id) return reply(error_response(id.error()));
    auto patch = namespaces::parse_namespace_patch(req.body, /*require_name=*/false);
    if (!patch) return reply(error_response(patch.error()));
    auto ns = store->update(*id, *patch);
    if (!ns) return reply(error_response(ns.error()));
    record(audit, "namespace.updated", ns->id, "{\"name\":" + json_quoted(ns->name) + "}");
    reply(http::Response::json(200, one(*ns)));
  });

  api.add_prefix("DELETE", ns_item, [store, audit, ns_item](const http::Request& req, http::Reply reply) {
    auto id = segment_after(req.path, ns_item, "id");
    if (!id) return reply(error_response(id.error()));
    auto ns = store->remove(*id);
    if (!ns) return reply(error_response(ns.error()));
    record(audit, "namespace.removed", ns->id, "{\"name\":" + json_quoted(ns->name) + "}");
    reply(no_content());
  });

  api.add("POST", kMappingsPath, [store, audit](const http::Request& req, http::Reply reply) {
    auto request = namespaces::parse_mapping_request(req.body);
    if (!request) return reply(error_response(request.error()));
    auto out = store->map(*request);
    if (!out) {
      // A reference to a namespace that does not exist is a bad field, not a missing route.
      if (out.error().code == "namespaces.not_found")
        return reply(
            http::Response::error(400, "invalid_field", request->namespace_field + ": " + out.error().message));
      return reply(error_response(out.error()));
    }
    if (out->created || !out->previous_namespace_id.empty())
      record(
          audit, "mapping.created", out->mapping.jid,
          "{\"namespaceId\":" + json_quoted(out->mapping.namespace_id) +
              (out->previous_namespace_id.empty() ? "" : ",\"replaced\":" + json_quoted(out->previous_namespace_id)) +
              "}");
    reply(http::Response::json(out->created ? 201 : 200, namespaces::mapping_json(out->mapping)));
  });

  api.add("GET", kMappingsPath, [store](const http::Request& req, http::Reply reply) {
    auto ns = req.query_param("namespace");
    auto all = store->mappings(ns);
    if (!all) {
      if (all.error().code == "namespaces.not_found")
        return reply(http::Response::error(400, "invalid_field", "namespace: " + all.error().message));
      return reply(error_response(all.error()));
    }
    reply(http::Response::json(200, namespaces::mappings_json(*all)));
  });

  api.add_prefix("DELETE", map_item, [store, audit, map_item](const http::Request& req, http::Reply reply) {
    std::string jid = http::percent_decode(std::string_view(req.path).substr(map_item.size()));
    if (auto st = messaging::validate_jid(jid); !st) return reply(error_response(st.error()));
    auto m = store->unmap(jid);
    if (!m) return reply(error_response(m.error()));
    record(audit, "mapping.removed", m->jid, "{\"namespaceId\":" + json_quoted(m->namespace_id) + "}");
    reply(no_content());
  });

  // {platform}/{bot} from the path, validated.
  auto bot_from = [allow_item](const std::string& path) -> Result<std::pair<std::string, std::string>> {
    std::string rest(std::string_view(path).substr(allow_item.size()));
    auto slash = rest.find('/');
    if (slash == std::string::npos)
      return make_error("invalid_field", "bot: the path must be /api/v1/container/allowlists/{platform}/{bot}");
    std::string platform = http::percent_decode(rest.substr(0, slash));
    std::string bot = http::percent_decode(rest.substr(slash + 1));
    if (!namespaces::is_platform(platform))
      return make_error("invalid_field", "platform: must be slack, discord, whatsapp, telegram or local");
    if (auto st = namespaces::validate_bot_name(bot); !st) return st.error();
    return std::make_pair(platform, bot);
  };

  api.add("GET", kAllowlistsPath, [store](const http::Request&, http::Reply reply) {
    auto all = store->allowlists();
    if (!all) return reply(error_response(all.error()));
    std::string body = "[";
    for (size_t i = 0; i < all->size(); ++i) body += (i ? "," : "") + namespaces::allowlist_json((*all)[i]);
    reply(http::Response::json(200, body + "]"));
  });

  api.add_prefix("GET", allow_item, [store, bot_from](const http::Request& req, http::Reply reply) {
    auto bot = bot_from(req.path);
    if (!bot) return reply(error_response(bot.error()));
    auto a = store->allowlist(bot->first, bot->second);
    if (!a) return reply(error_response(a.error()));
    reply(http::Response::json(200, namespaces::allowlist_json(*a)));
  });

  api.add_prefix("PUT", allow_item, [store, audit, bot_from](const http::Request& req, http::Reply reply) {
    auto bot = bot_from(req.path);
    if (!bot) return reply(error_response(bot.error()));
    auto a = namespaces::parse_allowlist(req.body);
    if (!a) return reply(error_response(a.error()));
    a->channel = bot->first;
    a->bot = bot->second;
    auto stored = store->set_allowlist(*a);
    if (!stored) return reply(error_response(stored.error()));
    record(audit, "allowlist.set", stored->channel + "/" + stored->bot,
           std::string("{\"mode\":\"") + (stored->everyone ? "everyone" : "list") +
               "\",\"senders\":" + std::to_string(stored->senders.size()) + "}");
    reply(http::Response::json(200, namespaces::allowlist_json(*stored)));
  });

  api.add("GET", kRoutingPath, [store](const http::Request&, http::Reply reply) {
    auto r = store->routing();
    if (!r) return reply(error_response(r.error()));
    reply(http::Response::json(200, namespaces::routing_json(*r)));
  });

  api.add("PUT", kRoutingPath, [store, audit](const http::Request& req, http::Reply reply) {
    auto request = namespaces::parse_routing_request(req.body);
    if (!request) return reply(error_response(request.error()));
    auto r = store->set_routing(*request);
    if (!r) return reply(error_response(r.error()));
    record(audit, "routing.updated", "default_policy", namespaces::routing_json(*r));
    reply(http::Response::json(200, namespaces::routing_json(*r)));
  });
}

}  // namespace sb::app::admin
