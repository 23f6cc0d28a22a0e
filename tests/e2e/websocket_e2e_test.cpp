// Bots without a public URL, end to end: `squadbox serve` (real process, real crun
// containers with the echo agent) with a Discord bot in Gateway mode against a fake
// Discord (REST + Gateway over loopback TLS, tests/support/fake_discord.hpp). A DM
// reaches the agent and the reply goes back through the REST API; a zombie connection
// resumes with a replay; a SIGKILLed broker resumes its session after the restart and
// answers every message exactly once; a bad token stops the bot without a reconnect
// loop and shows on the channels API.
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_node.hpp"
#include "tests/e2e/fake_platform.hpp"
#include "tests/support/fake_discord.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::FakeDiscord;
using sb::test::TempDir;
using sb::test::TestPki;
using sb::test::e2e::E2ENode;
using sb::test::e2e::FakePlatform;
using sb::test::e2e::NodeSettings;

constexpr const char* kGatewayToken = "gateway-test-token";
constexpr const char* kRevokedToken = "gateway-revoked-token";
constexpr auto kReplyTimeout = 60s;

class WebSocketChannels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    ASSERT_EQ(std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null"), 0);
    dir_ = std::make_unique<TempDir>("squadbox-ws-e2e");
    std::filesystem::create_directories(dir_->file("pki"));
    pki_ = std::make_unique<TestPki>(TestPki::generate(dir_->file("pki")));
    platform_ = std::make_unique<FakePlatform>();
    discord_ = std::make_unique<FakeDiscord>(FakeDiscord::Options{.cert_file = pki_->cert_file,
                                                                  .key_file = pki_->key_file,
                                                                  .token = kGatewayToken,
                                                                  .revoked_token = kRevokedToken});
    NodeSettings settings;
    settings.platform_url = platform_->url();
    settings.secrets = {
        {"gw-token", kGatewayToken}, {"gw-bad-token", "not-the-token"}, {"gw-revoked-token", kRevokedToken}};
    settings.extra_config = "[channels.discord.gw]\nmode = \"gateway\"\nbot_token = \"gw-token\"\napi_base_url = \"" +
                            discord_->api_base_url() + "\"\nca_file = \"" + pki_->ca_file + "\"\n" +
                            "[channels.discord.gwbad]\nmode = \"gateway\"\nbot_token = \"gw-bad-token\"\n"
                            "api_base_url = \"" +
                            discord_->api_base_url() + "\"\nca_file = \"" + pki_->ca_file + "\"\n" +
                            "[channels.discord.gwrevoked]\nmode = \"gateway\"\nbot_token = \"gw-revoked-token\"\n"
                            "api_base_url = \"" +
                            discord_->api_base_url() + "\"\nca_file = \"" + pki_->ca_file + "\"\n";
    node_ = std::make_unique<E2ENode>(dir_->path(), settings);
    ASSERT_EQ(node_->prepare(), "");
    ASSERT_EQ(node_->start(), "");
    auto ns = node_->admin("POST", "/api/v1/container/namespaces", R"({"name":"home","description":"ws e2e"})");
    ASSERT_TRUE(ns.ok());
    ASSERT_EQ(ns->status, 201) << ns->body;
    for (const char* chat : {"dc:500000000000000001", "dc:500000000000000002", "dc:500000000000000003"}) {
      auto m = node_->admin("POST", "/api/v1/container/mappings",
                            std::string(R"({"jid":")") + chat + R"(","namespace":"home"})");
      ASSERT_TRUE(m.ok());
      ASSERT_EQ(m->status, 201) << m->body;
    }
  }
  static void TearDownTestSuite() {
    if (node_) {
      EXPECT_EQ(node_->stop(), 0);
    }
    node_.reset();
    discord_.reset();
    platform_.reset();
    pki_.reset();
    dir_.reset();
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "crun containers need root";
    ASSERT_TRUE(node_) << "the suite's node did not start";
    ASSERT_TRUE(discord_->wait_for([] { return discord_->ready(); }, 30s)) << "the bot never became ready";
  }
  void TearDown() override {
    if (HasFailure() && node_ && node_->process()) {
      auto log = node_->process()->stderr_text();
      std::cerr << "---- serve log (tail) ----\n" << (log.size() > 20000 ? log.substr(log.size() - 20000) : log);
    }
  }
  // Replies to `channel` containing `needle`.
  static size_t replies_with(const std::string& channel, const std::string& needle) {
    size_t n = 0;
    for (const auto& r : discord_->replies())
      n += r.channel_id == channel && r.content.find(needle) != std::string::npos;
    return n;
  }
  static bool wait_reply(const std::string& channel, const std::string& needle) {
    return discord_->wait_for([&] { return replies_with(channel, needle) > 0; }, kReplyTimeout);
  }
  // A chat's messages are stored, turned and answered in order: once a message sent
  // last is answered, everything before it that was going to be answered has been.
  static bool settle(const std::string& channel) {
    const std::string marker = "marker " + message_id();
    discord_->dispatch_message(message_id(), channel, marker);
    return wait_reply(channel, marker);
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TestPki> pki_;
  static inline std::unique_ptr<FakePlatform> platform_;
  static inline std::unique_ptr<FakeDiscord> discord_;
  static inline std::unique_ptr<E2ENode> node_;
  static inline int next_id_ = 0;
  static std::string message_id() { return std::to_string(700000000000000000LL + ++next_id_); }
};

TEST_F(WebSocketChannels, ADiscordDmReachesTheAgentAndTheReplyGoesToTheChannel) {
  const std::string channel = "500000000000000001";
  discord_->dispatch_message(message_id(), channel, "hello over the gateway");
  ASSERT_TRUE(wait_reply(channel, "hello over the gateway")) << "no reply in the DM channel";
  // A bot's message (its own included) is not a message for the agent.
  discord_->dispatch_message(message_id(), channel, "from another bot", "", "400000000000000009", true);
  ASSERT_TRUE(settle(channel));
  EXPECT_EQ(replies_with(channel, "from another bot"), 0u);
  // The connection is on the channels API.
  auto list = node_->admin("GET", "/api/v1/container/channels");
  ASSERT_TRUE(list.ok());
  EXPECT_NE(list->body.find(R"("id":"discord/gw")"), std::string::npos) << list->body;
  EXPECT_NE(list->body.find(R"("mode":"gateway")"), std::string::npos) << list->body;
  EXPECT_NE(list->body.find(R"("state":"ready")"), std::string::npos) << list->body;
}

TEST_F(WebSocketChannels, AZombieConnectionIsDroppedAndResumedAndTheMissedMessageIsReplayedOnce) {
  const std::string channel = "500000000000000002";
  const int identifies = discord_->identifies();
  const int resumes = discord_->resumes();
  discord_->set_zombie(true);  // heartbeats go unanswered: the bot must give up on the socket
  const std::string text = "sent while the connection was a zombie";
  discord_->dispatch_message(message_id(), channel, text);
  ASSERT_TRUE(discord_->wait_for([&] { return discord_->resumes() > resumes; }, 20s)) << "no resume after the zombie";
  discord_->set_zombie(false);
  ASSERT_TRUE(wait_reply(channel, text));
  ASSERT_TRUE(settle(channel));
  EXPECT_EQ(replies_with(channel, text), 1u) << "answered more than once";
  EXPECT_EQ(discord_->identifies(), identifies) << "a zombie must resume, not identify";
  auto metrics = node_->admin("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  const auto line = metrics->body.find("squadbox_discord_gateway_reconnects_total{");
  ASSERT_NE(line, std::string::npos) << "no reconnects metric";
  EXPECT_NE(metrics->body.find(R"(reason="zombie")", line), std::string::npos) << "the zombie is not counted by reason";
}

TEST_F(WebSocketChannels, AReconnectRequestResumesAndAnInvalidSessionIdentifiesAfreshLosingNothing) {
  const std::string channel = "500000000000000002";
  // Op 7: Discord asks for a reconnect; the bot resumes on a new socket. A message
  // dispatched right after may reach the old socket or be replayed on the resume: either
  // way it is answered once.
  const int identifies = discord_->identifies();
  int resumes = discord_->resumes();
  discord_->reconnect_request();
  const std::string after_op7 = "right after op 7";
  discord_->dispatch_message(message_id(), channel, after_op7);
  ASSERT_TRUE(discord_->wait_for([&] { return discord_->resumes() > resumes; }, 20s)) << "op 7 did not resume";
  ASSERT_TRUE(discord_->wait_for([] { return discord_->ready(); }, 20s));
  ASSERT_TRUE(wait_reply(channel, after_op7));
  EXPECT_EQ(discord_->identifies(), identifies) << "op 7 must resume, not identify";
  // Op 9 with d=false: the session is gone; the bot waits 1-5 s and identifies afresh.
  resumes = discord_->resumes();
  discord_->invalid_session(false);
  ASSERT_TRUE(discord_->wait_for([&] { return discord_->identifies() > identifies; }, 20s))
      << "op 9 (not resumable) did not identify";
  ASSERT_TRUE(discord_->wait_for([] { return discord_->ready(); }, 20s));
  const std::string after_op9 = "after a new session";
  discord_->dispatch_message(message_id(), channel, after_op9);
  ASSERT_TRUE(wait_reply(channel, after_op9));
  ASSERT_TRUE(settle(channel));
  EXPECT_EQ(replies_with(channel, after_op7), 1u);
  EXPECT_EQ(replies_with(channel, after_op9), 1u);
}

TEST_F(WebSocketChannels, ABurstOfAThousandEventsIsStoredOnceEachInOrder) {
  // An unmapped DM: stored, then dropped by the default policy; no agent turns.
  const std::string chat = "dc:500000000000000009";
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const auto id = message_id();
    discord_->dispatch_message(id, chat.substr(3), "burst " + std::to_string(i));
    expected += (expected.empty() ? "" : ",") + id;
  }
  const std::string count_sql = "SELECT count(*) FROM inbound_messages WHERE chat_jid = '" + chat + "'";
  ASSERT_TRUE(discord_->wait_for([&] { return node_->query(count_sql) == "1000"; }, 30s))
      << node_->query(count_sql) << " of 1000 stored";
  std::string stored;
  for (const auto& id :
       node_->query_all("SELECT platform_message_id FROM inbound_messages WHERE chat_jid = '" + chat + "' ORDER BY id"))
    stored += (stored.empty() ? "" : ",") + id;
  EXPECT_EQ(stored, expected) << "not stored in the order Discord sent them";
}

TEST_F(WebSocketChannels, AfterAKillDashNineTheRestartedBrokerResumesAndAnswersEachMessageOnce) {
  const std::string channel = "500000000000000003";
  const int identifies = discord_->identifies();
  const int resumes = discord_->resumes();
  const std::string session = discord_->session_id();
  // Sent just before the kill: some are received and committed, some received and not
  // committed, some not read at all when SIGKILL lands.
  std::vector<std::string> texts;
  for (int i = 0; i < 10; ++i) {
    texts.push_back("in flight " + std::to_string(i));
    discord_->dispatch_message(message_id(), channel, texts.back());
  }
  node_->kill();
  // Sent while the broker is down: Discord keeps the session and replays them on resume.
  for (int i = 0; i < 3; ++i) {
    texts.push_back("while down " + std::to_string(i));
    discord_->dispatch_message(message_id(), channel, texts.back());
  }
  ASSERT_EQ(node_->start(), "");
  ASSERT_TRUE(discord_->wait_for([&] { return discord_->resumes() > resumes; }, 30s)) << "the restart did not resume";
  EXPECT_EQ(discord_->session_id(), session);
  for (const auto& t : texts) ASSERT_TRUE(wait_reply(channel, t)) << t;
  ASSERT_TRUE(settle(channel));
  for (const auto& t : texts) EXPECT_EQ(replies_with(channel, t), 1u) << t;
  EXPECT_EQ(discord_->identifies(), identifies) << "a restart within the resume window must not identify";
}

TEST_F(WebSocketChannels, ABadTokenStopsTheBotWithoutAReconnectLoopAndShowsOnTheApi) {
  const std::string entry = node_->wait_connection_fatal("discord/gwbad", 20s);
  ASSERT_NE(entry.find(R"("fatal":true)"), std::string::npos) << entry;
  // Only the good bot's calls reached /gateway/bot: the bad one asked once (401) and stopped.
  size_t bad_calls = 0;
  for (const auto& r : discord_->server().http_requests())
    bad_calls += r.target == "/api/v10/gateway/bot" && r.header("authorization").value_or("") == "Bot not-the-token";
  // An absence has no event to wait for: watch for three of the good bot's heartbeats
  // (one a second), long enough for a reconnect loop's next /gateway/bot call.
  const int beats = discord_->heartbeats();
  ASSERT_TRUE(discord_->wait_for([&] { return discord_->heartbeats() >= beats + 3; }, 20s));
  size_t later = 0;
  for (const auto& r : discord_->server().http_requests())
    later += r.target == "/api/v10/gateway/bot" && r.header("authorization").value_or("") == "Bot not-the-token";
  EXPECT_GE(bad_calls, 1u);
  EXPECT_EQ(later, bad_calls) << "the stopped bot kept calling";
  // /readyz stays 200 (the node serves its other bots) but says it is degraded and why.
  auto ready = node_->admin("GET", "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_NE(ready->body.find(R"("degraded":true)"), std::string::npos) << ready->body;
  auto at = ready->body.find(R"("bot":"discord/gwbad")");
  ASSERT_NE(at, std::string::npos) << ready->body;
  EXPECT_NE(ready->body.find(R"("fatal":true)", at), std::string::npos) << ready->body;
}

TEST_F(WebSocketChannels, AnIdentifyRefusedWith4004StopsTheBotWithoutAReconnectLoop) {
  // gwrevoked's token passes /gateway/bot but Discord closes its identify with 4004.
  const std::string entry = node_->wait_connection_fatal("discord/gwrevoked", 20s);
  ASSERT_NE(entry.find(R"("fatal":true)"), std::string::npos) << entry;
  EXPECT_NE(entry.find("4004"), std::string::npos) << entry;
  // One refused identify per start of the node (the kill -9 test restarts it once).
  const int refused = discord_->refused_identifies();
  EXPECT_GE(refused, 1);
  EXPECT_LE(refused, 2) << "identified again after 4004";
  const int beats = discord_->heartbeats();
  ASSERT_TRUE(discord_->wait_for([&] { return discord_->heartbeats() >= beats + 2; }, 20s));
  EXPECT_EQ(discord_->refused_identifies(), refused) << "the stopped bot kept identifying";
}

// Last: it stops the suite's good bot for good.
TEST_F(WebSocketChannels, DisallowedIntentsStopTheBotForGoodInsteadOfReconnecting) {
  const int identifies = discord_->identifies();
  const int resumes = discord_->resumes();
  discord_->close_current(4014);
  const std::string entry = node_->wait_connection_fatal("discord/gw", 20s);
  ASSERT_NE(entry.find(R"("fatal":true)"), std::string::npos) << entry;
  EXPECT_NE(entry.find("4014"), std::string::npos) << "the detail names the close code: " << entry;
  // No reconnect: nothing identifies or resumes during the next second and a half (the
  // shortest reconnect backoff is under a second).
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(discord_->identifies(), identifies);
  EXPECT_EQ(discord_->resumes(), resumes);
  auto metrics = node_->admin("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("disallowed_intents"), std::string::npos) << "no metric names the reason";
}

}  // namespace
