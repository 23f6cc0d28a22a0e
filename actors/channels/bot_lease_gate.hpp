#pragma once
// Cluster mode: a bot's connections (its sender, Telegram poller, Discord Gateway or
// Slack Socket Mode connection) run on one node at a time, the one holding the bot's
// lease ("bot:<platform>/<name>"). The gate is the channel registry's child for one bot
// on every node: it starts the bot's own supervisor when this node gets the lease and
// stops it when the lease goes (moved, or this node stopped serving: self-fencing). It
// looks at the ownership view every 250 ms, and while the bot runs here it wakes the
// sender once a second too, in case a node's wake was lost on the way.
#include <functional>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "runtime/cluster/ownership_view.hpp"

namespace sb::actors {

struct BotLeaseGateOptions {
  std::string bot_id;
  std::shared_ptr<const cluster::OwnershipView> view;
  // Starts the bot's children under a supervisor of their own (restarts as usual).
  std::function<supervisor_actor(caf::actor_system&)> start;
  bool has_sender = false;
};

component_actor spawn_bot_lease_gate(caf::actor_system& system, BotLeaseGateOptions options);

}  // namespace sb::actors
