// Slack without a public URL, end to end: `squadbox serve` (real process, real crun
// containers with the echo agent) with Slack bots in Socket Mode against fake Slack apps
// (Web API + Socket Mode over loopback TLS, tests/support/fake_slack_socket.hpp). A
// channel message reaches the agent, the reply goes through chat.postMessage and the
// envelope is acknowledged; an envelope is not acknowledged while storage is stalled and
// its redelivery is stored once; a refresh opens the replacement before the old socket
// goes and loses nothing; link_disabled (or an app token Slack refuses) stops the bot
// without a reconnect loop and shows on the channels API; a burst of 1,000 envelopes is
// stored once and answered in order.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/sqlite.hpp"
#include "tests/e2e/e2e_node.hpp"
#include "tests/e2e/fake_platform.hpp"
#include "tests/support/fake_slack_socket.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::FakeSlackSocket;
using sb::test::TempDir;
using sb::test::TestPki;
using sb::test::e2e::E2ENode;
using sb::test::e2e::FakePlatform;
using sb::test::e2e::NodeSettings;

constexpr const char* kSockAppToken = "xapp-1-A0SOCK-e2e";
constexpr const char* kSockOffAppToken = "xapp-1-A0OFF-e2e";
constexpr const char* kSockBotUser = "U0SOCKBOT";
constexpr auto kSockReplyTimeout = 60s;
// The node does not acknowledge an envelope whose messages are not stored within this
// ([webhooks] ack_timeout_ms); the fake redelivers after a little more, as Slack does
// after its 3 s.
constexpr int kSockAckTimeoutMs = 600;
constexpr auto kSockRedeliverAfter = 1000ms;

class SlackSocketMode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    ASSERT_EQ(std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null"), 0);
    dir_ = std::make_unique<TempDir>("squadbox-slack-socket-e2e");
    std::filesystem::create_directories(dir_->file("pki"));
    pki_ = std::make_unique<TestPki>(TestPki::generate(dir_->file("pki")));
    platform_ = std::make_unique<FakePlatform>();
    auto fake = [](const char* app_token) {
      return std::make_unique<FakeSlackSocket>(FakeSlackSocket::Options{.cert_file = pki_->cert_file,
                                                                        .key_file = pki_->key_file,
                                                                        .app_token = app_token,
                                                                        .bot_token = sb::test::e2e::kSlackBotToken,
                                                                        .redeliver_after = kSockRedeliverAfter});
    };
    slack_ = fake(kSockAppToken);
    off_ = fake(kSockOffAppToken);
    NodeSettings settings;
    settings.platform_url = platform_->url();
    settings.secrets = {
        {"sock-app", kSockAppToken}, {"sockoff-app", kSockOffAppToken}, {"sockbad-app", "xapp-1-not-the-token"}};
    settings.env = {{"SQUADBOX_WEBHOOKS_ACK_TIMEOUT_MS", std::to_string(kSockAckTimeoutMs)}};
    auto bot = [](const std::string& name, const std::string& app_entry, const FakeSlackSocket& f) {
      return "[channels.slack." + name + "]\nmode = \"socket\"\napp_token = \"" + app_entry +
             "\"\nbot_token = \"slack-token\"\nbot_user_id = \"" + kSockBotUser + "\"\napi_base_url = \"" +
             f.api_base_url() + "\"\nca_file = \"" + pki_->ca_file + "\"\n";
    };
    // Large turns keep the 1,000-message burst to a few container round trips.
    settings.extra_config = "[namespaces]\nmax_batch_messages = 250\n" + bot("sock", "sock-app", *slack_) +
                            bot("sockoff", "sockoff-app", *off_) + bot("sockbad", "sockbad-app", *off_);
    node_ = std::make_unique<E2ENode>(dir_->path(), settings);
    ASSERT_EQ(node_->prepare(), "");
    ASSERT_EQ(node_->start(), "");
    ASSERT_EQ(node_->add_namespace(
                  "home", {"slack:C0SOCK1", "slack:C0SOCK2", "slack:C0SOCK3", "slack:C0SOCK4", "slack:C0SOCK5"}),
              "");
  }
  static void TearDownTestSuite() {
    if (node_) {
      EXPECT_EQ(node_->stop(), 0);
    }
    node_.reset();
    slack_.reset();
    off_.reset();
    platform_.reset();
    pki_.reset();
    dir_.reset();
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "crun containers need root";
    ASSERT_TRUE(node_) << "the suite's node did not start";
    ASSERT_TRUE(slack_->wait_for([] { return slack_->sockets_open() >= 1; }, 30s)) << "the bot never connected";
  }
  void TearDown() override {
    if (HasFailure() && node_) std::cerr << "---- serve log (tail) ----\n" << node_->log_tail();
    EXPECT_EQ(slack_->violations(), std::vector<std::string>{});
    EXPECT_EQ(slack_->unknown_acks(), 0u);
  }

  // "prefix-7~": the '~' ends the number, so "-4~" is not found inside "-40~".
  static std::string unique(const std::string& prefix) { return prefix + "-" + std::to_string(++next_id_) + "~"; }
  // A channel message that mentions the bot (the trigger in a group chat).
  static std::string push(const std::string& channel, const std::string& text) {
    return slack_->push_message(channel, "U0HUMAN01", "<@" + std::string(kSockBotUser) + "> " + text);
  }
  // Replies posted to `channel` containing `needle`.
  static size_t replies_with(const std::string& channel, const std::string& needle) {
    size_t n = 0;
    for (const auto& r : slack_->replies()) n += r.channel == channel && r.text.find(needle) != std::string::npos;
    return n;
  }
  static bool wait_reply(const std::string& channel, const std::string& needle) {
    return slack_->wait_for([&] { return replies_with(channel, needle) > 0; }, kSockReplyTimeout);
  }
  // A chat's messages are stored, turned and answered in order: once a message pushed
  // last is answered, everything before it that was going to be answered has been.
  static bool settle(const std::string& channel) {
    const std::string marker = unique("marker");
    push(channel, marker);
    return wait_reply(channel, marker);
  }
  static int stored(const std::string& event_id) {
    return std::stoi(node_->query(
        "SELECT count(*) FROM inbound_messages WHERE channel = 'slack' AND bot = 'sock' AND platform_message_id = ?",
        event_id));
  }
  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TestPki> pki_;
  static inline std::unique_ptr<FakePlatform> platform_;
  static inline std::unique_ptr<FakeSlackSocket> slack_;
  static inline std::unique_ptr<FakeSlackSocket> off_;
  static inline std::unique_ptr<E2ENode> node_;
  static inline int next_id_ = 0;
};

TEST_F(SlackSocketMode, AChannelMessageIsAnsweredOnceThroughChatPostMessageAndItsEnvelopeAcked) {
  const std::string channel = "C0SOCK1";
  const std::string text = unique("hello over socket mode");
  const std::string envelope = push(channel, text);
  ASSERT_TRUE(wait_reply(channel, text)) << "no reply in the channel";
  auto e = slack_->envelope(envelope);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->acks, 1);
  EXPECT_EQ(e->acked_attempt, 0) << "acknowledged only after a redelivery";
  EXPECT_EQ(e->deliveries, 1);
  // Without a mention a channel message is not for the agent (the Slack trigger rule).
  const std::string quiet = unique("no mention");
  const std::string quiet_envelope = slack_->push_message(channel, "U0HUMAN01", quiet);
  ASSERT_TRUE(settle(channel));
  EXPECT_EQ(replies_with(channel, text), 1u) << "answered more than once";
  EXPECT_EQ(replies_with(channel, quiet), 0u);
  EXPECT_EQ(slack_->envelope(quiet_envelope)->acks, 1) << "a stored but untriggered message is acknowledged too";
  // Stored once under the Events webhook's dedupe key (slack, bot, event_id).
  EXPECT_EQ(stored(e->event_id), 1);
  const std::string entry = node_->channel_entry("slack/sock");
  EXPECT_NE(entry.find(R"("mode":"socket")"), std::string::npos) << entry;
  EXPECT_NE(entry.find(R"("state":"ready")"), std::string::npos) << entry;
  EXPECT_NE(entry.find(R"("fatal":false)"), std::string::npos) << entry;
}

TEST_F(SlackSocketMode, WhileStorageIsStalledTheEnvelopeIsNotAckedAndItsRedeliveryIsStoredOnce) {
  const std::string channel = "C0SOCK2";
  const std::string text = unique("sent while storage is stalled");
  // Another connection holds SQLite's write lock: the node's writer waits for it (its
  // busy timeout is 5 s), so nothing commits within the ack timeout.
  auto db = sb::storage::Database::open(node_->db_path());
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("BEGIN IMMEDIATE"));
  const std::string envelope = push(channel, text);
  const bool redelivered = slack_->wait_for([&] { return slack_->envelope(envelope)->deliveries >= 2; }, 10s);
  const auto held = *slack_->envelope(envelope);
  ASSERT_TRUE(db->exec("ROLLBACK"));
  ASSERT_TRUE(redelivered) << "Slack's redelivery never came";
  EXPECT_EQ(held.acks, 0) << "acknowledged although storage could not commit";
  // The first copy commits once the lock is gone; the redelivery is then a duplicate,
  // and that is acknowledged.
  ASSERT_TRUE(slack_->wait_for([&] { return slack_->envelope(envelope)->acks >= 1; }, 10s)) << "never acknowledged";
  const auto done = *slack_->envelope(envelope);
  EXPECT_GE(done.acked_attempt, 1) << "the acknowledgement came before the redelivery";
  ASSERT_TRUE(wait_reply(channel, text));
  ASSERT_TRUE(settle(channel));
  EXPECT_EQ(replies_with(channel, text), 1u) << "the redelivery was answered again";
  EXPECT_EQ(stored(done.event_id), 1);
  auto metrics = sb::http::request("GET", node_->admin_url() + "/metrics", {}, "", 10s);
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find(R"(squadbox_slack_socket_commit_failures_total{bot="slack/sock"})"), std::string::npos);
  EXPECT_NE(metrics->body.find(R"(squadbox_slack_socket_duplicates_total{bot="slack/sock"})"), std::string::npos);
}

TEST_F(SlackSocketMode, ARefreshOpensTheReplacementFirstAndLosesOrDoublesNothing) {
  const std::string channel = "C0SOCK3";
  const size_t accepted = slack_->sockets_accepted();
  ASSERT_TRUE(slack_->wait_for([] { return slack_->sockets_open() == 1; }, 10s));
  const size_t old_socket = slack_->sockets().back().id;
  std::vector<std::string> texts, envelopes;
  // Events keep coming before, during and after the refresh (Slack spreads them over
  // both sockets while both are open).
  for (int i = 0; i < 60; ++i) {
    if (i == 20) {
      ASSERT_TRUE(slack_->disconnect("refresh_requested", old_socket));
    }
    texts.push_back(unique("during refresh"));
    envelopes.push_back(push(channel, texts.back()));
    std::this_thread::sleep_for(3ms);  // pacing of the producer, not a wait for the node
  }
  ASSERT_TRUE(slack_->wait_for(
      [&] {
        for (const auto& t : texts)
          if (replies_with(channel, t) == 0) return false;
        return true;
      },
      kSockReplyTimeout))
      << "not every message was answered";
  ASSERT_TRUE(slack_->wait_for([&] { return slack_->server().connections()[old_socket - 1]->closed(); }, 10s))
      << "the refreshed socket was never closed";
  ASSERT_TRUE(settle(channel));
  for (const auto& t : texts) EXPECT_EQ(replies_with(channel, t), 1u) << t;
  for (const auto& e : envelopes) {
    auto r = slack_->envelope(e);
    EXPECT_EQ(stored(r->event_id), 1) << e;
    EXPECT_GE(r->acks, 1) << e;
  }
  // Make before break: the replacement connected while the old socket was still open,
  // and the old one ended with our close frame.
  ASSERT_GT(slack_->sockets_accepted(), accepted);
  const auto sockets = slack_->sockets();
  const auto replacement = std::find_if(sockets.begin(), sockets.end(),
                                        [&](const FakeSlackSocket::SocketRecord& s) { return s.id > old_socket; });
  ASSERT_NE(replacement, sockets.end());
  EXPECT_EQ(replacement->others_open, 1u) << "the old socket was closed before the replacement connected";
  EXPECT_LE(slack_->max_simultaneous(), 2u);
  const auto end = slack_->server().connections()[old_socket - 1]->end();
  EXPECT_EQ(end.how, sb::test::FakeWsEnd::How::close_frame);
  EXPECT_EQ(end.client_code.value_or(0), 1000);
}

TEST_F(SlackSocketMode, LinkDisabledOrARefusedTokenStopsTheBotWithoutAReconnectLoopAndShowsOnTheApi) {
  ASSERT_TRUE(off_->wait_for([] { return off_->sockets_open() == 1; }, 30s)) << "the second bot never connected";
  // The third bot's app token is not the fake app's: apps.connections.open answers
  // invalid_auth, which no retry can fix.
  const std::string bad = node_->wait_connection_fatal("slack/sockbad", 10s);
  ASSERT_NE(bad.find(R"("fatal":true)"), std::string::npos) << bad;
  EXPECT_NE(bad.find("invalid_auth"), std::string::npos) << bad;
  ASSERT_TRUE(off_->disconnect("link_disabled"));
  const std::string entry = node_->wait_connection_fatal("slack/sockoff", 10s);
  ASSERT_NE(entry.find(R"("fatal":true)"), std::string::npos) << entry;
  EXPECT_NE(entry.find(R"("state":"stopped_fatal")"), std::string::npos) << entry;
  EXPECT_NE(entry.find("link_disabled"), std::string::npos) << entry;
  ASSERT_TRUE(off_->wait_for([] { return off_->sockets_open() == 0; }, 10s)) << "the disabled socket stayed open";
  const int opens = off_->opens();
  // An absence has no event to wait for: the other bot, on the same backoff settings,
  // goes through a whole refresh (apps.connections.open, connect, hello) and answers a
  // message meanwhile; a reconnect loop of the stopped bot would have called by then.
  const size_t accepted = slack_->sockets_accepted();
  ASSERT_TRUE(slack_->disconnect("refresh_requested"));
  ASSERT_TRUE(slack_->wait_for([&] { return slack_->sockets_accepted() > accepted; }, 10s));
  ASSERT_TRUE(settle("C0SOCK5"));
  EXPECT_EQ(off_->opens(), opens) << "a stopped bot kept calling apps.connections.open";
  EXPECT_EQ(off_->opens_refused(), 1) << "the refused token was tried again";
  EXPECT_EQ(off_->sockets_accepted(), 1u);
  auto audit = node_->admin("GET", "/api/v1/container/audit?limit=1000");
  ASSERT_TRUE(audit.ok());
  for (const char* bot : {"slack/sockoff", "slack/sockbad"})
    EXPECT_NE(audit->body.find(std::string(R"("event":"channel.connection_stopped","subject":")") + bot + "\""),
              std::string::npos)
        << bot;
}

TEST_F(SlackSocketMode, ABurstOfAThousandEnvelopesIsStoredOnceAndAnsweredInOrder) {
  constexpr int kCount = 1000;
  const std::string channel = "C0SOCK4";
  ASSERT_TRUE(slack_->wait_for([] { return slack_->sockets_open() == 1; }, 10s));
  const size_t accepted = slack_->sockets_accepted();
  // Slack's 3 s: the burst's commits are far faster; a slow one is redelivered, deduplicated.
  slack_->set_redeliver_after(3s);
  const std::string tag = unique("burst");
  std::vector<std::string> texts, envelopes;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCount; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "-%04d", i);
    texts.push_back(tag + buf);
    envelopes.push_back(push(channel, texts.back()));
  }
  // The echo agent answers a turn with one `sender: text` line per message (the text
  // begins with the mention, so a line ends " TEXT").
  auto all_lines = [&] {
    std::string all;
    for (const auto& r : slack_->replies())
      if (r.channel == channel && r.text.rfind("[squadbox]", 0) != 0) all += r.text + "\n";
    return all;
  };
  ASSERT_TRUE(slack_->wait_for([&] { return all_lines().find(" " + texts.back() + "\n") != std::string::npos; }, 120s))
      << "the last message of the burst was not answered";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(slack_->wait_for([] { return slack_->unacked() == 0; }, 10s)) << slack_->unacked() << " not acked";
  const std::string all = all_lines();
  size_t pos = 0;
  for (const auto& t : texts) {
    const size_t at = all.find(" " + t + "\n", pos);
    ASSERT_NE(at, std::string::npos) << t << " missing or out of order";
    EXPECT_EQ(all.find(" " + t + "\n", at + 1), std::string::npos) << t << " answered twice";
    pos = at;
  }
  const std::string stored_count =
      node_->query("SELECT count(*) FROM inbound_messages WHERE channel = 'slack' AND bot = 'sock' AND text LIKE ?",
                   "%" + tag + "-%");
  EXPECT_EQ(stored_count, std::to_string(kCount));
  EXPECT_EQ(slack_->sockets_accepted(), accepted) << "the burst went over one connection";
  RecordProperty("burst_seconds", std::to_string(seconds));
  RecordProperty("burst_redeliveries", static_cast<int>(slack_->redeliveries()));
  std::cerr << "burst of " << kCount << " envelopes answered in " << seconds << " s, " << slack_->redeliveries()
            << " redeliveries in the suite\n";
}

}  // namespace
