#pragma once
// Discord: Interactions webhooks, follow-ups and channel messages, typing.
// The ChannelBot adapter over this folder's pure protocol code.
#include <memory>

#include "channels/bot/channel_bot.hpp"

namespace sb::channels::discord {

// Errors: "channel.secret" (a named vault entry is missing), "channel.config" (a
// credential the platform refuses).
Result<std::unique_ptr<ChannelBot>> make_bot(const config::ChannelBotConfig& config, const SecretLookup& secrets);

}  // namespace sb::channels::discord
