#include "actors/channels/channel_registry.hpp"

#include <charconv>

#include "actors/channels/channel_sender.hpp"
#include "actors/channels/telegram_poller.hpp"
#include "actors/supervision/supervisor.hpp"

namespace sb::actors {
namespace {

// `[channels.telegram.NAME] poll_timeout_s` (validated by the config loader), else 30.
int poll_timeout_for(const config::Config& config, const channels::ChannelBot& bot) {
  for (const auto& entry : config.channels) {
    if (entry.platform != messaging::channel_name(bot.kind()) || entry.name != bot.name()) continue;
    const auto it = entry.settings.find("poll_timeout_s");
    if (it == entry.settings.end()) break;
    int value = 30;
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    return value;
  }
  return 30;
}

}  // namespace

supervisor_actor spawn_channel_registry(caf::actor_system& system, ChannelRegistryOptions options) {
  SupervisorOptions sup;
  sup.name = "channels";
  sup.policy = options.policy;
  sup.parent = options.parent;
  sup.metrics = options.metrics;
  sup.register_children = false;
  const auto& c = options.config;
  for (const auto& bot : options.bots) {
    if (bot->can_send()) {
      ChannelSenderOptions sender;
      sender.bot = bot;
      sender.db_path = c.storage_path();
      sender.outbound = c.outbound;
      sender.metrics = options.metrics;
      sup.children.push_back({"send:" + bot->id(), [sender](caf::actor_system& sys, const caf::actor&) {
                                return caf::actor_cast<caf::actor>(spawn_channel_sender(sys, sender));
                              }});
    }
    if (bot->polling()) {
      TelegramPollerOptions poller;
      poller.bot = bot;
      poller.db_path = c.storage_path();
      poller.poll_timeout_s = poll_timeout_for(c, *bot);
      poller.ca_file = c.outbound.ca_file;
      poller.backoff_base = std::chrono::milliseconds(c.outbound.backoff_base_ms);
      poller.backoff_max = std::chrono::milliseconds(c.outbound.backoff_max_ms);
      poller.metrics = options.metrics;
      sup.children.push_back({"poll:" + bot->id(), [poller](caf::actor_system& sys, const caf::actor&) {
                                return caf::actor_cast<caf::actor>(spawn_telegram_poller(sys, poller));
                              }});
    }
  }
  return spawn_supervisor(system, std::move(sup));
}

}  // namespace sb::actors
