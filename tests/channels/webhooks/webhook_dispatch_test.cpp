// decide(): the pure part of the webhook listener, without sockets.
#include "channels/webhooks/webhook_dispatch.hpp"

#include <gtest/gtest.h>

#include "tests/channels/webhooks/ingress_fixture.hpp"

namespace sb::test::ingress {
namespace {

using channels::webhooks::BotTable;
using channels::webhooks::decide;
using Kind = channels::webhooks::WebhookDecision::Kind;

http::Request request(std::string method, std::string path, http::Headers headers = {}, std::string body = "",
                      std::string query = "") {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.target = r.path + (query.empty() ? "" : "?" + query);
  r.query = std::move(query);
  r.headers = std::move(headers);
  r.body = std::move(body);
  r.remote_address = "192.0.2.7";
  return r;
}

class Dispatch : public ::testing::Test {
 protected:
  BotTable table{make_test_bots()};
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

TEST_F(Dispatch, PollingBotsHaveNoRoute) {
  EXPECT_EQ(table.size(), 4u);
}

TEST_F(Dispatch, PathsThatNameNoConfiguredBotAre404WithoutEchoingTheName) {
  struct Case {
    const char* path;
    const char* platform;
    const char* reason;
  };
  for (const Case c :
       {Case{"/webhooks/slack/nobody", "slack", "unknown_bot"},
        Case{"/webhooks/irc/main", "unknown", "unknown_platform"}, Case{"/webhooks/slack", "unknown", "not_found"},
        Case{"/webhooks/slack/", "unknown", "not_found"}, Case{"/webhooks//main", "unknown", "not_found"},
        Case{"/webhooks/slack/main/extra", "unknown", "not_found"}, Case{"/hooks/slack/main", "unknown", "not_found"},
        Case{"/webhooks/telegram/tgpoll", "telegram", "unknown_bot"}}) {
    auto d = decide(table, request("POST", c.path), now);
    EXPECT_EQ(d.kind, Kind::respond) << c.path;
    EXPECT_EQ(d.response.status, 404) << c.path;
    EXPECT_EQ(d.result, "not_found");
    EXPECT_EQ(d.platform, c.platform) << c.path;
    EXPECT_EQ(d.bot, "") << "label set must not grow with probes";
    EXPECT_EQ(d.reason, c.reason) << c.path;
    EXPECT_EQ(d.response.body.find("nobody"), std::string::npos);
  }
}

TEST_F(Dispatch, VerificationFailuresAreRejectsWithTheVerifiersStatus) {
  const std::string body = slack_event("Ev1");
  auto d = decide(table, request("POST", "/webhooks/slack/main", {{"Content-Type", "application/json"}}, body), now);
  EXPECT_EQ(d.kind, Kind::reject);
  EXPECT_EQ(d.response.status, 401);
  EXPECT_EQ(d.reason, "missing_timestamp");
  EXPECT_EQ(d.result, "rejected");
  EXPECT_EQ(d.platform, "slack");
  EXPECT_EQ(d.bot, "main");

  auto wrong = decide(
      table, request("GET", "/webhooks/whatsapp/shop", {}, "", "hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"),
      now);
  EXPECT_EQ(wrong.kind, Kind::reject);
  EXPECT_EQ(wrong.response.status, 403);
  EXPECT_EQ(wrong.reason, "bad_verify_token");
}

TEST_F(Dispatch, WrongMethodIs405WithAllowNotAReject) {
  auto d = decide(table, request("DELETE", "/webhooks/telegram/tgbot"), now);
  EXPECT_EQ(d.kind, Kind::respond);
  EXPECT_EQ(d.response.status, 405);
  EXPECT_EQ(d.response.header("Allow").value_or(""), "POST");
}

TEST_F(Dispatch, HandshakesAreAnsweredDirectly) {
  const std::string ping = R"({"id":"1","type":1})";
  auto d = decide(table, request("POST", "/webhooks/discord/helper", discord_headers(ping), ping), now);
  EXPECT_EQ(d.kind, Kind::respond);
  EXPECT_EQ(d.result, "handshake");
  EXPECT_EQ(d.response.status, 200);
  EXPECT_EQ(d.response.body, R"({"type":1})");
  EXPECT_EQ(d.response.content_type, "application/json");
}

TEST_F(Dispatch, ParseErrorsAre400NamingTheProblem) {
  const std::string body = R"({"update_id":1,"message":{"message_id":"x"}})";
  auto d = decide(table, request("POST", "/webhooks/telegram/tgbot", telegram_headers(), body), now);
  EXPECT_EQ(d.kind, Kind::respond);
  EXPECT_EQ(d.response.status, 400);
  EXPECT_EQ(d.result, "malformed");
  EXPECT_EQ(d.reason.rfind("channel.", 0), 0u) << d.reason;
  EXPECT_NE(d.response.body.find("message_id"), std::string::npos) << d.response.body;
}

TEST_F(Dispatch, MessagesAreDeliveredWithTheAckBody) {
  const std::string body = discord_command("786008729715212338");
  auto d = decide(table, request("POST", "/webhooks/discord/helper", discord_headers(body), body), now);
  ASSERT_EQ(d.kind, Kind::deliver) << d.response.body;
  EXPECT_EQ(d.ack_body, R"({"type":5})");
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.messages[0].platform_message_id, "786008729715212338");
  EXPECT_EQ(d.messages[0].bot, "helper");
  auto ack = channels::webhooks::ack_response(d.ack_body);
  EXPECT_EQ(ack.status, 200);
  EXPECT_EQ(ack.content_type, "application/json");
}

TEST_F(Dispatch, TheClockDecidesTheSlackWindow) {
  const std::string body = slack_event("Ev2");
  auto headers = slack_headers(body);
  EXPECT_EQ(decide(table, request("POST", "/webhooks/slack/main", headers, body), now).kind, Kind::deliver);
  auto later = decide(table, request("POST", "/webhooks/slack/main", headers, body), now + std::chrono::seconds(301));
  EXPECT_EQ(later.kind, Kind::reject);
  EXPECT_EQ(later.reason, "stale_timestamp");
}

}  // namespace
}  // namespace sb::test::ingress
