// Gateway MESSAGE_CREATE -> InboundMessage: guild vs DM, sender names, mentions of the
// bot, the senders and types that are ignored, timestamps, hostile input.
#include "channels/discord/gateway_message.hpp"

#include <string>

#include <gtest/gtest.h>

#include "tests/channels/print.hpp"

namespace sb::channels::discord {
namespace {

const GatewayIdentity kMcBot{"support", "100000000000000001", "gwbot"};
constexpr std::string_view kMcGuild = "290926798626357999";
constexpr std::string_view kMcChannel = "290926798999357250";
constexpr std::string_view kMcId = "334385199974967042";
constexpr std::string_view kMcAuthor = "53908099506183680";

// A guild message from a user; `extra` is spliced in as further members of `d` (no
// "type" or "mentions" by default: RapidJSON would find the first of two equal keys).
std::string mc_json(std::string_view content, std::string_view extra = "", bool guild = true) {
  std::string s = R"({"id":")" + std::string(kMcId) + R"(","channel_id":")" + std::string(kMcChannel) + "\"";
  if (guild) s += R"(,"guild_id":")" + std::string(kMcGuild) + "\"";
  s += R"(,"author":{"id":")" + std::string(kMcAuthor) + R"(","username":"mason","global_name":"Mason"},"content":)" +
       "\"" + std::string(content) + R"(","timestamp":"2017-07-11T17:27:07.299000+00:00")";
  if (!extra.empty()) s += "," + std::string(extra);
  return s + "}";
}

messaging::ParsedDelivery mc_ok(std::string_view json, const GatewayIdentity& bot = kMcBot) {
  auto r = parse_message_create(bot, json);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().code + ": " + r.error().message);
  return r.ok() ? *r : messaging::ParsedDelivery{};
}

std::string mc_ignored_reason(std::string_view json) {
  auto d = mc_ok(json);
  EXPECT_TRUE(d.messages.empty());
  if (d.ignored.size() != 1) return "<" + std::to_string(d.ignored.size()) + " ignored>";
  EXPECT_EQ(d.ignored[0].platform_id, kMcId);
  return d.ignored[0].reason;
}

TEST(DiscordMessageCreate, GuildMessage) {
  auto d = mc_ok(mc_json("Supa Hot"));
  ASSERT_EQ(d.messages.size(), 1u);
  const auto& m = d.messages[0];
  EXPECT_EQ(m.channel, messaging::ChannelKind::discord);
  EXPECT_EQ(m.bot, "support");
  EXPECT_EQ(m.chat_jid, "dc:" + std::string(kMcChannel));
  EXPECT_EQ(m.sender_id, kMcAuthor);
  EXPECT_EQ(m.sender_name, "Mason");
  EXPECT_EQ(m.text, "Supa Hot");
  EXPECT_EQ(m.reply_ref, "");
  EXPECT_EQ(m.message_ref, kMcId);
  EXPECT_EQ(m.platform_message_id, kMcId);
  EXPECT_EQ(m.timestamp_ms, 1499794027299);
  EXPECT_TRUE(m.is_group);
  EXPECT_FALSE(m.mentions_bot);
  EXPECT_TRUE(d.ignored.empty());
  EXPECT_EQ(d.ack_body, "");
}

TEST(DiscordMessageCreate, DirectMessageIsAddressedToTheBot) {
  auto d = mc_ok(mc_json("hi", "", /*guild=*/false));
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_FALSE(d.messages[0].is_group);
  EXPECT_TRUE(d.messages[0].mentions_bot);
}

TEST(DiscordMessageCreate, SenderNamePrefersNickThenGlobalNameThenUsername) {
  EXPECT_EQ(mc_ok(mc_json("x", R"("member":{"nick":"Boss"})")).messages.at(0).sender_name, "Boss");
  EXPECT_EQ(mc_ok(mc_json("x", R"("member":{"nick":null})")).messages.at(0).sender_name, "Mason");
  std::string no_global = mc_json("x");
  no_global.replace(no_global.find(R"("global_name":"Mason")"), 21, R"("global_name":null)");
  EXPECT_EQ(mc_ok(no_global).messages.at(0).sender_name, "mason");
}

TEST(DiscordMessageCreate, MentionInMentionsListOrContentIsRenderedAsAtName) {
  auto listed = mc_ok(mc_json("<@100000000000000001> status?", R"("mentions":[{"id":"100000000000000001"}])"));
  ASSERT_EQ(listed.messages.size(), 1u);
  EXPECT_TRUE(listed.messages[0].mentions_bot);
  EXPECT_EQ(listed.messages[0].text, "@gwbot status?");

  // The legacy nickname form, without a mentions list entry.
  auto nick = mc_ok(mc_json("hey <@!100000000000000001>, and <@200000000000000002>"));
  EXPECT_TRUE(nick.messages.at(0).mentions_bot);
  EXPECT_EQ(nick.messages.at(0).text, "hey @gwbot, and <@200000000000000002>");

  // Listed without the text form (Discord lists the replied-to author of a pinging reply).
  EXPECT_TRUE(
      mc_ok(mc_json("yes", R"("mentions":[{"id":"5"},{"id":"100000000000000001"}])")).messages.at(0).mentions_bot);
  // Other users only.
  EXPECT_FALSE(mc_ok(mc_json("<@200000000000000002>", R"("mentions":[{"id":"200000000000000002"}])"))
                   .messages.at(0)
                   .mentions_bot);
  // No username known yet: the configured bot name.
  GatewayIdentity nameless{"support", "100000000000000001", ""};
  EXPECT_EQ(mc_ok(mc_json("<@100000000000000001> hi"), nameless).messages.at(0).text, "@support hi");
}

TEST(DiscordMessageCreate, ReplyToTheBotAddressesIt) {
  auto d = mc_ok(mc_json("and then?", R"("type":19,"referenced_message":{"author":{"id":"100000000000000001"}})"));
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_TRUE(d.messages[0].mentions_bot);
  auto other = mc_ok(mc_json("and then?", R"("type":19,"referenced_message":{"author":{"id":"7"}})"));
  EXPECT_FALSE(other.messages.at(0).mentions_bot);
}

TEST(DiscordMessageCreate, IgnoredSendersAndTypes) {
  std::string bot_author = mc_json("beep");
  bot_author.replace(bot_author.find(R"("username")"), 0, R"("bot":true,)");
  EXPECT_EQ(mc_ignored_reason(bot_author), "bot_sender");
  EXPECT_EQ(mc_ignored_reason(mc_json("hook", R"("webhook_id":"223704706495545344")")), "webhook_sender");
  std::string own = mc_json("my own reply");
  own.replace(own.find(kMcAuthor), kMcAuthor.size(), kMcBot.user_id);
  own.replace(own.find(R"("username")"), 0, R"("bot":true,)");
  EXPECT_EQ(mc_ignored_reason(own), "own_message");
  EXPECT_EQ(mc_ignored_reason(mc_json("")), "empty_content");
  std::string no_content = mc_json("x");
  no_content.replace(no_content.find(R"("content":"x",)"), 14, "");
  EXPECT_EQ(mc_ignored_reason(no_content), "empty_content");
  EXPECT_EQ(mc_ignored_reason(mc_json("pinned", R"("type":6)")), "type:6");
  EXPECT_EQ(mc_ignored_reason(mc_json("joined", R"("type":7)")), "type:7");
  // "type" absent counts as a default message, like 0 and 19.
  EXPECT_EQ(mc_ok(mc_json("x")).messages.size(), 1u);
  EXPECT_EQ(mc_ok(mc_json("x", R"("type":0)")).messages.size(), 1u);
  EXPECT_EQ(mc_ok(mc_json("x", R"("type":19)")).messages.size(), 1u);
}

TEST(DiscordMessageCreate, TimestampFallsBackToTheSnowflake) {
  std::string bad = mc_json("x");
  bad.replace(bad.find("2017-07-11T17:27:07.299000+00:00"), 32, "yesterday");
  // 334385199974967042 >> 22 = 79723474431 ms after 2015-01-01.
  EXPECT_EQ(mc_ok(bad).messages.at(0).timestamp_ms, 1420070400000 + (334385199974967042LL >> 22));
}

TEST(DiscordMessageCreate, Iso8601Forms) {
  EXPECT_EQ(parse_iso8601_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601_ms("2017-07-11T17:27:07.299000+00:00"), 1499794027299);
  EXPECT_EQ(parse_iso8601_ms("2017-07-11T17:27:07.2+00:00"), 1499794027200);
  EXPECT_EQ(parse_iso8601_ms("2017-07-11T19:27:07+02:00"), 1499794027000);
  EXPECT_EQ(parse_iso8601_ms("2024-02-29T00:00:00-01:30"), 1709170200000);
  for (std::string_view bad :
       {"", "2017-07-11", "2017-07-11T17:27:07", "2017-13-01T00:00:00Z", "2017-07-11T17:27:07.Z",
        "2017-07-11T17:27:07Zjunk", "2017-07-11T24:00:00Z", "20x7-07-11T17:27:07Z", "2017-07-11T17:27:07+0200"})
    EXPECT_FALSE(parse_iso8601_ms(bad).has_value()) << bad;
}

TEST(DiscordMessageCreate, HostileInputGivesStableErrors) {
  struct Case {
    std::string json;
    std::string_view code;
  };
  std::string author_string = mc_json("x");
  author_string.replace(author_string.find(R"("author":{)"), 10, R"("author":"x","a":{)");
  const std::vector<Case> cases = {
      {"{", "channel.malformed_json"},
      {"[]", "channel.wrong_type"},
      {"\"str\"", "channel.wrong_type"},
      {R"({"channel_id":"1","author":{"id":"2"},"content":"x"})", "channel.missing_field"},
      {R"({"id":"1","author":{"id":"2"},"content":"x"})", "channel.missing_field"},
      {R"({"id":"1","channel_id":"1","content":"x"})", "channel.missing_field"},
      {R"({"id":"1","channel_id":"1","author":{},"content":"x"})", "channel.missing_field"},
      {R"({"id":1,"channel_id":"1","author":{"id":"2"},"content":"x"})", "channel.wrong_type"},
      {R"({"id":"abc","channel_id":"1","author":{"id":"2"},"content":"x"})", "channel.bad_value"},
      {R"({"id":"1","channel_id":"../x","author":{"id":"2"},"content":"x"})", "channel.bad_value"},
      {R"({"id":"1","channel_id":"1","guild_id":"-5","author":{"id":"2"},"content":"x"})", "channel.bad_value"},
      {R"({"id":"1","channel_id":"1","author":{"id":"99999999999999999999"},"content":"x"})", "channel.bad_value"},
      {R"({"id":"1","channel_id":"1","author":{"id":"2"},"content":5})", "channel.wrong_type"},
      {R"({"id":"1","channel_id":"1","author":{"id":"2","bot":"yes"},"content":"x"})", "channel.wrong_type"},
      {R"({"id":"1","channel_id":"1","author":{"id":"2"},"content":"x","mentions":{}})", "channel.wrong_type"},
      {R"({"id":"1","channel_id":"1","author":{"id":"2"},"content":"x","type":"0"})", "channel.wrong_type"},
      {R"({"id":"1","channel_id":"1","author":{"id":"2"},"content":"x","member":[]})", "channel.wrong_type"},
      {author_string, "channel.wrong_type"},
  };
  for (const Case& c : cases) {
    auto r = parse_message_create(kMcBot, c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.error().code, c.code) << c.json << " -> " << r.error().message;
  }
  // Junk inside the mentions list only loses a mention.
  auto junk = mc_ok(mc_json("x", R"("mentions":[1,"a",null,{"id":5},{}])"));
  EXPECT_EQ(junk.messages.size(), 1u);
}

TEST(DiscordMessageCreate, LoneSurrogatesAreSanitised) {
  // "\udc00" decodes to ED B0 80 (not UTF-8): three U+FFFD.
  auto d = mc_ok(mc_json(R"(a\udc00b)"));
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.messages[0].text,
            "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
}

}  // namespace
}  // namespace sb::channels::discord
