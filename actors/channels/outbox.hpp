#pragma once
// The outbox actor ("outbox" in the registry): takes a reply for a bot, checks it
// (known bot that can send, a chat of the bot's platform, some text), splits it to the
// platform's limit, stores one 'pending' row per piece through the storage writer (one
// statement: all pieces or none) and replies with the row ids once they are durable.
// Then it wakes the bot's sender (channel_sender.hpp), which delivers in id order.
#include <chrono>
#include <memory>
#include <vector>

#include "actors/protocol.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct OutboxOptions {
  std::vector<std::shared_ptr<const channels::ChannelBot>> bots;
  metrics::Registry* metrics = nullptr;  // not owned; may be null
  std::chrono::milliseconds write_timeout{10000};
  // The node database, read (read-only connection) to answer an enqueue whose
  // idempotency key was stored before with the existing ids. "" = answer no ids.
  std::string db_path{};  // {}: positional {bots, metrics, timeout} stays warning-free
};

// An outbound_message with an idempotency_key that was enqueued before stores nothing
// and answers the first enqueue's ids (its sender is not woken again).
// enqueue_result::error is "code: message" with code outbox.unknown_bot,
// outbox.cannot_send, outbox.bad_jid, outbox.empty_text, outbox.too_long,
// outbox.bad_reply_to or outbox.storage (the write failed; nothing was enqueued).
outbox_actor spawn_outbox(caf::actor_system& system, OutboxOptions options);

}  // namespace sb::actors
