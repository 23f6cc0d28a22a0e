#include "channels/factory/bot_factory.hpp"

#include "channels/discord/discord_bot.hpp"
#include "channels/slack/slack_bot.hpp"
#include "channels/telegram/telegram_bot.hpp"
#include "channels/whatsapp/whatsapp_bot.hpp"

namespace sb::channels {

Result<std::unique_ptr<ChannelBot>> make_bot(const config::ChannelBotConfig& c, const SecretLookup& secrets) {
  auto kind = parse_channel_kind(c.platform);
  if (!kind) return kind.error();
  switch (*kind) {
    case messaging::ChannelKind::slack: return slack::make_bot(c, secrets);
    case messaging::ChannelKind::discord: return discord::make_bot(c, secrets);
    case messaging::ChannelKind::whatsapp: return whatsapp::make_bot(c, secrets);
    case messaging::ChannelKind::telegram: return telegram::make_bot(c, secrets);
  }
  return make_error("channel.bad_value", "unknown channel");
}

Result<std::vector<std::shared_ptr<const ChannelBot>>> make_bots(const config::Config& config,
                                                                 const SecretLookup& secrets) {
  std::vector<std::shared_ptr<const ChannelBot>> out;
  for (const auto& c : config.channels) {
    if (!c.enabled) continue;
    auto bot = make_bot(c, secrets);
    if (!bot) return bot.error();
    out.push_back(std::shared_ptr<const ChannelBot>(std::move(*bot)));
  }
  return out;
}

}  // namespace sb::channels
