#pragma once
// The "router" node child: receives every durably stored inbound message exactly once
// (from the ingest actor) and decides where it goes (runtime/routing, REFERENCE §1): to
// a namespace (handed to the "namespaces" actor as a routed_message) or dropped (counted,
// and the row marked state 'dropped' with its reason). Its routing table is read from
// the database at start and on reload_atom; recover_atom replays the rows still
// 'received' (it runs once by itself after start). Never drops on a failed load: the
// rows stay 'received' and are replayed by a later recover.
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "runtime/cluster/ownership_view.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct MessageRouterOptions {
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  std::string db_path;                   // the node's database; read on its own read-only connection
  std::string assistant_name = "Andy";   // the default trigger is "@<assistant name>"
  // Cluster mode: a recover replays only the rows of namespaces this node owns (each owner
  // recovers its own; live messages still go to the namespaces actor, which forwards).
  std::shared_ptr<const cluster::OwnershipView> cluster_view{};
};

message_router_actor spawn_message_router(caf::actor_system& system, MessageRouterOptions options);

}  // namespace sb::actors
