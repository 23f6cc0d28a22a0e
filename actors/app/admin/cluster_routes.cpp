#include "actors/app/admin/cluster_routes.hpp"

#include <map>
#include <memory>
#include <optional>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/protocol.hpp"
#include "actors/supervision/supervisor.hpp"
#include "storage/cluster_store.hpp"
#include "storage/error_codes.hpp"
#include "storage/namespace_rows.hpp"
#include "storage/sqlite.hpp"

namespace sb::app::admin {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
constexpr const char* kClusterPath = "/api/v1/cluster";
constexpr const char* kMembersPrefix = "/api/v1/cluster/members/";

// Namespace names by id, for people reading the status (ids alone say little).
std::map<std::string, std::string> namespace_names(const std::string& db_path) {
  std::map<std::string, std::string> out;
  storage::OpenOptions ro;
  ro.read_only = true;
  auto db = storage::Database::open(db_path, ro);
  if (!db) return out;
  auto ids = storage::read_namespace_ids(*db);
  if (!ids) return out;
  for (const auto& id : *ids)
    if (auto rec = storage::read_namespace(*db, id); rec && *rec) out[id] = (*rec)->name;
  return out;
}

std::string status_json(const actors::cluster_status& s, const std::map<std::string, std::string>& names) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("enabled");
  w.Bool(true);
  w.Key("self");
  w.String(s.self.c_str());
  w.Key("serving");
  w.Bool(s.serving);
  w.Key("leaseTtlMs");
  w.Int64(s.lease_ttl_ms);
  w.Key("members");
  w.StartArray();
  for (const auto& m : s.members) {
    w.StartObject();
    const std::pair<const char*, const std::string*> texts[] = {{"name", &m.name},
                                                                {"advertise", &m.advertise},
                                                                {"state", &m.state},
                                                                {"connection", &m.connection},
                                                                {"lastError", &m.last_error}};
    for (const auto& [key, value] : texts) {
      w.Key(key);
      w.String(value->c_str());
    }
    w.Key("live");
    w.Bool(m.live);
    w.Key("leaseAgeMs");
    w.Int64(m.lease_age_ms);
    w.Key("capacity");
    w.Int64(m.capacity);
    w.Key("namespaces");
    w.StartArray();
    for (const auto& id : m.namespaces) {
      w.StartObject();
      w.Key("id");
      w.String(id.c_str());
      w.Key("name");
      auto it = names.find(id);
      w.String(it == names.end() ? "" : it->second.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.Key("bots");
    w.StartArray();
    for (const auto& bot : m.bots) w.String(bot.c_str());
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

// "/api/v1/cluster/members/{name}/{action}" -> {name, action}.
std::optional<std::pair<std::string, std::string>> member_action(const std::string& path) {
  const std::string rest = path.substr(std::string(kMembersPrefix).size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  return std::make_pair(rest.substr(0, slash), rest.substr(slash + 1));
}

}  // namespace

void add_cluster_routes(http::Router& api, caf::actor_system& system, ClusterRoutesOptions options) {
  auto opts = std::make_shared<ClusterRoutesOptions>(std::move(options));
  api.add("GET", kClusterPath, [&system, opts](const http::Request&, http::Reply reply) {
    if (!opts->enabled) return reply(http::Response::json(200, R"({"enabled":false,"members":[]})"));
    auto cluster = actors::lookup<actors::cluster_actor>(system, "cluster");
    if (!cluster) return reply(http::Response::error(503, "unavailable", "the cluster actor is not running"));
    auto timeout = opts->actor_timeout;
    system.spawn([cluster, timeout, reply, opts](caf::event_based_actor* self) {
      self->request(cluster, timeout, caf::get_atom::value)
          .then(
              [reply, opts](const actors::cluster_status& s) {
                reply(http::Response::json(200, status_json(s, namespace_names(opts->db_path))));
              },
              [reply](caf::error&) {
                reply(http::Response::error(503, "unavailable", "the cluster actor did not answer in time"));
              });
    });
  });

  api.add_prefix("POST", kMembersPrefix, [opts](const http::Request& req, http::Reply reply) {
    auto target = member_action(req.path);
    if (!target || (target->second != "drain" && target->second != "undrain"))
      return reply(http::Response::error(404, "not_found", "POST /api/v1/cluster/members/{name}/drain or /undrain"));
    if (!opts->enabled)
      return reply(http::Response::error(409, "cluster.disabled", "this node is not part of a cluster"));
    auto db = storage::Database::open(opts->db_path, {});
    if (!db)
      return reply(http::Response::error(storage::is_unavailable(db.error().code) ? 503 : 500, db.error().code,
                                         db.error().message));
    storage::ClusterStore store(*db);
    const bool drain = target->second == "drain";
    auto changed = store.set_member_state(target->first, drain ? storage::kMemberDraining : storage::kMemberActive);
    if (!changed)
      return reply(http::Response::error(storage::is_unavailable(changed.error().code) ? 503 : 500,
                                         changed.error().code, changed.error().message));
    if (!*changed)
      return reply(http::Response::error(404, "cluster.unknown_member", "no member \"" + target->first + "\""));
    if (opts->audit)
      opts->audit(AuditRecord{"operator", drain ? "cluster.drain" : "cluster.undrain", target->first, "{}"});
    reply(http::Response::json(
        200, std::string(R"({"member":")") + http::json_escape(target->first) + R"(","state":")" +
                 (drain ? std::string(storage::kMemberDraining) : std::string(storage::kMemberActive)) + "\"}"));
  });
}

}  // namespace sb::app::admin
