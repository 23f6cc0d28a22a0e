#include "channels/discord/intents.hpp"

#include <array>
#include <charconv>

#include "runtime/core/text.hpp"

namespace sb::channels::discord {
namespace {

struct IntentName {
  std::string_view name;  // Discord's spelling
  int bit;
  bool privileged;
  std::string_view portal_label;  // the switch's label in the Developer Portal, for privileged ones
};

// gateway.mdx, "List of Intents" (API v10). Bits 17-19, 22 and 23 are unassigned.
constexpr std::array<IntentName, 23> kIntents{{
    {"GUILDS", 0, false, ""},
    {"GUILD_MEMBERS", 1, true, "Server Members"},
    {"GUILD_MODERATION", 2, false, ""},
    {"GUILD_BANS", 2, false, ""},  // the old name of GUILD_MODERATION
    {"GUILD_EXPRESSIONS", 3, false, ""},
    {"GUILD_EMOJIS_AND_STICKERS", 3, false, ""},  // the old name of GUILD_EXPRESSIONS
    {"GUILD_INTEGRATIONS", 4, false, ""},
    {"GUILD_WEBHOOKS", 5, false, ""},
    {"GUILD_INVITES", 6, false, ""},
    {"GUILD_VOICE_STATES", 7, false, ""},
    {"GUILD_PRESENCES", 8, true, "Presence"},
    {"GUILD_MESSAGES", 9, false, ""},
    {"GUILD_MESSAGE_REACTIONS", 10, false, ""},
    {"GUILD_MESSAGE_TYPING", 11, false, ""},
    {"DIRECT_MESSAGES", 12, false, ""},
    {"DIRECT_MESSAGE_REACTIONS", 13, false, ""},
    {"DIRECT_MESSAGE_TYPING", 14, false, ""},
    {"MESSAGE_CONTENT", 15, true, "Message Content"},
    {"GUILD_SCHEDULED_EVENTS", 16, false, ""},
    {"AUTO_MODERATION_CONFIGURATION", 20, false, ""},
    {"AUTO_MODERATION_EXECUTION", 21, false, ""},
    {"GUILD_MESSAGE_POLLS", 24, false, ""},
    {"DIRECT_MESSAGE_POLLS", 25, false, ""},
}};

// Lower case without underscores: the form names are compared in.
std::string fold(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != '_') out += ascii_lower(c);
  return out;
}

const IntentName* find_intent(std::string_view name) {
  const std::string folded = fold(name);
  for (const auto& i : kIntents)
    if (fold(i.name) == folded) return &i;
  return nullptr;
}

}  // namespace

std::int64_t known_intents_mask() {
  std::int64_t mask = 0;
  for (const auto& i : kIntents) mask |= std::int64_t{1} << i.bit;
  return mask;
}

Result<std::int64_t> parse_intents(std::string_view value) {
  value = trim(value);
  if (value.empty()) return kDefaultIntents;
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || end != value.data() + value.size())
      return make_error("channel.bad_value", "intents: '" + std::string(value) + "' is not an integer");
    if ((n & ~known_intents_mask()) != 0)
      return make_error("channel.bad_value", "intents: " + std::to_string(n) + " sets bits Discord does not define");
    return n;
  }
  if (value.front() == '-') return make_error("channel.bad_value", "intents: must not be negative");
  std::int64_t intents = 0;
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view item = trim(value.substr(0, comma));
    if (item.empty()) return make_error("channel.bad_value", "intents: empty item in the list");
    const IntentName* intent = find_intent(item);
    if (!intent) return make_error("channel.bad_value", "intents: unknown intent '" + std::string(item) + "'");
    intents |= std::int64_t{1} << intent->bit;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return intents;
}

std::vector<std::string_view> privileged_intents(std::int64_t intents) {
  std::vector<std::string_view> out;
  for (const auto& i : kIntents)
    if (i.privileged && (intents & (std::int64_t{1} << i.bit)) != 0) out.push_back(i.name);
  return out;
}

std::string disallowed_intents_hint(std::int64_t intents) {
  std::string labels;
  int count = 0;
  for (const auto& i : kIntents) {
    if (!i.privileged || (intents & (std::int64_t{1} << i.bit)) == 0) continue;
    if (count++ > 0) labels += " and ";
    labels += "the ";
    labels += i.portal_label;
  }
  if (count == 0)
    return "Discord refused the intents (4014) although none of them is privileged: check the bot's "
           "application in the Developer Portal";
  return "enable " + labels + (count == 1 ? " intent" : " intents") +
         " in the Developer Portal (Bot > Privileged Gateway Intents) or remove " + (count == 1 ? "it" : "them") +
         " from 'intents'";
}

}  // namespace sb::channels::discord
