#pragma once
// Slack Socket Mode (`[channels.slack.NAME] mode = "socket"`): the thin actor shell around
// channels::slack::socket_mode::Session, which decides everything. It executes the
// session's effects: POST {api_base_url}/api/apps.connections.open with the app-level
// token on an HttpWorker, the WebSockets (WsConnections; at most two at once during a
// refresh), timers as delayed messages, each envelope's messages handed to the "ingest"
// actor (the same durable, deduplicated path as the Events webhook; the envelope is
// acknowledged only once they are committed), and a fatal stop (link_disabled, a token
// Slack refuses) logged, counted, audited and shown on the connection board without a
// reconnect loop. docs/channels-slack-socket-mode.md.
#include <chrono>
#include <memory>
#include <string>

#include "actors/channels/connection_board.hpp"
#include "actors/protocol.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct SlackSocketOptions {
  std::shared_ptr<const channels::ChannelBot> bot;  // slack, mode() == socket
  std::string bot_user_id;                          // the `bot_user_id` setting: its own messages are ignored
  std::string ca_file;                              // for apps.connections.open and the websocket
  // How long an envelope's messages may take to become durable. Later, the envelope is
  // not acknowledged (Slack redelivers it after its 3 s; the event_id dedupe absorbs the
  // copy). [webhooks] ack_timeout_ms, the Events webhook's deadline for the same promise.
  std::chrono::milliseconds commit_timeout{2500};
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{60000};
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  ConnectionBoard* board = nullptr;      // not owned; may be null
  AuditSink audit;                       // may be empty
};

// A supervised child (answers status/shutdown). Returns an invalid handle (and logs why)
// when the bot is missing, is not a Slack socket-mode bot, or has no app token.
ws_bot_actor spawn_slack_socket(caf::actor_system& system, SlackSocketOptions options);

}  // namespace sb::actors
