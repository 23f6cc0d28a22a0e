#pragma once
// Builds the configured bots: one ChannelBot per enabled `[channels.PLATFORM.NAME]`,
// credentials from the vault (through a SecretLookup).
#include <memory>
#include <vector>

#include "channels/bot/channel_bot.hpp"

namespace sb::channels {

// Errors: "channel.secret" (a named vault entry is missing; the message names the bot,
// the key and the entry), "channel.config" (a credential the platform refuses, e.g. a
// Discord public key that is not a valid Ed25519 key).
Result<std::unique_ptr<ChannelBot>> make_bot(const config::ChannelBotConfig& config, const SecretLookup& secrets);

// Every enabled bot of the configuration, sorted by id; the first error stops.
Result<std::vector<std::shared_ptr<const ChannelBot>>> make_bots(const config::Config& config,
                                                                 const SecretLookup& secrets);

}  // namespace sb::channels
