#pragma once
// Discord Gateway intents (REFERENCE-websockets §1.9): the `intents` config value of a
// gateway-mode bot, and which of the chosen bits need a switch in the Developer Portal.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::channels::discord {

inline constexpr std::int64_t kIntentGuilds = 1 << 0;
inline constexpr std::int64_t kIntentGuildMembers = 1 << 1;    // privileged
inline constexpr std::int64_t kIntentGuildPresences = 1 << 8;  // privileged
inline constexpr std::int64_t kIntentGuildMessages = 1 << 9;
inline constexpr std::int64_t kIntentDirectMessages = 1 << 12;
inline constexpr std::int64_t kIntentMessageContent = 1 << 15;  // privileged

// What a chat bot needs: guild and DM messages with their text (37377).
inline constexpr std::int64_t kDefaultIntents =
    kIntentGuilds | kIntentGuildMessages | kIntentDirectMessages | kIntentMessageContent;

// Every bit Discord documents for API v10; anything else closes the socket with 4013.
std::int64_t known_intents_mask();

// The config value: a decimal integer ("37377") or a comma list of names, matched
// case-insensitively and with or without underscores, so "GUILD_MESSAGES",
// "guild_messages" and "GuildMessages" (discord.js) are the same. The names are Discord's
// current ones plus the renamed GUILD_BANS and GUILD_EMOJIS_AND_STICKERS. An empty value
// (only spaces) means kDefaultIntents, like an absent key.
// Errors "channel.bad_value": an unknown name (named in the message), an empty list item,
// a negative number or bits Discord does not define.
Result<std::int64_t> parse_intents(std::string_view value);

// The canonical names of the privileged intents set in `intents` ("MESSAGE_CONTENT", ...),
// in bit order: what the operator must enable in the Developer Portal after a 4014.
std::vector<std::string_view> privileged_intents(std::int64_t intents);

// The 4014 alert text: "enable the Message Content intent ... in the Developer Portal
// (Bot > Privileged Gateway Intents) or remove it from 'intents'", naming every
// privileged intent that was requested.
std::string disallowed_intents_hint(std::int64_t intents);

}  // namespace sb::channels::discord
