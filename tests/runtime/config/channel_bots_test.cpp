// `[channels.PLATFORM.NAME]` tables, `[webhooks]` and `[outbound]`.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/config/config.hpp"

namespace {

namespace fs = std::filesystem;
using sb::config::load;

class ChannelBotsConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sbchan-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  sb::Result<sb::config::Config> parse(const std::string& text) {
    auto path = (dir_ / "squadbox.toml").string();
    std::ofstream(path) << text;
    return load(path, {});
  }
  static void expect_error(const sb::Result<sb::config::Config>& c, const std::string& needle) {
    ASSERT_FALSE(c.ok()) << "accepted, expected an error with: " << needle;
    EXPECT_EQ(c.error().code, "config.invalid");
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
  }
  fs::path dir_;
};

TEST_F(ChannelBotsConfig, DefaultsHaveNoBotsAndAPublicListener) {
  auto c = load(std::nullopt, {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->channels.empty());
  EXPECT_EQ(c->webhooks.address, "0.0.0.0");
  EXPECT_EQ(c->webhooks.port, 8080);
  EXPECT_EQ(c->webhooks.body_limit_bytes, 1 << 20);
  EXPECT_EQ(c->outbound.max_attempts, 10);
}

TEST_F(ChannelBotsConfig, BotsOfEveryPlatformAreReadSortedById) {
  auto c = parse(R"(
[channels.telegram.poll]
mode = "polling"
bot_token = "tg-token"
poll_timeout_s = 20
[channels.slack.main]
signing_secret = "slack-signing"
bot_token = "slack-bot"
bot_user_id = "U0BOT"
api_base_url = "http://127.0.0.1:9/"
[channels.discord.d]
public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
application_id = "123"
[channels.whatsapp.w]
app_secret = "wa-app"
verify_token = "wa-verify"
enabled = false
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->channels.size(), 4u);
  EXPECT_EQ(c->channels[0].id(), "discord/d");
  EXPECT_EQ(c->channels[1].id(), "slack/main");
  EXPECT_EQ(c->channels[2].id(), "telegram/poll");
  EXPECT_EQ(c->channels[3].id(), "whatsapp/w");
  const auto& slack = c->channels[1];
  EXPECT_EQ(slack.secret("signing_secret"), "slack-signing");
  EXPECT_EQ(slack.secret("bot_token"), "slack-bot");
  EXPECT_EQ(slack.setting("bot_user_id"), "U0BOT");
  EXPECT_EQ(slack.api_base_url, "http://127.0.0.1:9/");
  EXPECT_EQ(slack.mode, sb::config::BotMode::webhook);
  EXPECT_EQ(c->channels[2].mode, sb::config::BotMode::polling);
  EXPECT_EQ(c->channels[2].setting("poll_timeout_s"), "20");
  EXPECT_FALSE(c->channels[3].enabled);
  // `config show` round-trips the bots.
  const std::string shown = sb::config::to_toml(*c);
  EXPECT_NE(shown.find("[channels.slack.main]"), std::string::npos) << shown;
  auto again = parse(shown);
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << shown;
  ASSERT_EQ(again->channels.size(), 4u);
  EXPECT_EQ(again->channels[2].setting("poll_timeout_s"), "20");
}

TEST_F(ChannelBotsConfig, HostileOrIncompleteBotsAreRefusedByName) {
  expect_error(parse("[channels.irc.x]\nfoo = \"1\"\n"), "channels.irc: unknown platform");
  expect_error(parse("[channels.slack.Main]\nsigning_secret = \"s\"\n"), "bot names match");
  expect_error(parse("[channels.slack.main]\nbot_token = \"b\"\n"), "channels.slack.main.signing_secret: missing");
  expect_error(parse("[channels.slack.main]\nsigning_secret = \"s\"\npublic_key = \"x\"\n"),
               "channels.slack.main.public_key: unknown key");
  expect_error(parse("[channels.slack.main]\nsigning_secret = \"\"\n"), "must name a vault entry");
  expect_error(parse("[channels.slack.main]\nsigning_secret = 5\n"), "expected string");
  expect_error(parse("[channels.slack.main]\nsigning_secret = \"s\"\nmode = \"polling\"\n"),
               "exists for telegram only");
  expect_error(parse("[channels.slack.main]\nsigning_secret = \"s\"\napi_base_url = \"ftp://x\"\n"),
               "is not an http(s) URL");
  expect_error(parse("[channels.discord.d]\napplication_id = \"1\"\n"), "channels.discord.d.public_key: missing");
  expect_error(parse("[channels.whatsapp.w]\napp_secret = \"a\"\n"), "channels.whatsapp.w.verify_token: missing");
  expect_error(parse("[channels.telegram.t]\nbot_token = \"t\"\n"), "channels.telegram.t.secret_token: missing");
  expect_error(parse("[channels.telegram.t]\nmode = \"polling\"\n"), "channels.telegram.t.bot_token: missing");
  expect_error(parse("[channels.telegram.t]\nmode = \"polling\"\nbot_token = \"t\"\npoll_timeout_s = 99\n"), "0..50");
  expect_error(parse("[channels.telegram.t]\nmode = \"push\"\nbot_token = \"t\"\n"), "not one of webhook, polling");
  expect_error(parse("[channels.telegram.t]\nmode = \"gateway\"\nbot_token = \"t\"\n"), "exists for discord only");
  expect_error(parse("[channels.discord.d]\nmode = \"socket\"\nbot_token = \"t\"\n"), "exists for slack only");
  expect_error(parse("[channels.discord.d]\nmode = \"gateway\"\n"), "channels.discord.d.bot_token: missing");
  expect_error(parse("[channels.slack.s]\nmode = \"socket\"\nbot_token = \"b\"\n"),
               "channels.slack.s.app_token: missing; Socket Mode");
  expect_error(parse("[channels.discord.d]\nmode = \"gateway\"\nbot_token = \"t\"\nintents = -1\n"),
               "channels.discord.d.intents: expected a bitmask");
  expect_error(parse("[channels.discord.d]\nmode = \"gateway\"\nbot_token = \"t\"\nca_file = \"\"\n"),
               "channels.discord.d.ca_file: expected a file path");
  expect_error(parse("[channels]\nslack = 1\n"), "expected tables [channels.slack.NAME]");
  expect_error(parse("[outbound]\nbackoff_base_ms = 10\nbackoff_max_ms = 5\n"), "outbound.backoff_max_ms");
}

TEST_F(ChannelBotsConfig, GatewayAndSocketModeBotsNeedNoWebhookKeysAndRoundTrip) {
  auto c = parse(R"(
[channels.discord.gw]
mode = "gateway"
bot_token = "discord-bot"
intents = 37377
ca_file = "/etc/squadbox/test-ca.pem"
[channels.discord.named]
mode = "gateway"
bot_token = "discord-bot"
intents = "guild_messages, direct_messages"
[channels.slack.sock]
mode = "socket"
app_token = "slack-app"
bot_token = "slack-bot"
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->channels.size(), 3u);
  EXPECT_EQ(c->channels[0].mode, sb::config::BotMode::gateway);
  EXPECT_EQ(c->channels[0].setting("intents"), "37377");
  EXPECT_EQ(c->channels[0].ca_file, "/etc/squadbox/test-ca.pem");
  EXPECT_EQ(c->channels[1].setting("intents"), "guild_messages, direct_messages");
  EXPECT_EQ(c->channels[2].mode, sb::config::BotMode::socket);
  EXPECT_EQ(c->channels[2].secret("app_token"), "slack-app");
  const std::string shown = sb::config::to_toml(*c);
  auto again = parse(shown);
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << shown;
  ASSERT_EQ(again->channels.size(), 3u);
  EXPECT_EQ(again->channels[0].mode, sb::config::BotMode::gateway);
  EXPECT_EQ(again->channels[0].ca_file, "/etc/squadbox/test-ca.pem");
  EXPECT_EQ(again->channels[0].setting("intents"), "37377");
  EXPECT_EQ(again->channels[2].mode, sb::config::BotMode::socket);
}

TEST_F(ChannelBotsConfig, EnvironmentOverridesListenerKeys) {
  auto c = load(std::nullopt, {{"SQUADBOX_WEBHOOKS_PORT", "0"}, {"SQUADBOX_OUTBOUND_MAX_ATTEMPTS", "3"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->webhooks.port, 0);
  EXPECT_EQ(c->outbound.max_attempts, 3);
}

}  // namespace
