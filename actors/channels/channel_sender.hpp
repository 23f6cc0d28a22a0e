#pragma once
// One sender per bot that can send: delivers the bot's 'pending' outbox rows in id order
// over a keep-alive connection (http::KeepAliveClient), never letting a row overtake an
// earlier undelivered row of the same chat. 429s pause the bot for Retry-After (or
// Discord's retry_after / exhausted bucket) without using up attempts; 5xx and network
// errors retry with jittered exponential backoff up to outbound.max_attempts; permanent
// errors are marked failed. Outcomes go to the storage writer pipelined (the sender does
// not wait for each commit) and are remembered in memory until committed, so a row is
// not sent twice by one process.
//
// It reads rows on its own read connection, wakes when the outbox enqueues for its bot
// (a CAF local group named after the bot, so a restarted sender is found without a
// registry entry) and on its own timer for the next due row; it never polls. At start it
// resumes whatever is pending. Delivery is at-least-once: a crash between the platform's
// answer and the commit of 'sent' sends that row again after the restart.
//
// Detached (blocking HTTP on its own thread); answers status/shutdown as a component.
#include <chrono>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct ChannelSenderOptions {
  std::shared_ptr<const channels::ChannelBot> bot;  // can_send() must be true
  std::string db_path;                              // read connection for due rows
  config::OutboundConfig outbound;                  // timeouts, CA file, retries
  metrics::Registry* metrics = nullptr;             // not owned; may be null
  size_t batch = 256;                               // rows sent per turn before the mailbox is looked at
  size_t max_unconfirmed = 4096;                    // outcomes sent to the writer and not yet committed
  std::chrono::milliseconds write_timeout{10000};
};

channel_sender_actor spawn_channel_sender(caf::actor_system& system, ChannelSenderOptions options);

// Tells the sender of `bot_id` ("slack/main") that rows are waiting (no-op if none runs).
void wake_sender(caf::actor_system& system, const std::string& bot_id);

// The same, wherever the sender runs: in a cluster the bot's sender runs on the node
// holding its lease, so the wake goes through the "cluster" actor; else wake_sender.
void wake_bot_sender(caf::actor_system& system, const std::string& bot_id);

// Asks the sender of `bot_id` to show the typing indicator in `chat_jid` once (best
// effort: never retried, skipped while the bot is rate limited; no-op if none runs).
// `inbound_message_id`: WhatsApp marks that message read (ChannelBot::build_typing).
void send_typing(caf::actor_system& system, const std::string& bot_id, const std::string& chat_jid,
                 const std::string& inbound_message_id);

}  // namespace sb::actors
