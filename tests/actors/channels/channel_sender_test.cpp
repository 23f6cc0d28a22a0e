// Channel senders against a loopback fake of each platform's API that checks method,
// path, auth header and body, and answers 429, 500, 200 and an auth error in turn; split
// replies in order; a held chat does not hold the others; outbound TLS with a test CA;
// pending rows are resumed by a new sender.
#include <deque>
#include <mutex>

#include <gtest/gtest.h>

#include "tests/actors/channels/sender_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_upstream.hpp"

namespace sb::test::outbound {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kDiscordKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

struct Platform {
  std::string name;
  config::ChannelBotConfig config;  // api_base_url is set by the test
  std::map<std::string, std::string> vault;
  std::string bot_id;
  std::string chat_jid;
  std::string path;                 // expected request target
  std::optional<std::string> auth;  // expected Authorization header (nullopt: none)
  std::string body_marker;          // a fragment every request body carries
  UpstreamReply ok, rate_limited, server_error, auth_error;
  std::chrono::milliseconds rate_limit_wait;  // what rate_limited asks for
};

// Keeps the test names readable ("... GetParam() = slack").
void PrintTo(const Platform& p, std::ostream* os) {
  *os << p.name;
}

config::ChannelBotConfig bot(const std::string& platform, std::map<std::string, std::string> secrets,
                             std::map<std::string, std::string> settings = {}) {
  config::ChannelBotConfig c;
  c.platform = platform;
  c.name = "main";
  c.secrets = std::move(secrets);
  c.settings = std::move(settings);
  return c;
}

UpstreamReply with_header(UpstreamReply r, std::string name, std::string value) {
  r.headers.emplace_back(std::move(name), std::move(value));
  return r;
}

std::vector<Platform> platforms() {
  std::vector<Platform> out;
  out.push_back({"slack",
                 bot("slack", {{"signing_secret", "sl-sign"}, {"bot_token", "sl-token"}}),
                 {{"sl-sign", "signing"}, {"sl-token", "xoxb-1-test"}},
                 "slack/main",
                 "slack:C0123",
                 "/api/chat.postMessage",
                 "Bearer xoxb-1-test",
                 R"("channel":"C0123")",
                 UpstreamReply::json(200, R"({"ok":true,"channel":"C0123","ts":"1700000000.000200"})"),
                 with_header(UpstreamReply::json(429, R"({"ok":false,"error":"ratelimited"})"), "Retry-After", "1"),
                 UpstreamReply::json(500, "oops"),
                 UpstreamReply::json(200, R"({"ok":false,"error":"invalid_auth"})"),
                 1000ms});
  out.push_back(
      {"discord",
       bot("discord", {{"bot_token", "dc-token"}}, {{"public_key", kDiscordKey}, {"application_id", "42"}}),
       {{"dc-token", "MTIz.discord-bot-token"}},
       "discord/main",
       "dc:123456789012345678",
       "/api/v10/channels/123456789012345678/messages",
       "Bot MTIz.discord-bot-token",
       R"("content":)",
       UpstreamReply::json(200, R"({"id":"222222222222222222","channel_id":"123456789012345678"})"),
       UpstreamReply::json(429, R"({"message":"You are being rate limited.","retry_after":0.3,"global":false})"),
       UpstreamReply::json(502, "bad gateway"),
       UpstreamReply::json(401, R"({"message":"401: Unauthorized","code":0})"),
       300ms});
  out.push_back(
      {"whatsapp",
       bot("whatsapp", {{"app_secret", "wa-app"}, {"verify_token", "wa-verify"}, {"access_token", "wa-access"}},
           {{"phone_number_id", "1065"}, {"api_version", "v21.0"}}),
       {{"wa-app", "appsecret"}, {"wa-verify", "verify"}, {"wa-access", "EAAG-access"}},
       "whatsapp/main",
       "wa:4915112345678",
       "/v21.0/1065/messages",
       "Bearer EAAG-access",
       R"("to":"4915112345678")",
       UpstreamReply::json(200, R"({"messaging_product":"whatsapp","messages":[{"id":"wamid.X1"}]})"),
       with_header(UpstreamReply::json(429, R"({"error":{"message":"rate","code":130429}})"), "Retry-After", "1"),
       UpstreamReply::json(503, R"({"error":{"message":"down","code":2}})"),
       UpstreamReply::json(401,
                           R"({"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}})"),
       1000ms});
  out.push_back(
      {"telegram",
       bot("telegram", {{"bot_token", "tg-token"}, {"secret_token", "tg-secret"}}),
       {{"tg-token", "123456:AAH-test_token"}, {"tg-secret", "webhook-secret"}},
       "telegram/main",
       "tg:-1001234",
       "/bot123456:AAH-test_token/sendMessage",
       std::nullopt,
       R"("chat_id":-1001234)",
       UpstreamReply::json(200, R"({"ok":true,"result":{"message_id":77,"chat":{"id":-1001234}}})"),
       UpstreamReply::json(
           429,
           R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}})"),
       UpstreamReply::json(500, R"({"ok":false,"error_code":500,"description":"Internal"})"),
       UpstreamReply::json(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})"),
       1000ms});
  return out;
}

// A fake platform API: checks every request against the platform's contract, answers
// scripted replies in order (then `ok`), and records bodies and arrival times.
class FakePlatform {
 public:
  explicit FakePlatform(const Platform& p, FakeUpstreamOptions options = {}) : p_(p), up_(options) {
    up_.set_handler([this](const RecordedRequest& r) { return handle(r); });
  }
  std::string url() const { return up_.url(); }
  FakeUpstream& upstream() { return up_; }
  void script(std::vector<UpstreamReply> replies) {
    std::lock_guard lock(mutex_);
    for (auto& r : replies) script_.push_back(std::move(r));
  }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  std::vector<Clock::time_point> times() const {
    std::lock_guard lock(mutex_);
    return times_;
  }
  std::vector<std::string> contract_violations() const {
    std::lock_guard lock(mutex_);
    return violations_;
  }
  size_t lookups() const {
    std::lock_guard lock(mutex_);
    return lookups_;
  }

 private:
  UpstreamReply handle(const RecordedRequest& r) {
    std::lock_guard lock(mutex_);
    // Slack's history lookup: a row whose attempt may have been delivered (a 5xx) is
    // looked for by its metadata before it is sent again.
    if (r.method == "GET" && r.target.rfind("/api/conversations.history?", 0) == 0 &&
        r.header("Authorization") == p_.auth) {
      ++lookups_;
      return UpstreamReply::json(200, R"({"ok":true,"messages":[],"has_more":false})");
    }
    std::string why;
    if (r.method != "POST") why = "method " + r.method;
    if (r.target != p_.path) why = "path " + r.target;
    if (r.header("Authorization") != p_.auth) why = "authorization " + r.header("Authorization").value_or("(none)");
    if (r.header("Content-Type").value_or("").rfind("application/json", 0) != 0) why = "content type";
    if (r.body.find(p_.body_marker) == std::string::npos) why = "body " + r.body;
    if (!why.empty()) {
      violations_.push_back(why);
      return UpstreamReply::json(400, R"({"ok":false,"error":"contract"})");
    }
    bodies_.push_back(r.body);
    times_.push_back(Clock::now());
    if (script_.empty()) return p_.ok;
    auto reply = std::move(script_.front());
    script_.pop_front();
    return reply;
  }

  const Platform& p_;
  mutable std::mutex mutex_;
  std::deque<UpstreamReply> script_;
  std::vector<std::string> bodies_;
  std::vector<Clock::time_point> times_;
  std::vector<std::string> violations_;
  size_t lookups_ = 0;
  FakeUpstream up_;  // last: its threads call handle() until it is destroyed
};

double counter(metrics::Registry& m, const std::string& bot, const char* result) {
  return m
      .counter("squadbox_outbound_messages_total", "Outbound delivery attempts by bot and result.",
               {{"bot", bot}, {"result", result}})
      .value();
}

class Senders : public ::testing::TestWithParam<Platform> {};

TEST_P(Senders, RateLimitThenServerErrorThenSentAndAnAuthErrorFailsWithoutRetry) {
  const Platform& p = GetParam();
  FakePlatform fake(p);
  fake.script({p.rate_limited, p.server_error, p.ok, p.auth_error});
  auto config = p.config;
  config.api_base_url = fake.url();
  OutboundPipeline pipe({make_test_bot(config, p.vault)});
  // Both to the same chat: the second waits until the first is delivered.
  auto first = pipe.enqueue(p.bot_id, p.chat_jid, "first message");
  ASSERT_EQ(first.error.code, "");
  auto second = pipe.enqueue(p.bot_id, p.chat_jid, "second message");
  ASSERT_EQ(second.error.code, "");
  ASSERT_EQ(first.outbox_ids.size(), 1u);
  pipe.start_senders();

  ASSERT_TRUE(wait_until([&] { return pipe.count_in("sent") == 1 && pipe.count_in("failed") == 1; }, 30s))
      << "rows: " << pipe.rows().size() << ", requests: " << fake.bodies().size();
  EXPECT_EQ(fake.contract_violations(), std::vector<std::string>{});
  const auto bodies = fake.bodies();
  ASSERT_EQ(bodies.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_NE(bodies[i].find("first message"), std::string::npos) << bodies[i];
  EXPECT_NE(bodies[3].find("second message"), std::string::npos) << bodies[3];
  // The 429 was honoured: nothing went out before the platform's wait was over.
  const auto times = fake.times();
  EXPECT_GE(times[1] - times[0], p.rate_limit_wait - 20ms);

  const auto rows = pipe.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].state, "sent");
  EXPECT_EQ(rows[0].attempts, 2);  // the 500 and the success; the 429 is not an attempt
  EXPECT_EQ(rows[1].state, "failed");
  EXPECT_EQ(rows[1].attempts, 1);
  EXPECT_FALSE(rows[1].last_error.empty());
  EXPECT_EQ(counter(pipe.metrics, p.bot_id, "sent"), 1);
  EXPECT_EQ(counter(pipe.metrics, p.bot_id, "failed"), 1);
  EXPECT_EQ(counter(pipe.metrics, p.bot_id, "retry"), 1);
  EXPECT_EQ(counter(pipe.metrics, p.bot_id, "rate_limited"), 1);
  // The failed row stays failed: a wake does not send it again.
  actors::wake_sender(pipe.system, p.bot_id);
  std::this_thread::sleep_for(300ms);  // only lets a wrong extra request show up
  EXPECT_EQ(fake.bodies().size(), 4u);
  EXPECT_EQ(fake.upstream().connection_count(), 1u);  // one keep-alive connection throughout
  // After the 500 (perhaps delivered all the same) Slack is asked before the next send;
  // the other platforms cannot be asked (and Discord deduplicates by its nonce).
  EXPECT_EQ(fake.lookups(), p.name == "slack" ? 1u : 0u);
  if (p.name == "discord") {
    EXPECT_NE(bodies[0].find(R"("enforce_nonce":true)"), std::string::npos) << bodies[0];
  }
  if (p.name == "slack") {
    EXPECT_NE(bodies[0].find(R"("event_type":"squadbox_outbox")"), std::string::npos) << bodies[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Platforms, Senders, ::testing::ValuesIn(platforms()),
                         [](const auto& info) { return info.param.name; });

TEST(SenderOrder, SplitRepliesArriveInOrderEvenAcrossARetry) {
  const Platform p = platforms()[3];  // Telegram: 4096 UTF-16 units per message
  FakePlatform fake(p);
  fake.script({p.ok, p.server_error});  // piece 2 fails once
  auto config = p.config;
  config.api_base_url = fake.url();
  OutboundPipeline pipe({make_test_bot(config, p.vault)});
  std::string text;
  for (const char* part : {"alpha", "bravo", "charlie"})
    text += std::string(part) + " " + std::string(4000, 'x') + "\n";
  auto queued = pipe.enqueue(p.bot_id, p.chat_jid, text);
  ASSERT_EQ(queued.error.code, "");
  ASSERT_EQ(queued.outbox_ids.size(), 3u);
  EXPECT_LT(queued.outbox_ids[0], queued.outbox_ids[1]);
  pipe.start_senders();
  ASSERT_TRUE(wait_until([&] { return pipe.count_in("sent") == 3; }, 30s));
  const auto bodies = fake.bodies();
  ASSERT_EQ(bodies.size(), 4u);
  const std::vector<std::string> expected = {"alpha", "bravo", "bravo", "charlie"};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NE(bodies[i].find(expected[i]), std::string::npos) << i;
}

TEST(SenderOrder, AChatWaitingForItsRetryDoesNotHoldOtherChats) {
  Platform p = platforms()[0];  // Slack
  p.body_marker = R"("channel":")";
  FakePlatform fake(p);
  fake.script({p.server_error});  // the first message fails once
  auto config = p.config;
  config.api_base_url = fake.url();
  auto outbound = OutboundPipeline::fast_retries();
  outbound.backoff_base_ms = 1500;  // long enough for the other chat to go first
  outbound.backoff_max_ms = 3000;
  OutboundPipeline pipe({make_test_bot(config, p.vault)}, outbound);
  ASSERT_EQ(pipe.enqueue(p.bot_id, "slack:CA", "to A one").error.code, "");
  ASSERT_EQ(pipe.enqueue(p.bot_id, "slack:CA", "to A two").error.code, "");
  ASSERT_EQ(pipe.enqueue(p.bot_id, "slack:CB", "to B").error.code, "");
  pipe.start_senders();
  ASSERT_TRUE(wait_until([&] { return pipe.count_in("sent") == 3; }, 30s));
  const auto bodies = fake.bodies();
  ASSERT_EQ(bodies.size(), 4u);
  const std::vector<std::string> expected = {"to A one", "to B", "to A one", "to A two"};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NE(bodies[i].find(expected[i]), std::string::npos) << i;
}

TEST(SenderResume, ANewSenderDeliversWhatWasPending) {
  const Platform p = platforms()[1];  // Discord
  FakePlatform fake(p);
  auto config = p.config;
  config.api_base_url = fake.url();
  OutboundPipeline pipe({make_test_bot(config, p.vault)});
  // Enqueued while no sender runs (as after a crash): the rows wait.
  ASSERT_EQ(pipe.enqueue(p.bot_id, p.chat_jid, "queued while down").error.code, "");
  EXPECT_EQ(pipe.count_in("pending"), 1u);
  pipe.start_senders();
  ASSERT_TRUE(wait_until([&] { return pipe.count_in("sent") == 1; }, 30s));
  EXPECT_EQ(fake.bodies().size(), 1u);
}

TEST(OutboxEnqueue, RefusesWhatCannotBeSent) {
  const Platform p = platforms()[0];
  OutboundPipeline pipe({make_test_bot(p.config, p.vault)});
  EXPECT_EQ(pipe.enqueue("slack/other", "slack:C1", "x").error.code, "outbox.unknown_bot");
  EXPECT_EQ(pipe.enqueue("slack/main", "tg:1", "x").error.code, "outbox.bad_jid");
  EXPECT_EQ(pipe.enqueue("slack/main", "slack:C1", "   ").error.code, "outbox.empty_text");
  EXPECT_TRUE(pipe.rows().empty());
}

TEST(SenderTls, DeliversOverHttpsWithTheConfiguredCa) {
  TempDir pki_dir;
  const auto pki = TestPki::generate(pki_dir.path());
  const Platform p = platforms()[0];
  FakePlatform fake(p, {.tls = true, .cert_file = pki.cert_file, .key_file = pki.key_file});
  auto config = p.config;
  config.api_base_url = fake.url();
  auto outbound = OutboundPipeline::fast_retries();
  outbound.ca_file = pki.ca_file;
  OutboundPipeline pipe({make_test_bot(config, p.vault)}, outbound);
  ASSERT_EQ(pipe.enqueue(p.bot_id, p.chat_jid, "over tls").error.code, "");
  pipe.start_senders();
  ASSERT_TRUE(wait_until([&] { return pipe.count_in("sent") == 1; }, 30s));
  EXPECT_EQ(fake.upstream().requests().front().tls_server_name, "localhost");
}

TEST(SenderTls, AnUntrustedServerIsRetriedNotTrusted) {
  TempDir pki_dir;
  const auto pki = TestPki::generate(pki_dir.path());
  const Platform p = platforms()[0];
  FakePlatform fake(p, {.tls = true, .cert_file = pki.untrusted_cert, .key_file = pki.untrusted_key});
  auto config = p.config;
  config.api_base_url = fake.url();
  auto outbound = OutboundPipeline::fast_retries();
  outbound.ca_file = pki.ca_file;
  outbound.max_attempts = 2;
  OutboundPipeline pipe({make_test_bot(config, p.vault)}, outbound);
  ASSERT_EQ(pipe.enqueue(p.bot_id, p.chat_jid, "never delivered").error.code, "");
  pipe.start_senders();
  ASSERT_TRUE(wait_until([&] { return pipe.count_in("failed") == 1; }, 30s));
  EXPECT_TRUE(fake.bodies().empty());
  EXPECT_NE(pipe.rows()[0].last_error.find("http.tls"), std::string::npos) << pipe.rows()[0].last_error;
}

}  // namespace
}  // namespace sb::test::outbound
