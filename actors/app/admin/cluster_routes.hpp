#pragma once
// The cluster resource of the admin API (docs/cluster.md, "Status and drain"):
//   GET  /api/v1/cluster                          members, their state and what each owns
//   POST /api/v1/cluster/members/{name}/drain     move the member's work away (audited)
//   POST /api/v1/cluster/members/{name}/undrain   let it take work again (audited)
// Any node answers for the whole cluster: the members and leases are rows in the shared
// database; the connection column is this node's view of its peers.
#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "runtime/core/audit_sink.hpp"
#include "runtime/http/router.hpp"

namespace sb::app::admin {

struct ClusterRoutesOptions {
  bool enabled = false;  // cluster.enabled: else GET answers {"enabled":false}, drains 409
  std::string db_path;
  std::chrono::milliseconds actor_timeout{5000};
  AuditSink audit;
};

void add_cluster_routes(http::Router& api, caf::actor_system& system, ClusterRoutesOptions options);

}  // namespace sb::app::admin
