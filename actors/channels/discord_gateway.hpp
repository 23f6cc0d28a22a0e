#pragma once
// Discord Gateway bot mode (`[channels.discord.NAME] mode = "gateway"`): the thin actor
// shell around channels::discord::GatewaySession, which decides everything. It executes
// the session's effects: GET /api/v10/gateway/bot on an HttpWorker, one WebSocket at a
// time (WsConnections), timers as delayed messages, each MESSAGE_CREATE handed to the
// "ingest" actor (durable before its sequence number counts as committed), the session
// (id, resume URL, committed sequence) persisted in channel_state so that a restart
// within Discord's resume window RESUMEs, and a fatal stop (bad token, disallowed
// intents) logged, counted, audited and shown on the connection board without a
// reconnect loop. docs/channels-discord-gateway.md.
#include <chrono>
#include <memory>
#include <string>

#include "actors/channels/connection_board.hpp"
#include "actors/protocol.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct DiscordGatewayOptions {
  std::shared_ptr<const channels::ChannelBot> bot;  // mode() == gateway
  std::string intents;                              // the `intents` setting ("" = default)
  std::string db_path;                              // channel_state is read here at start
  std::string ca_file;                              // for the bootstrap call and the websocket
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{60000};
  // Tests: shorter Gateway timeouts (0 = the session's defaults).
  std::chrono::milliseconds identify_spacing{0};
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  ConnectionBoard* board = nullptr;      // not owned; may be null
  AuditSink audit;                       // may be empty
};

// A supervised child (answers status/shutdown). Returns an invalid handle (and logs why)
// when the bot is missing, is not a gateway bot, or its settings are invalid.
ws_bot_actor spawn_discord_gateway(caf::actor_system& system, DiscordGatewayOptions options);

}  // namespace sb::actors
