#include "channels/bot/channel_bot.hpp"

namespace sb::channels {

Error no_credential(const ChannelBot& bot, std::string_view key) {
  return make_error("channel.no_credential",
                    "bot " + bot.id() + " has no " + std::string(key) + ": it cannot send messages");
}

Result<Secret> lookup_secret(const config::ChannelBotConfig& config, const SecretLookup& secrets,
                             const std::string& role) {
  const std::string entry = config.secret(role);
  if (entry.empty()) return Secret{};
  auto value = secrets(entry);
  if (!value)
    return make_error("channel.secret", "channels." + config.platform + "." + config.name + "." + role +
                                            ": vault entry '" + entry + "' is not available (" + value.error().message +
                                            "); set it with `squadbox secret set " + entry + "`");
  return *value;
}

ChannelBot::ChannelBot(messaging::ChannelKind kind, const config::ChannelBotConfig& config, std::string default_url)
    : kind_(kind),
      name_(config.name),
      base_url_(config.api_base_url.empty() ? std::move(default_url) : config.api_base_url),
      mode_(config.mode),
      ca_file_(config.ca_file) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<OutboundRequest> ChannelBot::build_typing(std::string_view, std::string_view) const {
  return make_error("channel.no_typing", "bot " + id() + " has no typing indicator");
}

std::optional<Result<OutboundRequest>> ChannelBot::build_delivered_lookup(std::string_view, std::string_view,
                                                                          std::string_view, std::int64_t) const {
  return std::nullopt;
}

Result<std::optional<std::string>> ChannelBot::find_delivered(const HttpReply&, std::string_view) const {
  return make_error("channel.no_lookup", "bot " + id() + " cannot look up delivered messages");
}

bool ChannelBot::repeats_are_deduplicated(std::string_view) const {
  return false;
}

Result<OutboundRequest> ChannelBot::build_poll(std::int64_t, int) const {
  return make_error("channel.not_polling", "bot " + id() + " does not poll");
}

Result<Secret> ChannelBot::connection_credential() const {
  return make_error("channel.no_connection", "bot " + id() + " does not connect out");
}

Result<ChannelBot::PolledBatch> ChannelBot::parse_poll(std::string_view) const {
  return make_error("channel.not_polling", "bot " + id() + " does not poll");
}

std::string ChannelBot::id() const {
  return std::string(messaging::channel_name(kind_)) + "/" + name_;
}

std::string default_base_url(messaging::ChannelKind kind) {
  switch (kind) {
    case messaging::ChannelKind::slack: return "https://slack.com";
    case messaging::ChannelKind::discord: return "https://discord.com";
    case messaging::ChannelKind::whatsapp: return "https://graph.facebook.com";
    case messaging::ChannelKind::telegram: return "https://api.telegram.org";
  }
  return {};
}

Result<messaging::ChannelKind> parse_channel_kind(std::string_view name) {
  for (auto kind : {messaging::ChannelKind::slack, messaging::ChannelKind::discord, messaging::ChannelKind::whatsapp,
                    messaging::ChannelKind::telegram})
    if (messaging::channel_name(kind) == name) return kind;
  return make_error("channel.bad_value", "unknown channel '" + std::string(name) + "'");
}

}  // namespace sb::channels
