// The webhook listener over real HTTP on loopback, with the real storage writer and
// ingest on a temp SQLite file: golden deliveries per platform are durable before
// their 2xx, redeliveries reach the router once, handshakes, and every hostile case.
#include <gtest/gtest.h>

#include "tests/channels/webhooks/ingress_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/raw_socket.hpp"

namespace sb::test::ingress {
namespace {

class Listener : public IngressFixture {
 protected:
  void SetUp() override {
    IngressFixture::SetUp();
    start_listener();
  }

  // Waits until the router has seen `marker` (deliveries are routed in order, so
  // everything sent before it has been routed too).
  bool routed_eventually(const std::string& marker) {
    return wait_until([&] { return routed->count(marker) > 0; }, 10s);
  }

  size_t audits_with(const std::string& reason) {
    size_t n = 0;
    for (const auto& r : audited->snapshot())
      n += r.event == "channel.webhook_rejected" && r.detail.find("\"reason\":\"" + reason + "\"") != std::string::npos;
    return n;
  }

  // Delivers once, checks the durable ack, delivers again (a platform retry), and
  // checks the router saw the message exactly once.
  void deliver_twice(const std::string& path, const std::function<http::Headers(const std::string&)>& sign,
                     const std::string& body, const std::string& platform_id, const std::string& expected_ack,
                     const std::function<std::string(const std::string&)>& marker_body, const std::string& marker_id) {
    auto first = post(path, sign(body), body);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->status, 200) << first->body;
    EXPECT_EQ(first->body, expected_ack);
    // Committed before the response: a separate reader sees the row right away.
    EXPECT_EQ(stored(platform_id), 1);

    auto retry = post(path, sign(body), body);
    ASSERT_TRUE(retry.ok());
    EXPECT_EQ(retry->status, 200);
    EXPECT_EQ(stored(platform_id), 1);

    const std::string marker = marker_body(marker_id);
    auto after = post(path, sign(marker), marker);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->status, 200);
    ASSERT_TRUE(routed_eventually(marker_id));
    EXPECT_EQ(routed->count(platform_id), 1u);
  }
};

TEST_F(Listener, SlackEventIsStoredBeforeTheAckAndRoutedOnce) {
  deliver_twice(
      "/webhooks/slack/main", [](const std::string& b) { return slack_headers(b); }, slack_event("Ev0001"), "Ev0001",
      "", [](const std::string& id) { return slack_event(id); }, "Ev0002");
  auto seen = routed->snapshot();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].channel, "slack");
  EXPECT_EQ(seen[0].bot, "main");
  EXPECT_EQ(seen[0].chat_jid, "slack:C123ABC456");
  EXPECT_EQ(seen[0].sender_id, "U123ABC456");
  EXPECT_EQ(seen[0].text, "hello squad");
  EXPECT_GT(seen[0].id, 0);
  EXPECT_EQ(listener->counts("slack/main").received, 3u);
}

TEST_F(Listener, DiscordSlashCommandGetsTheDeferredAckOnceStored) {
  deliver_twice(
      "/webhooks/discord/helper", [](const std::string& b) { return discord_headers(b); },
      discord_command("786008729715212338"), "786008729715212338", R"({"type":5})",
      [](const std::string& id) { return discord_command(id); }, "786008729715212339");
  auto seen = routed->snapshot();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].chat_jid, "dc:772908445358620702");
  EXPECT_EQ(seen[0].reply_ref, "aW50ZXJhY3Rpb246Nzg2MDA4.x_y-z");
}

TEST_F(Listener, WhatsAppMessageIsStoredAndDeduplicated) {
  deliver_twice(
      "/webhooks/whatsapp/shop", [](const std::string& b) { return whatsapp_headers(b); },
      whatsapp_delivery("wamid.ONE"), "wamid.ONE", "", [](const std::string& id) { return whatsapp_delivery(id); },
      "wamid.TWO");
  EXPECT_EQ(routed->snapshot()[0].chat_jid, "wa:16505551234");
}

TEST_F(Listener, TelegramUpdateIsStoredAndDeduplicated) {
  deliver_twice(
      "/webhooks/telegram/tgbot", [](const std::string&) { return telegram_headers(); }, telegram_update(981276354),
      "-1001234567890:4412", "",
      [](const std::string& key) { return telegram_update(981276355, std::stoll(key.substr(key.find(':') + 1))); },
      "-1001234567890:4413");
  auto seen = routed->snapshot()[0];
  EXPECT_EQ(seen.chat_jid, "tg:-1001234567890");
  EXPECT_TRUE(seen.is_group);
  EXPECT_TRUE(seen.mentions_bot);
}

TEST_F(Listener, Handshakes) {
  // Slack url_verification and ssl_check (both signed).
  const std::string challenge =
      R"({"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"})";
  auto uv = post("/webhooks/slack/main", slack_headers(challenge), challenge);
  ASSERT_TRUE(uv.ok());
  EXPECT_EQ(uv->status, 200);
  EXPECT_EQ(uv->body, R"({"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})");
  const std::string ssl = "ssl_check=1&token=x";
  auto check = post("/webhooks/slack/main", slack_headers(ssl, unix_now(), "application/x-www-form-urlencoded"), ssl);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->status, 200);

  // Discord PING -> PONG.
  const std::string ping = R"({"application_id":"775799577604522054","id":"456","type":1,"version":1})";
  auto pong = post("/webhooks/discord/helper", discord_headers(ping), ping);
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->status, 200);
  EXPECT_EQ(pong->body, R"({"type":1})");
  EXPECT_NE(pong->content_type.find("application/json"), std::string::npos);

  // WhatsApp hub challenge: right token echoes, wrong token 403 (and is audited).
  auto hub = get(std::string("/webhooks/whatsapp/shop?hub.mode=subscribe&hub.verify_token=") + kWhatsAppVerifyToken +
                 "&hub.challenge=1158201444");
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->status, 200);
  EXPECT_EQ(hub->body, "1158201444");
  auto wrong = get("/webhooks/whatsapp/shop?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 403);
  EXPECT_EQ(audits_with("bad_verify_token"), 1u);

  // Telegram: the secret token is the whole authentication.
  const std::string update = telegram_update(1);
  auto bad = post("/webhooks/telegram/tgbot", telegram_headers("tg_Secret-token_43"), update);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 401);
  auto good = post("/webhooks/telegram/tgbot", telegram_headers(), update);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(stored("-1001234567890:4412"), 1);
}

TEST_F(Listener, BadOrMissingSignaturesAre401AndAudited) {
  const std::string body = slack_event("EvBad1");
  auto tampered = slack_headers(body);
  auto altered = post("/webhooks/slack/main", tampered, body + " ");
  ASSERT_TRUE(altered.ok());
  EXPECT_EQ(altered->status, 401);
  auto missing = post("/webhooks/slack/main", {{"Content-Type", "application/json"}}, body);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 401);

  const std::string cmd = discord_command("900000000000000001");
  auto dsig = discord_headers(cmd);
  auto dbad = post("/webhooks/discord/helper", dsig, discord_command("900000000000000002"));
  ASSERT_TRUE(dbad.ok());
  EXPECT_EQ(dbad->status, 401);
  const std::string wa = whatsapp_delivery("wamid.BAD");
  auto wbad = post("/webhooks/whatsapp/shop", whatsapp_headers(wa + "x"), wa);
  ASSERT_TRUE(wbad.ok());
  EXPECT_EQ(wbad->status, 401);
  auto tmissing = post("/webhooks/telegram/tgbot", {{"Content-Type", "application/json"}}, telegram_update(5));
  ASSERT_TRUE(tmissing.ok());
  EXPECT_EQ(tmissing->status, 401);

  EXPECT_EQ(stored("EvBad1"), 0);
  EXPECT_EQ(stored("wamid.BAD"), 0);
  EXPECT_EQ(routed->snapshot().size(), 0u);
  EXPECT_EQ(audits_with("bad_signature"), 3u);
  EXPECT_EQ(audits_with("missing_timestamp"), 1u);
  EXPECT_EQ(audits_with("missing_token"), 1u);
  // The audit record identifies the attempt, never carries the payload.
  for (const auto& r : audited->snapshot()) {
    EXPECT_EQ(r.actor, "webhook");
    EXPECT_NE(r.detail.find("\"remote\":\"127.0.0.1\""), std::string::npos) << r.detail;
    EXPECT_EQ(r.detail.find("hello squad"), std::string::npos);
    EXPECT_EQ(r.detail.find(kTelegramSecret), std::string::npos);
  }
  EXPECT_EQ(listener->counts("slack/main").rejected, 2u);
  EXPECT_EQ(listener->counts("telegram/tgbot").rejected, 1u);
}

TEST_F(Listener, StaleAndFutureTimestampsAre401) {
  const std::string body = slack_event("EvTime1");
  auto stale = post("/webhooks/slack/main", slack_headers(body, unix_now(-301)), body);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->status, 401);
  auto future = post("/webhooks/slack/main", slack_headers(body, unix_now(+301)), body);
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(future->status, 401);
  auto inside = post("/webhooks/slack/main", slack_headers(body, unix_now(-250)), body);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(inside->status, 200);
  EXPECT_EQ(audits_with("stale_timestamp"), 1u);
  EXPECT_EQ(audits_with("future_timestamp"), 1u);
}

TEST_F(Listener, MalformedJsonIs400NamingTheProblem) {
  for (const std::string& body : {std::string(R"({"type":"event_callback","event_id":)"), std::string("not json")}) {
    auto r = post("/webhooks/slack/main", slack_headers(body), body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_NE(r->body.find("channel.malformed_json"), std::string::npos) << r->body;
  }
  const std::string wrong_type = R"({"update_id":"x"})";
  auto t = post("/webhooks/telegram/tgbot", telegram_headers(), wrong_type);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->status, 400);
  EXPECT_NE(t->body.find("update_id"), std::string::npos) << t->body;
  EXPECT_EQ(audited->snapshot().size(), 0u) << "a malformed but signed body is not an attack";
}

TEST_F(Listener, OversizedBodyIs413) {
  const std::string body(1024 * 1024 + 1, 'a');
  auto r = post("/webhooks/slack/main", slack_headers(body), body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 413);
}

TEST_F(Listener, WrongMethodIs405WithAllow) {
  auto r = get("/webhooks/slack/main");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("Allow").value_or(""), "POST");
  http::ClientOptions o;
  o.timeout = 10s;
  auto put = http::request("PUT", base_url + "/webhooks/whatsapp/shop", {}, "{}", o);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->status, 405);
  EXPECT_EQ(put->header("Allow").value_or(""), "GET, POST");
}

TEST_F(Listener, UnknownBotsPlatformsAndPathsAre404) {
  const std::string body = slack_event("Ev404");
  for (const char* path : {"/webhooks/slack/other", "/webhooks/irc/main", "/webhooks/slack", "/webhooks/slack/main/x",
                           "/", "/webhooks/telegram/tgpoll"}) {
    auto r = post(path, slack_headers(body), body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("other"), std::string::npos) << "the name is not echoed";
  }
  EXPECT_EQ(stored("Ev404"), 0);
}

TEST_F(Listener, IgnoredItemsAreAckedAtOnceAndNotStored) {
  const std::string bot_message =
      R"({"type":"event_callback","event_id":"EvIgn1","event_time":1,"team_id":"T1","api_app_id":"A1",)"
      R"("event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"1.2"}})";
  auto r = post("/webhooks/slack/main", slack_headers(bot_message), bot_message);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(stored("EvIgn1"), 0);
}

TEST_F(Listener, StalledClientsAreCutOff) {
  // Half a request, then silence: answered 408 (or closed) once request_timeout passes.
  RawSocket half(listener->port());
  half.send("POST /webhooks/slack/main HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"type\":");
  bool closed = false;
  const std::string answer = half.read_all(10s, &closed);
  EXPECT_TRUE(closed) << "connection still open";
  EXPECT_NE(answer.find("408"), std::string::npos) << answer;

  // Connected but never spoke: closed silently.
  RawSocket silent(listener->port());
  bool silent_closed = false;
  silent.read_all(10s, &silent_closed);
  EXPECT_TRUE(silent_closed);
}

TEST_F(Listener, WithoutTheIngestTheAnswerIs503AndNothingIsAcked) {
  system.registry().erase(caf::atom("ingest"));
  const std::string body = slack_event("Ev503");
  auto r = post("/webhooks/slack/main", slack_headers(body), body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  // The storage writer gone: the ingest answers an error, the platform must retry.
  system.registry().put(caf::atom("ingest"), caf::actor_cast<caf::strong_actor_ptr>(ingest));
  system.registry().erase(caf::atom("storage"));
  auto r2 = post("/webhooks/slack/main", slack_headers(body), body);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 503);
  EXPECT_EQ(stored("Ev503"), 0);
  system.registry().put(caf::atom("storage"), caf::actor_cast<caf::strong_actor_ptr>(writer));
  auto r3 = post("/webhooks/slack/main", slack_headers(body), body);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->status, 200);
  EXPECT_EQ(stored("Ev503"), 1);
}

TEST_F(Listener, AnIngestThatDoesNotAnswerInTimeGets503) {
  // A stand-in that never replies: the listener must not wait past ack_timeout.
  auto held = std::make_shared<std::vector<actors::ingest_callback>>();
  auto mute = system.spawn([held](caf::event_based_actor*) -> caf::behavior {
    return {[held](actors::ingest_atom, const std::vector<sb::messaging::StoredMessage>&,
                   const actors::ingest_callback& callback) {
      held->push_back(callback);  // kept, never called
    }};
  });
  system.registry().erase(caf::atom("ingest"));  // put() does not replace an entry
  system.registry().put(caf::atom("ingest"), caf::actor_cast<caf::strong_actor_ptr>(mute));
  const std::string body = slack_event("EvSlow");
  auto r = post("/webhooks/slack/main", slack_headers(body), body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  system.registry().erase(caf::atom("ingest"));
  system.registry().put(caf::atom("ingest"), caf::actor_cast<caf::strong_actor_ptr>(ingest));
  caf::anon_send_exit(mute, caf::exit_reason::user_shutdown);
  const std::string text = metrics.render();
  EXPECT_NE(text.find(R"(squadbox_webhook_requests_total{platform="slack",bot="main",result="unavailable"} 1)"),
            std::string::npos)
      << text;
}

TEST_F(Listener, MetricsCountOutcomesPerBot) {
  const std::string body = slack_event("EvM1");
  ASSERT_EQ(post("/webhooks/slack/main", slack_headers(body), body)->status, 200);
  ASSERT_EQ(post("/webhooks/slack/main", slack_headers(body, unix_now(-400)), body)->status, 401);
  const std::string text = metrics.render();
  EXPECT_NE(text.find(R"(squadbox_webhook_requests_total{platform="slack",bot="main",result="accepted"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(squadbox_webhook_rejects_total{platform="slack",bot="main",reason="stale_timestamp"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("squadbox_webhook_ack_seconds_count 1"), std::string::npos) << text;
}

class TlsListener : public IngressFixture {};

TEST_F(TlsListener, HttpsWebhookWithATestCa) {
  std::filesystem::create_directories(dir.file("pki"));
  TestPki pki = TestPki::generate(dir.file("pki"));
  start_listener(pki.cert_file, pki.key_file);
  ca_file = pki.ca_file;
  EXPECT_TRUE(listener->tls());
  const std::string body = slack_event("EvTls1");
  auto r = post("/webhooks/slack/main", slack_headers(body), body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(stored("EvTls1"), 1);

  // A client that does not trust the issuer refuses the connection.
  http::ClientOptions o;
  o.timeout = 10s;
  o.ca_file = pki.untrusted_cert;
  auto refused = http::request("POST", base_url + "/webhooks/slack/main", slack_headers(body), body, o);
  EXPECT_FALSE(refused.ok());

  // Plain HTTP to the TLS port gets nowhere, and a stalled handshake is cut off.
  RawSocket plain(listener->port());
  plain.send("POST /webhooks/slack/main HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  bool closed = false;
  const std::string answer = plain.read_all(10s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer.find("200"), std::string::npos);
  RawSocket stalled(listener->port());
  bool stalled_closed = false;
  stalled.read_all(10s, &stalled_closed);
  EXPECT_TRUE(stalled_closed);
}

TEST_F(TlsListener, OneTlsFileWithoutTheOtherIsRefused) {
  channels::webhooks::WebhookListenerOptions o;
  o.server.address = "127.0.0.1";
  o.server.tls_cert_file = dir.file("only.pem");
  channels::webhooks::WebhookListener l(actors::make_ingest_sink(system), make_test_bots(), o);
  auto port = l.start();
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().code, "http.tls");
  channels::webhooks::WebhookListenerOptions missing;
  missing.server.address = "127.0.0.1";
  missing.server.tls_cert_file = dir.file("nope.pem");
  missing.server.tls_key_file = dir.file("nope.key");
  channels::webhooks::WebhookListener l2(actors::make_ingest_sink(system), make_test_bots(), missing);
  auto p2 = l2.start();
  ASSERT_FALSE(p2.ok());
  EXPECT_NE(p2.error().message.find("nope.pem"), std::string::npos);
}

}  // namespace
}  // namespace sb::test::ingress
