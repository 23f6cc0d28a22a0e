// The ChannelBot interface over each platform: built from configuration and vault
// entries, and dispatching to the right protocol code.
#include "channels/factory/bot_factory.hpp"

#include <map>

#include <gtest/gtest.h>

#include "channels/bot/channel_bot.hpp"
#include "channels/slack/verify.hpp"

namespace {

using namespace sb::channels;
using sb::config::ChannelBotConfig;

// An in-memory stand-in for the vault's lookup.
sb::SecretLookup lookup_from(std::map<std::string, std::string> entries) {
  return [entries](const std::string& name) -> sb::Result<sb::Secret> {
    auto it = entries.find(name);
    if (it == entries.end()) return sb::make_error("vault.not_found", "no entry " + name);
    return sb::Secret(it->second);
  };
}

ChannelBotConfig bot_config(std::string platform, std::string name, std::map<std::string, std::string> secrets,
                            std::map<std::string, std::string> settings = {}) {
  ChannelBotConfig c;
  c.platform = std::move(platform);
  c.name = std::move(name);
  c.secrets = std::move(secrets);
  c.settings = std::move(settings);
  return c;
}

constexpr const char* kDiscordKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

TEST(ChannelBot, SlackBotVerifiesAndParsesEventsAndSlashCommands) {
  auto bot = make_bot(
      bot_config("slack", "main", {{"signing_secret", "slk"}, {"bot_token", "tok"}}, {{"bot_user_id", "U0BOT"}}),
      lookup_from({{"slk", "8f742231b10e8888abcd99yyyzzz85a5"}, {"tok", "xoxb-1-2"}}));
  ASSERT_TRUE(bot.ok()) << bot.error().message;
  EXPECT_EQ((*bot)->id(), "slack/main");
  EXPECT_EQ((*bot)->base_url(), "https://slack.com");
  EXPECT_TRUE((*bot)->can_send());
  EXPECT_FALSE((*bot)->polling());

  // REFERENCE §3's vector, through the interface.
  const std::string body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name="
      "foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%"
      "2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015."
      "47445629121.803a0bc887a14d10d2c447fce8b6703c";
  std::vector<Header> headers{
      {"X-Slack-Request-Timestamp", "1531420618"},
      {"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
      {"Content-Type", "application/x-www-form-urlencoded"}};
  WebhookRequest request{"POST", headers, "", body};
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1531420618 + 100));
  EXPECT_TRUE((*bot)->verify(request, at).accepted());
  EXPECT_EQ((*bot)->verify(request, at + std::chrono::seconds(400)).reason, "stale_timestamp");
  auto parsed = (*bot)->parse(request, 1000);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  // Read as a form (a JSON parse would fail): the vector's command has no text.
  EXPECT_TRUE(parsed->messages.empty());
  ASSERT_EQ(parsed->ignored.size(), 1u);
  EXPECT_EQ(parsed->ignored[0].reason, "empty_text");
  const std::string with_text = "command=%2Fask&channel_id=C9&user_id=U2&trigger_id=T.1&text=hello+there";
  auto command = (*bot)->parse(WebhookRequest{"POST", headers, "", with_text}, 1000);
  ASSERT_TRUE(command.ok()) << command.error().message;
  ASSERT_EQ(command->messages.size(), 1u);
  EXPECT_EQ(command->messages[0].chat_jid, "slack:C9");
  EXPECT_EQ(command->messages[0].text, "hello there");
  EXPECT_EQ(command->messages[0].bot, "main");

  const std::string event =
      R"({"type":"event_callback","event_id":"Ev1","event_time":1531420618,"event":{"type":"message",)"
      R"("channel":"C1","user":"U1","text":"hi","ts":"1531420618.000200","channel_type":"channel"}})";
  std::vector<Header> json_headers{{"Content-Type", "application/json"}};
  auto ev = (*bot)->parse(WebhookRequest{"POST", json_headers, "", event}, 0);
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  ASSERT_EQ(ev->messages.size(), 1u);
  EXPECT_EQ(ev->messages[0].platform_message_id, "Ev1");

  auto out = (*bot)->build_message("C1", "hello", "1531420618.000200");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->path, "/api/chat.postMessage");
  EXPECT_NE(out->body.find("\"thread_ts\":\"1531420618.000200\""), std::string::npos) << out->body;
  EXPECT_EQ((*bot)->split_rule().max_units, 40000u);
}

TEST(ChannelBot, MissingVaultEntryNamesBotKeyAndEntry) {
  auto bot = make_bot(bot_config("slack", "main", {{"signing_secret", "absent"}}), lookup_from({}));
  ASSERT_FALSE(bot.ok());
  EXPECT_EQ(bot.error().code, "channel.secret");
  EXPECT_NE(bot.error().message.find("channels.slack.main.signing_secret"), std::string::npos) << bot.error().message;
  EXPECT_NE(bot.error().message.find("'absent'"), std::string::npos) << bot.error().message;
}

TEST(ChannelBot, BotWithoutOutboundCredentialCannotSend) {
  auto bot = make_bot(bot_config("slack", "ro", {{"signing_secret", "s"}}), lookup_from({{"s", "secret"}}));
  ASSERT_TRUE(bot.ok());
  EXPECT_FALSE((*bot)->can_send());
  auto out = (*bot)->build_message("C1", "hello", "");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "channel.no_credential");
}

TEST(ChannelBot, DiscordRepliesToAnInteractionAsItsFollowUpElseToTheChannel) {
  auto cfg = bot_config("discord", "d", {{"bot_token", "dt"}}, {{"public_key", kDiscordKey}, {"application_id", "42"}});
  cfg.api_base_url = "http://127.0.0.1:1234/";
  auto bot = make_bot(cfg, lookup_from({{"dt", "bot-token"}}));
  ASSERT_TRUE(bot.ok()) << bot.error().message;
  EXPECT_EQ((*bot)->base_url(), "http://127.0.0.1:1234");
  auto followup = (*bot)->build_message("1234567890123456", "answer", "interaction-token");
  ASSERT_TRUE(followup.ok()) << followup.error().message;
  EXPECT_EQ(followup->path, "/api/v10/webhooks/42/interaction-token");
  EXPECT_EQ(followup->log_path.find("interaction-token"), std::string::npos);
  auto channel = (*bot)->build_message("1234567890123456", "answer", "");
  ASSERT_TRUE(channel.ok()) << channel.error().message;
  EXPECT_EQ(channel->path, "/api/v10/channels/1234567890123456/messages");

  auto bad_key = make_bot(bot_config("discord", "d", {}, {{"public_key", std::string(64, 'z')}}), lookup_from({}));
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().code, "channel.config");
}

TEST(ChannelBot, WhatsAppNeedsTokenAndNumberToSend) {
  auto bot = make_bot(bot_config("whatsapp", "w", {{"app_secret", "a"}, {"verify_token", "v"}, {"access_token", "t"}},
                                 {{"phone_number_id", "1055"}}),
                      lookup_from({{"a", "It's a Secret to Everybody"}, {"v", "verify"}, {"t", "EAAB"}}));
  ASSERT_TRUE(bot.ok()) << bot.error().message;
  EXPECT_TRUE((*bot)->can_send());
  std::vector<Header> headers{
      {"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}};
  EXPECT_TRUE((*bot)->verify(WebhookRequest{"POST", headers, "", "Hello, World!"}, {}).accepted());
  auto out = (*bot)->build_message("4915112345678", "hi", "");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->path, "/v21.0/1055/messages");
}

TEST(ChannelBot, TelegramPollingBotRefusesWebhooksAndBuildsPolls) {
  auto cfg = bot_config("telegram", "p", {{"bot_token", "tt"}});
  cfg.mode = sb::config::BotMode::polling;
  auto bot = make_bot(cfg, lookup_from({{"tt", "123456:ABC-def_ghi"}}));
  ASSERT_TRUE(bot.ok()) << bot.error().message;
  EXPECT_TRUE((*bot)->polling());
  auto verdict = (*bot)->verify(WebhookRequest{"POST", {}, "", "{}"}, {});
  EXPECT_FALSE(verdict.accepted());
  EXPECT_EQ(verdict.status, 404);
  auto poll = (*bot)->build_poll(7, 25);
  ASSERT_TRUE(poll.ok()) << poll.error().message;
  EXPECT_EQ(poll->path, "/bot123456:ABC-def_ghi/getUpdates");
  EXPECT_NE(poll->body.find("\"offset\":7"), std::string::npos) << poll->body;
  auto batch = (*bot)->parse_poll(
      R"({"ok":true,"result":[{"update_id":9,"message":{"message_id":1,"from":{"id":5,"is_bot":false},)"
      R"("chat":{"id":5,"type":"private"},"date":1700000000,"text":"hi"}}]})");
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  EXPECT_EQ(batch->next_offset, 10);
  ASSERT_EQ(batch->delivery.messages.size(), 1u);
  EXPECT_EQ(batch->delivery.messages[0].chat_jid, "tg:5");

  auto bad = make_bot(cfg, lookup_from({{"tt", "not-a-token"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "channel.config");
  // Webhook bots do not poll.
  auto hook = make_bot(bot_config("telegram", "h", {{"secret_token", "s"}, {"bot_token", "tt"}}),
                       lookup_from({{"s", "secret_1"}, {"tt", "123456:ABC"}}));
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ((*hook)->build_poll(0, 1).error().code, "channel.not_polling");
}

TEST(ChannelBot, GatewayAndSocketModeBotsNeedNoWebhookKeyAndRefuseWebhooksWithout) {
  auto gw = bot_config("discord", "gw", {{"bot_token", "dt"}});
  gw.mode = sb::config::BotMode::gateway;
  gw.ca_file = "/tmp/test-ca.pem";
  auto d = make_bot(gw, lookup_from({{"dt", "discord-token"}}));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->mode(), sb::config::BotMode::gateway);
  EXPECT_EQ((*d)->ca_file(), "/tmp/test-ca.pem");
  EXPECT_TRUE((*d)->can_send());
  auto verdict = (*d)->verify(WebhookRequest{"POST", {}, "", "{}"}, {});
  EXPECT_FALSE(verdict.accepted());
  EXPECT_EQ(verdict.status, 404);
  ASSERT_TRUE((*d)->build_message("1000000000000000", "hi", "").ok());
  auto credential = (*d)->connection_credential();
  ASSERT_TRUE(credential.ok());
  EXPECT_EQ(credential->reveal(), "discord-token");

  auto sock = bot_config("slack", "s", {{"app_token", "at"}, {"bot_token", "bt"}});
  sock.mode = sb::config::BotMode::socket;
  auto s = make_bot(sock, lookup_from({{"at", "xapp-1"}, {"bt", "xoxb-1"}}));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->mode(), sb::config::BotMode::socket);
  EXPECT_EQ((*s)->verify(WebhookRequest{"POST", {}, "", "{}"}, {}).status, 404);
  EXPECT_TRUE((*s)->can_send());
  auto app = (*s)->connection_credential();
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->reveal(), "xapp-1");
  // A webhook bot does not connect out.
  auto hook = make_bot(bot_config("slack", "h", {{"signing_secret", "ss"}}), lookup_from({{"ss", "sign"}}));
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ((*hook)->connection_credential().error().code, "channel.no_connection");
}

TEST(ChannelBot, MakeBotsSkipsDisabledBotsAndStopsAtTheFirstError) {
  sb::config::Config config;
  auto a = bot_config("slack", "a", {{"signing_secret", "s"}});
  auto b = bot_config("slack", "b", {{"signing_secret", "s"}});
  b.enabled = false;
  config.channels = {a, b};
  auto bots = make_bots(config, lookup_from({{"s", "secret"}}));
  ASSERT_TRUE(bots.ok()) << bots.error().message;
  ASSERT_EQ(bots->size(), 1u);
  EXPECT_EQ((*bots)[0]->id(), "slack/a");
  config.channels.push_back(bot_config("slack", "c", {{"signing_secret", "missing"}}));
  EXPECT_FALSE(make_bots(config, lookup_from({{"s", "secret"}})).ok());
}

}  // namespace
