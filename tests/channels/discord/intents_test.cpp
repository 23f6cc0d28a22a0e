// Discord Gateway intents: the config value (integer or names), the default, and the
// privileged intents named in the 4014 alert.
#include "channels/discord/intents.hpp"

#include <gtest/gtest.h>

namespace sb::channels::discord {
namespace {

TEST(DiscordIntents, DefaultIsGuildsGuildMessagesDirectMessagesMessageContent) {
  EXPECT_EQ(kDefaultIntents, 37377);
  auto empty = parse_intents("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, kDefaultIntents);
}

TEST(DiscordIntents, IntegerForm) {
  auto v = parse_intents("37377");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 37377);
  auto zero = parse_intents("0");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, 0);
  EXPECT_EQ(*parse_intents(" 512 "), 512);
}

TEST(DiscordIntents, NamesAreCaseInsensitiveWithOrWithoutUnderscores) {
  auto v = parse_intents("GUILDS, guild_messages,DirectMessages , MESSAGE_CONTENT");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, kDefaultIntents);
  EXPECT_EQ(*parse_intents("GUILD_MEMBERS"), kIntentGuildMembers);
  // Renamed intents keep their old names.
  EXPECT_EQ(*parse_intents("guild_bans"), *parse_intents("GUILD_MODERATION"));
  EXPECT_EQ(*parse_intents("GUILD_EMOJIS_AND_STICKERS"), *parse_intents("guild_expressions"));
  EXPECT_EQ(*parse_intents("direct_message_polls"), std::int64_t{1} << 25);
}

TEST(DiscordIntents, UnknownNameIsAnErrorNamingIt) {
  auto v = parse_intents("guilds,guild_mesages");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "channel.bad_value");
  EXPECT_NE(v.error().message.find("guild_mesages"), std::string::npos) << v.error().message;
}

TEST(DiscordIntents, MalformedValuesAreErrors) {
  for (std::string_view bad : {"guilds,,guild_messages", "guilds,", "-1", "1<<9", "99999999999999999999999",
                               "131072" /* bit 17 is unassigned */, "512abc"}) {
    auto v = parse_intents(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().code, "channel.bad_value") << bad;
  }
}

TEST(DiscordIntents, PrivilegedIntentsAreListedInBitOrder) {
  EXPECT_EQ(privileged_intents(kDefaultIntents), std::vector<std::string_view>{"MESSAGE_CONTENT"});
  EXPECT_EQ(privileged_intents(kIntentGuildMembers | kIntentGuildPresences | kIntentMessageContent),
            (std::vector<std::string_view>{"GUILD_MEMBERS", "GUILD_PRESENCES", "MESSAGE_CONTENT"}));
  EXPECT_TRUE(privileged_intents(kIntentGuilds | kIntentGuildMessages).empty());
}

TEST(DiscordIntents, DisallowedHintNamesThePortalSwitch) {
  const std::string one = disallowed_intents_hint(kDefaultIntents);
  EXPECT_NE(one.find("enable the Message Content intent in the Developer Portal"), std::string::npos) << one;
  const std::string two = disallowed_intents_hint(kIntentGuildMembers | kIntentMessageContent);
  EXPECT_NE(two.find("the Server Members and the Message Content intents"), std::string::npos) << two;
  EXPECT_NE(disallowed_intents_hint(kIntentGuilds).find("none of them is privileged"), std::string::npos);
}

}  // namespace
}  // namespace sb::channels::discord
