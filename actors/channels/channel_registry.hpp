#pragma once
// The channel registry: the node's "channels" child, a nested supervisor with one
// channel sender per bot that can send (channel_sender.hpp), one Telegram poller per
// bot in polling mode (telegram_poller.hpp), one Discord Gateway connection per gateway
// bot (discord_gateway.hpp) and one Slack Socket Mode connection per socket bot
// (slack_socket.hpp). Its children are not in the actor registry
// (names are per bot and longer than 10 characters); the outbox reaches a sender
// through the bot's wake group, which survives restarts.
#include <memory>
#include <string>
#include <vector>

#include "actors/channels/connection_board.hpp"
#include "actors/protocol.hpp"
#include "runtime/cluster/ownership_view.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/backoff.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct ChannelRegistryOptions {
  std::vector<std::shared_ptr<const channels::ChannelBot>> bots;
  config::Config config;                 // storage path, [outbound], per-bot poll settings
  RestartPolicy policy;                  // for the senders and pollers
  caf::actor parent;                     // receives failed_atom; may be invalid
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  ConnectionBoard* board = nullptr;      // not owned; may be null: connection states
  AuditSink audit;                       // may be empty: fatal connection stops
  // Cluster mode: each bot's children run behind a lease gate (bot_lease_gate.hpp), on the
  // one node that holds the bot's lease. Null: all of them run here.
  std::shared_ptr<const cluster::OwnershipView> cluster_view{};
};

// Children are named "send:slack/main", "poll:telegram/ops", "gateway:discord/x" and
// "socket:slack/y" in status and logs.
supervisor_actor spawn_channel_registry(caf::actor_system& system, ChannelRegistryOptions options);

}  // namespace sb::actors
