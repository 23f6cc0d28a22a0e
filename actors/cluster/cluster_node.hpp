#pragma once
// The cluster actors of one node (docs/cluster.md):
//  * the peer: the one actor published on cluster.listen (mutual TLS). Other nodes say
//    hello to it and hand it batches for namespaces this node owns;
//  * the cluster actor ("cluster" in the registry): renews this node's membership and
//    leases in the database, takes the namespaces and bots that rendezvous hashing gives
//    it, gives up (between turns) those that should move, connects to the live members,
//    forwards batches of namespaces owned elsewhere, and publishes what it believes in an
//    OwnershipView. The database decides; CAF's connections are only the data path.
#include <memory>
#include <string>
#include <vector>

#include "actors/protocol.hpp"
#include "runtime/cluster/ownership_view.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::channels::local {
class LocalChatHub;
}

namespace sb::actors {

struct ClusterOptions {
  config::Config config;                         // cluster.*, storage path
  std::shared_ptr<cluster::OwnershipView> view;  // written by the cluster actor
  metrics::Registry* metrics = nullptr;          // not owned; may be null
  AuditSink audit;                               // refused peers, ownership changes
  std::vector<std::string> bots;                 // bot ids that run on one node at a time
  // The node's local chat replies: the peer fills it with other nodes' replies.
  std::shared_ptr<channels::local::LocalChatHub> local_chat{};
};

// Spawns the peer and publishes it on cluster.listen over TLS (blocking; call once, after
// the actor system exists). Errors: cluster.listen.
Result<cluster_peer_actor> publish_cluster_peer(caf::actor_system& system, const ClusterOptions& options);

cluster_actor spawn_cluster(caf::actor_system& system, ClusterOptions options);

}  // namespace sb::actors
