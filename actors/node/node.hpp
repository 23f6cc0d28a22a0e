#pragma once
// The node's supervision tree:
//   root supervisor -> storage writer, audit log, router, namespace manager,
//                      scheduler, channel registry
// Children start in that order and stop in reverse, so the storage writer is the
// last to go and can persist what the others flush on their way down.
#include <memory>
#include <vector>

#include "actors/channels/connection_board.hpp"
#include "actors/protocol.hpp"
#include "runtime/cluster/ownership_view.hpp"
#include "runtime/core/audit_sink.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::channels::local {
class LocalChatHub;
}
namespace sb::storage {
class TaskStore;
}

namespace sb::actors {

struct NamespaceServices;  // actors/namespaces/namespace_manager.hpp

struct NodeOptions {
  config::Config config;
  metrics::Registry* metrics = nullptr;  // not owned
  caf::actor parent;                     // receives failed_atom for given-up children
  // Every enabled channel bot (made with channels::make_bots before the node starts);
  // the channel registry runs a sender per bot that can send and a poller per polling bot.
  std::vector<std::shared_ptr<const channels::ChannelBot>> bots;
  // Replies of the local chat channel (JID "local:{namespace}"); null: none.
  std::shared_ptr<channels::local::LocalChatHub> local_chat;
  // What namespaces need to run containers (actors/namespaces/namespace_manager.hpp); null: the
  // namespaces queue messages but start no container (tests without a runtime).
  std::shared_ptr<NamespaceServices> namespace_services;
  // Scheduled tasks (storage/task_store.hpp); null: the scheduler idles.
  std::shared_ptr<storage::TaskStore> tasks{};  // {}: positional initialisers may leave it out
  // Where the bots that connect out report their connection (admin API); null: nowhere.
  ConnectionBoard* connections = nullptr;
  // cluster.enabled: what this node believes about ownership (the "cluster" child writes
  // it; namespaces, router and channels read it). Null: a single node owns everything.
  std::shared_ptr<cluster::OwnershipView> cluster_view{};
  AuditSink cluster_audit{};  // refused peers (the audit actor's sink)
};

// The database at config.storage_path() must exist and be migrated (serve does this
// before spawning, so that a refused database stops the start instead of looping).
supervisor_actor spawn_node(caf::actor_system& system, NodeOptions options);

// Scheduler settings for the node's actor system (threads, wake-up latency), every
// message type of the protocol, and with cluster.enabled the node-to-node transport
// (check_cluster_credentials first: CAF throws on unusable TLS files).
void configure_actor_system(caf::actor_system_config& cfg, const config::Config& config);

}  // namespace sb::actors
