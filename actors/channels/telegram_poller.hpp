#pragma once
// Telegram long polling, for operators without a public URL: one poller per bot with
// `mode = "polling"`. It calls getUpdates from the persisted offset, hands the updates
// to the "ingest" actor, and only once they are durably stored persists the next offset
// (channel_state: channel 'telegram', bot, key 'offset'). A crash between the two
// re-reads the same updates, which the ingest dedupes by update_id: nothing is lost and
// nothing is routed twice. Errors back off exponentially; a 409 (a webhook is set) or
// 401 (bad token) is logged and retried slowly (backoff_max), never spun. The long poll
// and the backoff wait run on a private thread that shutdown interrupts, so `shutdown`
// is answered at once even while a poll is pending. Decisions: telegram_poll_policy.hpp.
#include <chrono>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct TelegramPollerOptions {
  std::shared_ptr<const channels::ChannelBot> bot;  // polling() must be true
  std::string db_path;                              // where channel_state is read at start
  int poll_timeout_s = 30;                          // getUpdates long-poll timeout (0-50)
  std::string ca_file;                              // outbound.ca_file
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{300000};
  metrics::Registry* metrics = nullptr;  // not owned; may be null
};

// A supervised child (answers status/shutdown as a component_actor). Returns an invalid
// handle (and logs why) when options.bot is null or does not poll.
telegram_poller_actor spawn_telegram_poller(caf::actor_system& system, TelegramPollerOptions options);

}  // namespace sb::actors
