// The Slack Socket Mode actor against FakeSlackSocket on loopback TLS, with a scripted
// "ingest" actor: an envelope is acknowledged only once the ingest answered that its
// messages are stored; a failed or missing ingest leaves it unacknowledged until Slack's
// redelivery is stored; a refused app token stops the bot with an audit record; shutdown
// closes the socket normally. (The real storage and containers: tests/e2e/slack_socket_e2e_test.cpp.)
#include "actors/channels/slack_socket.hpp"

#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>

#include "channels/factory/bot_factory.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/fake_slack_socket.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_pki.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
using sb::test::FakeSlackSocket;

constexpr const char* kSocketAppToken = "xapp-1-actor-test";

// What the scripted ingest saw, and whether it stores.
struct IngestScript {
  std::mutex mutex;
  bool fail = false;
  std::vector<sb::messaging::StoredMessage> seen;

  size_t count() {
    std::lock_guard lock(mutex);
    return seen.size();
  }
  void set_fail(bool f) {
    std::lock_guard lock(mutex);
    fail = f;
  }
};

// Answers like the ingest actor: everything stored, or a storage error.
caf::behavior scripted_ingest(caf::event_based_actor*, std::shared_ptr<IngestScript> script) {
  return {
      [=](ingest_atom, std::vector<sb::messaging::StoredMessage>& batch) {
        std::lock_guard lock(script->mutex);
        script->seen.insert(script->seen.end(), batch.begin(), batch.end());
        ingest_result r;
        if (script->fail)
          r.error = sb::make_error("sqlite.busy", "database is locked");
        else
          r.stored = static_cast<uint32_t>(batch.size());
        return r;
      },
  };
}

struct SlackSocketActor : ::testing::Test, sb::test::ActorSystemFixture {
  SlackSocketActor()
      : pki(make_pki(dir)),
        fake(FakeSlackSocket::Options{.cert_file = pki.cert_file,
                                      .key_file = pki.key_file,
                                      .app_token = kSocketAppToken,
                                      .redeliver_after = 300ms}) {}
  static sb::test::TestPki make_pki(const sb::test::TempDir& d) {
    std::filesystem::create_directories(d.file("pki"));
    return sb::test::TestPki::generate(d.file("pki"));
  }
  void TearDown() override {
    stop_actor();
    system.registry().erase(caf::atom_from_string("ingest"));
    if (ingest) caf::anon_send_exit(ingest, caf::exit_reason::user_shutdown);
  }
  void add_ingest() {
    ingest = system.spawn(scripted_ingest, script);
    system.registry().put(caf::atom_from_string("ingest"), caf::actor_cast<caf::strong_actor_ptr>(ingest));
  }

  std::shared_ptr<const sb::channels::ChannelBot> bot(const std::string& app_token, sb::config::BotMode mode) {
    sb::config::ChannelBotConfig c;
    c.platform = "slack";
    c.name = "sock";
    c.api_base_url = fake.api_base_url();
    c.mode = mode;
    c.ca_file = pki.ca_file;
    c.secrets = {{"app_token", "app"}, {"bot_token", "bot"}, {"signing_secret", "signing"}};
    c.settings = {{"bot_user_id", "U0SOCKBOT"}};
    auto made = sb::channels::make_bot(c, [app_token](const std::string& name) -> sb::Result<sb::Secret> {
      if (name == "app") return sb::Secret(app_token);
      if (name == "bot") return sb::Secret("xoxb-actor-test");
      return sb::Secret("8f742231b10e8888abcd99yyyzzz85a5");
    });
    if (!made) throw std::runtime_error(made.error().message);
    return std::shared_ptr<const sb::channels::ChannelBot>(std::move(*made));
  }
  SlackSocketOptions options(const std::string& app_token = kSocketAppToken) {
    SlackSocketOptions o;
    o.bot = bot(app_token, sb::config::BotMode::socket);
    o.bot_user_id = "U0SOCKBOT";
    o.ca_file = pki.ca_file;
    o.commit_timeout = 2000ms;
    o.backoff_base = 20ms;
    o.backoff_max = 200ms;
    o.metrics = &metrics;
    o.board = &board;
    o.audit = [this](sb::AuditRecord r) {
      std::lock_guard lock(audit_mutex);
      audits.push_back(std::move(r));
    };
    return o;
  }
  void start(SlackSocketOptions o) {
    actor = spawn_slack_socket(system, std::move(o));
    ASSERT_TRUE(actor);
  }
  void stop_actor() {
    if (!actor) return;
    caf::scoped_actor self{system};
    self->monitor(actor);
    bool answered = false;
    self->request(actor, 20s, shutdown_atom::value).receive([&](bool ok) { answered = ok; }, [&](caf::error&) {});
    EXPECT_TRUE(answered);
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; }, caf::after(20s) >> [] {});
    EXPECT_TRUE(down);
    actor = nullptr;
  }
  uint64_t counter(const std::string& name, sb::metrics::Labels labels = {}) {
    labels.emplace_back("bot", "slack/sock");
    return metrics.counter(name, "", labels).value();
  }
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    return fake.wait_for(done, timeout);
  }

  sb::test::TempDir dir;
  sb::test::TestPki pki;
  FakeSlackSocket fake;
  sb::metrics::Registry metrics;
  ConnectionBoard board;
  std::mutex audit_mutex;
  std::vector<sb::AuditRecord> audits;
  std::shared_ptr<IngestScript> script = std::make_shared<IngestScript>();
  caf::actor ingest;
  ws_bot_actor actor;
};

TEST_F(SlackSocketActor, AnEnvelopeIsAckedOnlyOnceTheIngestStoredItsMessages) {
  add_ingest();
  script->set_fail(true);
  start(options());
  ASSERT_TRUE(wait([&] { return fake.sockets_open() == 1; }));
  const std::string envelope = fake.push_message("D0DM1", "U0HUMAN01", "hello");
  ASSERT_TRUE(wait([&] { return counter("squadbox_slack_socket_commit_failures_total") >= 1; }));
  EXPECT_EQ(fake.envelope(envelope)->acks, 0) << "acknowledged although storing failed";
  script->set_fail(false);
  ASSERT_TRUE(wait([&] { return fake.envelope(envelope)->acks == 1; })) << "the redelivery was not acknowledged";
  const auto e = *fake.envelope(envelope);
  EXPECT_GE(e.acked_attempt, 1);
  // Every copy carries the Events webhook's dedupe key: (slack, bot, event_id).
  {
    std::lock_guard lock(script->mutex);
    ASSERT_GE(script->seen.size(), 2u);
    for (const auto& m : script->seen) {
      EXPECT_EQ(m.channel, "slack");
      EXPECT_EQ(m.bot, "sock");
      EXPECT_EQ(m.platform_message_id, e.event_id);
      EXPECT_EQ(m.chat_jid, "slack:D0DM1");
      EXPECT_EQ(m.text, "hello");
    }
  }
  EXPECT_EQ(counter("squadbox_slack_socket_acks_total"), 1u);
  EXPECT_GE(counter("squadbox_slack_socket_envelopes_total"), 2u);
  auto report = board.get("slack/sock");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->state, "ready");
  EXPECT_FALSE(report->fatal);
  EXPECT_EQ(fake.unknown_acks(), 0u);
}

TEST_F(SlackSocketActor, WithoutAnIngestActorNothingIsAckedUntilItIsBack) {
  start(options());
  ASSERT_TRUE(wait([&] { return fake.sockets_open() == 1; }));
  const std::string envelope = fake.push_message("D0DM2", "U0HUMAN01", "nobody stores this yet");
  ASSERT_TRUE(wait([&] { return counter("squadbox_slack_socket_commit_failures_total") >= 1; }));
  EXPECT_EQ(fake.envelope(envelope)->acks, 0);
  add_ingest();
  ASSERT_TRUE(wait([&] { return fake.envelope(envelope)->acks == 1; }));
  EXPECT_EQ(script->count(), 1u) << "stored once, by the redelivery";
}

TEST_F(SlackSocketActor, ARefusedAppTokenStopsTheBotWithAnAuditRecordAndNoRetry) {
  add_ingest();
  start(options("xapp-1-not-the-token"));
  ASSERT_TRUE(wait([&] {
    auto r = board.get("slack/sock");
    return r && r->fatal;
  }));
  auto report = *board.get("slack/sock");
  EXPECT_EQ(report.state, "stopped_fatal");
  EXPECT_NE(report.detail.find("invalid_auth"), std::string::npos) << report.detail;
  EXPECT_EQ(counter("squadbox_slack_socket_fatal_total", {{"reason", "invalid_auth"}}), 1u);
  {
    std::lock_guard lock(audit_mutex);
    ASSERT_EQ(audits.size(), 1u);
    EXPECT_EQ(audits[0].event, "channel.connection_stopped");
    EXPECT_EQ(audits[0].subject, "slack/sock");
    EXPECT_NE(audits[0].detail.find(R"("code":"invalid_auth")"), std::string::npos) << audits[0].detail;
  }
  // The actor stays up (no supervisor restart loop) and says why it stopped.
  caf::scoped_actor self{system};
  std::string state;
  self->request(actor, 10s, status_atom::value)
      .receive([&](const component_status& s) { state = s.state; }, [&](caf::error&) {});
  EXPECT_EQ(state, "stopped_fatal");
  EXPECT_EQ(fake.opens(), 1);
  EXPECT_EQ(fake.sockets_accepted(), 0u);
}

TEST_F(SlackSocketActor, ShutdownClosesTheSocketWithANormalClose) {
  add_ingest();
  start(options());
  // Ready (hello received): before the websocket handshake ends there is no close frame
  // to send, and a stop then only drops the TCP connection.
  ASSERT_TRUE(wait([&] {
    auto r = board.get("slack/sock");
    return fake.sockets_open() == 1 && r && r->state == "ready";
  }));
  auto socket = fake.server().connections().front();
  stop_actor();
  ASSERT_TRUE(socket->wait_closed(10s));
  EXPECT_EQ(socket->end().how, sb::test::FakeWsEnd::How::close_frame);
  EXPECT_EQ(socket->end().client_code.value_or(0), 1000);
}

TEST_F(SlackSocketActor, OnlySocketModeSlackBotsAreStarted) {
  auto o = options();
  o.bot = bot(kSocketAppToken, sb::config::BotMode::webhook);
  EXPECT_FALSE(spawn_slack_socket(system, o));
  o.bot = nullptr;
  EXPECT_FALSE(spawn_slack_socket(system, o));
}

}  // namespace
