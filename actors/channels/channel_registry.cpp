#include "actors/channels/channel_registry.hpp"

#include <charconv>

#include "actors/channels/channel_sender.hpp"
#include "actors/channels/discord_gateway.hpp"
#include "actors/channels/slack_socket.hpp"
#include "actors/channels/telegram_poller.hpp"
#include "actors/supervision/supervisor.hpp"

namespace sb::actors {
namespace {

// A setting of the bot's `[channels.PLATFORM.NAME]` table ("" when unset).
std::string setting_of(const config::Config& config, const channels::ChannelBot& bot, const std::string& key) {
  for (const auto& entry : config.channels)
    if (entry.platform == messaging::channel_name(bot.kind()) && entry.name == bot.name()) return entry.setting(key);
  return "";
}

// `[channels.telegram.NAME] poll_timeout_s` (validated by the config loader), else 30.
int poll_timeout_for(const config::Config& config, const channels::ChannelBot& bot) {
  const std::string text = setting_of(config, bot, "poll_timeout_s");
  int value = 30;
  if (!text.empty()) std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The bot's own CA, else [outbound] ca_file.
std::string ca_file_for(const config::Config& config, const channels::ChannelBot& bot) {
  return bot.ca_file().empty() ? config.outbound.ca_file : bot.ca_file();
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
      sender.outbound.ca_file = ca_file_for(c, *bot);
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
      poller.ca_file = ca_file_for(c, *bot);
      poller.backoff_base = std::chrono::milliseconds(c.outbound.backoff_base_ms);
      poller.backoff_max = std::chrono::milliseconds(c.outbound.backoff_max_ms);
      poller.metrics = options.metrics;
      sup.children.push_back({"poll:" + bot->id(), [poller](caf::actor_system& sys, const caf::actor&) {
                                return caf::actor_cast<caf::actor>(spawn_telegram_poller(sys, poller));
                              }});
    }
  }
  for (const auto& bot : options.bots) {
    if (bot->mode() != config::BotMode::gateway) continue;
    DiscordGatewayOptions gw;
    gw.bot = bot;
    gw.intents = setting_of(c, *bot, "intents");
    gw.db_path = c.storage_path();
    gw.ca_file = ca_file_for(c, *bot);
    gw.backoff_base = std::chrono::milliseconds(c.outbound.backoff_base_ms);
    gw.backoff_max = std::chrono::milliseconds(std::max<int64_t>(c.outbound.backoff_base_ms, 60000));
    gw.metrics = options.metrics;
    gw.board = options.board;
    gw.audit = options.audit;
    sup.children.push_back({"gateway:" + bot->id(), [gw](caf::actor_system& sys, const caf::actor&) {
                              return caf::actor_cast<caf::actor>(spawn_discord_gateway(sys, gw));
                            }});
  }
  for (const auto& bot : options.bots) {
    if (bot->mode() != config::BotMode::socket) continue;
    SlackSocketOptions sock;
    sock.bot = bot;
    sock.bot_user_id = setting_of(c, *bot, "bot_user_id");
    sock.ca_file = ca_file_for(c, *bot);
    // The Events webhook's deadline for the same promise (stored before acknowledged).
    sock.commit_timeout = std::chrono::milliseconds(c.webhooks.ack_timeout_ms);
    sock.backoff_base = std::chrono::milliseconds(c.outbound.backoff_base_ms);
    sock.backoff_max = std::chrono::milliseconds(std::max<int64_t>(c.outbound.backoff_base_ms, 60000));
    sock.metrics = options.metrics;
    sock.board = options.board;
    sock.audit = options.audit;
    sup.children.push_back({"socket:" + bot->id(), [sock](caf::actor_system& sys, const caf::actor&) {
                              return caf::actor_cast<caf::actor>(spawn_slack_socket(sys, sock));
                            }});
  }
  return spawn_supervisor(system, std::move(sup));
}

}  // namespace sb::actors
