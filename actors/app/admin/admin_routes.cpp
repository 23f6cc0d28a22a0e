#include "actors/app/admin/admin_routes.hpp"

#include <sodium.h>

#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/protocol.hpp"
#include "runtime/http/message.hpp"
#include "storage/container_run_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::app::admin {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_children(JsonWriter& w, const actors::supervisor_status& s) {
  w.StartArray();
  for (const auto& c : s.children) {
    w.StartObject();
    w.Key("name");
    w.String(c.name.c_str());
    w.Key("state");
    const auto state = actors::to_string(c.state);
    w.String(state.data(), static_cast<rapidjson::SizeType>(state.size()));
    w.Key("restarts");
    w.Uint(c.restarts);
    w.Key("lastError");
    w.String(c.last_error.c_str());
    w.EndObject();
  }
  w.EndArray();
}

void write_connections(JsonWriter& w, const std::vector<ConnectionStatus>& connections) {
  w.StartArray();
  for (const auto& c : connections) {
    w.StartObject();
    w.Key("bot");
    w.String(c.bot_id.c_str());
    w.Key("state");
    w.String(c.state.c_str());
    w.Key("fatal");
    w.Bool(c.fatal);
    w.Key("detail");
    w.String(c.detail.c_str());
    w.Key("sinceMs");
    w.Int64(c.since_ms);
    w.EndObject();
  }
  w.EndArray();
}

bool all_running(const actors::supervisor_status& s) {
  for (const auto& c : s.children)
    if (c.state != actors::ChildState::running) return false;
  return !s.children.empty();
}

}  // namespace

struct AdminApi::Impl {
  Impl(caf::actor_system& sys, const caf::actor& r, metrics::Registry& m, AdminApiOptions o)
      : system(sys), root(r), metrics(m), options(std::move(o)) {}

  caf::actor_system& system;
  caf::actor root;
  metrics::Registry& metrics;
  AdminApiOptions options;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  http::Router router;
  http::Router api;

  // Asks the root supervisor for its status from a short-lived actor; `on_reply` gets
  // the status, or nullptr if the tree did not answer in time.
  template <class F>
  void with_tree_status(F on_reply) {
    auto timeout = options.actor_timeout;
    auto target = caf::actor_cast<actors::supervisor_actor>(root);
    system.spawn([target, timeout, on_reply](caf::event_based_actor* self) {
      self->request(target, timeout, actors::status_atom::value)
          .then([on_reply](const actors::supervisor_status& s) { on_reply(&s); },
                [on_reply](caf::error&) { on_reply(nullptr); });
    });
  }

  // Container runs and their lifecycle state, newest first, from a reader connection
  // (WAL: never blocks the writer). ?state=running filters.
  http::Response list_container_runs(const http::Request& req) {
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(options.db_path, o);
    if (!db) return http::Response::error(503, "unavailable", db.error().message);
    auto runs = storage::list_container_runs(*db, req.query_param("state"));
    if (!runs) return http::Response::error(500, "internal", runs.error().message);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const auto& run : *runs) {
      w.StartObject();
      const std::pair<const char*, const std::string*> texts[] = {
          {"id", &run.id},       {"namespace", &run.namespace_id},
          {"kind", &run.kind},   {"backend", &run.backend},
          {"image", &run.image}, {"state", &run.state}};
      for (const auto& [name, value] : texts) {
        w.Key(name);
        w.String(value->c_str());
      }
      auto optional_int = [&](const char* name, const std::optional<int64_t>& v) {
        w.Key(name);
        if (v)
          w.Int64(*v);
        else
          w.Null();
      };
      optional_int("exitCode", run.exit_code);
      optional_int("startedAtMs", run.started_at_ms);
      optional_int("endedAtMs", run.ended_at_ms);
      w.Key("error");
      w.String(run.error.c_str());
      w.EndObject();
    }
    w.EndArray();
    return http::Response::json(200, buf.GetString());
  }

  void routes() {
    router.add("GET", "/healthz",
               [](const http::Request&, http::Reply reply) { reply(http::Response::json(200, R"({"status":"ok"})")); });
    // Readiness is the actor tree's. A bot connection stopped for good (a revoked token,
    // disabled intents, Socket Mode turned off) is an operator's problem with one bot, not
    // a reason to take the node out of a load balancer that feeds every other bot's
    // webhooks: it shows as "degraded": true and in "connections" (docs/operations.md).
    router.add("GET", "/readyz", [this](const http::Request&, http::Reply reply) {
      auto connections = options.connections ? options.connections() : std::vector<ConnectionStatus>{};
      with_tree_status([reply, connections = std::move(connections)](const actors::supervisor_status* s) {
        if (!s) {
          reply(http::Response::json(503, R"({"status":"not_ready","reason":"actor tree did not answer"})"));
          return;
        }
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        bool ready = all_running(*s);
        w.StartObject();
        w.Key("status");
        w.String(ready ? "ready" : "not_ready");
        w.Key("degraded");
        w.Bool(std::any_of(connections.begin(), connections.end(), [](const auto& c) { return c.fatal; }));
        w.Key("actors");
        write_children(w, *s);
        w.Key("connections");
        write_connections(w, connections);
        w.EndObject();
        reply(http::Response::json(ready ? 200 : 503, buf.GetString()));
      });
    });
    router.add("GET", "/metrics", [this](const http::Request&, http::Reply reply) {
      std::string body = metrics.render();
      metrics::render_process_metrics(body);
      reply(http::Response::text(200, std::move(body), "text/plain; version=0.0.4; charset=utf-8"));
    });

    api.add("GET", "/api/v1/node", [this](const http::Request&, http::Reply reply) {
      double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      auto version = options.version;
      auto data_dir = options.data_dir;
      with_tree_status([reply, uptime, version, data_dir](const actors::supervisor_status* s) {
        if (!s) {
          reply(http::Response::error(503, "unavailable", "actor tree did not answer in time"));
          return;
        }
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        w.Key("version");
        w.String(version.c_str());
        w.Key("uptimeSeconds");
        w.Double(uptime);
        w.Key("dataDir");
        w.String(data_dir.c_str());
        w.Key("ready");
        w.Bool(all_running(*s));
        w.Key("actors");
        write_children(w, *s);
        w.EndObject();
        reply(http::Response::json(200, buf.GetString()));
      });
    });
    api.add("GET", "/api/v1/container/runtime", [this](const http::Request&, http::Reply reply) {
      reply(http::Response::json(
          200,
          options.runtime_status_json.empty()
              ? R"({"available":false,"backend":"","version":"","networking":{"hostGateway":"","extraRunArgs":[]},"message":"not detected"})"
              : options.runtime_status_json));
    });
    api.add("GET", "/api/v1/container/containers",
            [this](const http::Request& req, http::Reply reply) { reply(list_container_runs(req)); });
    for (const auto& extend : options.extensions) extend(api);
    // Every /api/ path requires the token before routing, so an unauthenticated
    // client learns nothing about which paths exist.
    for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      router.add_prefix(method, "/api/", [this](const http::Request& req, http::Reply reply) {
        auto auth = req.header("Authorization");
        if (!bearer_matches(auth ? &*auth : nullptr, options.token)) {
          auto r = http::Response::error(401, "unauthorized", "missing or invalid bearer token");
          r.headers.emplace_back("WWW-Authenticate", "Bearer");
          reply(std::move(r));
          return;
        }
        api.dispatch(req, std::move(reply));
      });
    }
  }
};

AdminApi::AdminApi(caf::actor_system& system, const caf::actor& root, metrics::Registry& metrics,
                   AdminApiOptions options)
    : impl_(std::make_unique<Impl>(system, root, metrics, std::move(options))) {
  impl_->routes();
}

AdminApi::~AdminApi() = default;

http::Handler AdminApi::handler() const {
  return [routed = impl_->router.handler(), hosts = impl_->options.hosts](const http::Request& req, http::Reply reply) {
    if (!http::host_allowed(req.header("Host"), hosts)) {
      reply(http::Response::error(403, "forbidden_host",
                                  "Host is not this listener's address (add it to admin.allowed_hosts)"));
      return;
    }
    routed(req, std::move(reply));
  };
}

bool bearer_matches(const std::string* header, const Secret& token) {
  if (!header || token.empty()) return false;
  static constexpr std::string_view prefix = "Bearer ";
  if (header->size() != prefix.size() + token.reveal().size()) return false;
  // The auth scheme is case-insensitive (RFC 9110 §11.1); the token is not.
  if (!iequals(std::string_view(*header).substr(0, prefix.size()), prefix)) return false;
  return sodium_memcmp(header->data() + prefix.size(), token.reveal().data(), token.reveal().size()) == 0;
}

}  // namespace sb::app::admin
