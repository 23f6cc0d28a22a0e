#include "actors/channels/channel_registry.hpp"

#include <charconv>
#include <map>

#include "actors/channels/bot_lease_gate.hpp"
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

// The registry's children, one or more per bot, each tagged with its bot (bot_of).
SupervisorOptions channel_children(const ChannelRegistryOptions& options) {
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
  return sup;
}

// "send:slack/main" -> "slack/main".
std::string bot_of(const ChildSpec& child) {
  return child.name.substr(child.name.find(':') + 1);
}

// Cluster mode: one gate per bot instead of the bot's children; the gate runs them under
// a supervisor of their own while this node holds the bot's lease.
SupervisorOptions gated_by_bot(SupervisorOptions all, const ChannelRegistryOptions& options) {
  std::map<std::string, std::vector<ChildSpec>> by_bot;
  std::vector<std::string> order;
  for (auto& child : all.children) {
    const auto bot = bot_of(child);
    if (!by_bot.count(bot)) order.push_back(bot);
    by_bot[bot].push_back(std::move(child));
  }
  all.children.clear();
  for (const auto& bot : order) {
    BotLeaseGateOptions gate;
    gate.bot_id = bot;
    gate.view = options.cluster_view;
    for (const auto& c : by_bot[bot]) gate.has_sender = gate.has_sender || c.name.starts_with("send:");
    SupervisorOptions per_bot;
    per_bot.name = "bot:" + bot;
    per_bot.policy = all.policy;
    per_bot.metrics = all.metrics;
    per_bot.register_children = false;
    per_bot.children = std::move(by_bot[bot]);
    gate.start = [per_bot](caf::actor_system& sys) { return spawn_supervisor(sys, per_bot); };
    all.children.push_back({"bot:" + bot, [gate](caf::actor_system& sys, const caf::actor&) {
                              return caf::actor_cast<caf::actor>(spawn_bot_lease_gate(sys, gate));
                            }});
  }
  return all;
}

}  // namespace

supervisor_actor spawn_channel_registry(caf::actor_system& system, ChannelRegistryOptions options) {
  auto sup = channel_children(options);
  if (options.cluster_view) sup = gated_by_bot(std::move(sup), options);
  return spawn_supervisor(system, std::move(sup));
}

}  // namespace sb::actors
