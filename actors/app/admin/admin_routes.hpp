#pragma once
// The admin HTTP surface: /healthz, /readyz, /metrics and the bearer-protected /api/*.
// Handlers never block the HTTP thread on an actor: they send a request from a
// short-lived actor and reply when the answer (or the timeout) arrives.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/metrics.hpp"
#include "runtime/core/secret.hpp"
#include "runtime/http/host_check.hpp"
#include "runtime/http/router.hpp"

namespace caf {
class actor_system;
class actor;
}  // namespace caf

namespace sb::app::admin {

// A bot connection that connects out (Telegram polling, Discord Gateway, Slack Socket
// Mode), as /readyz shows it.
struct ConnectionStatus {
  std::string bot_id;  // "discord/gw"
  std::string state;   // the connection actor's state ("ready", "resuming", "stopped_fatal", ...)
  std::string detail;  // the last reason; never a secret
  bool fatal = false;  // stopped for good until an operator acts
  std::int64_t since_ms = 0;
};

struct AdminApiOptions {
  std::string version;
  std::string data_dir;
  Secret token;
  std::chrono::milliseconds actor_timeout{5000};
  std::string runtime_status_json;  // GET /api/v1/container/runtime (detected at start)
  std::string db_path;              // read connection for /api/v1/container/containers
  // Requests whose Host is none of these (plus loopback literals and localhost) get 403:
  // DNS rebinding (runtime/http/host_check.hpp).
  http::HostPolicy hosts;
  // The node's outgoing bot connections for /readyz (may be empty).
  std::function<std::vector<ConnectionStatus>()> connections;
  // More /api/ routes from other capabilities (secrets, audit, ...): each is called once
  // with the bearer-protected router, after the built-in routes are added.
  std::vector<std::function<void(http::Router& api)>> extensions;
};

class AdminApi {
 public:
  // `root` is the node's root supervisor; `system` and `metrics` must outlive the API.
  AdminApi(caf::actor_system& system, const caf::actor& root, metrics::Registry& metrics, AdminApiOptions options);
  ~AdminApi();
  http::Handler handler() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Pure: does this Authorization header carry exactly this bearer token? Constant-time.
bool bearer_matches(const std::string* authorization_header, const Secret& token);

}  // namespace sb::app::admin
