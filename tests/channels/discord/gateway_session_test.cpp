// The Discord Gateway session state machine, driven frame by frame with a fake clock and
// a scripted random source: handshakes, heartbeats and zombies, op 7/9, every close-code
// class, fatal stops, resume across a restart, the identify budget, and the committed
// watermark that RESUME sends.
#include "channels/discord/gateway_session.hpp"

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace sb::channels::discord {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kGwToken = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
constexpr std::string_view kGwUrl = "wss://gateway.discord.gg";
constexpr std::string_view kGwResumeUrl = "wss://gateway-us-east1-b.discord.gg";
constexpr std::string_view kGwSession = "9452ba70a0be4de71c1d7e175b6f29bc";
constexpr std::string_view kGwBotUser = "100000000000000001";

GatewayConfig gw_config() {
  GatewayConfig c;
  c.bot_name = "support";
  c.token = Secret(std::string(kGwToken));
  return c;
}

std::string gw_bot_body(std::int64_t remaining = 999, std::int64_t reset_after = 14400000) {
  return R"({"url":"wss://gateway.discord.gg/","shards":1,"session_start_limit":{"total":1000,"remaining":)" +
         std::to_string(remaining) + R"(,"reset_after":)" + std::to_string(reset_after) + R"(,"max_concurrency":1}})";
}

std::string gw_hello(std::int64_t interval = 45000) {
  return R"({"op":10,"d":{"heartbeat_interval":)" + std::to_string(interval) + "}}";
}

std::string gw_ready(std::int64_t seq = 1, std::string_view session = kGwSession) {
  return R"({"op":0,"s":)" + std::to_string(seq) + R"(,"t":"READY","d":{"v":10,"user":{"id":")" +
         std::string(kGwBotUser) + R"(","username":"gwbot","bot":true},"guilds":[],"session_id":")" +
         std::string(session) + R"(","resume_gateway_url":")" + std::string(kGwResumeUrl) + R"(/"}})";
}

std::string gw_dispatch(std::int64_t seq, std::string_view event, std::string_view d = "{}") {
  return R"({"op":0,"s":)" + std::to_string(seq) + R"(,"t":")" + std::string(event) + R"(","d":)" + std::string(d) +
         "}";
}

// A MESSAGE_CREATE from a user in a guild; the message id grows with the sequence number.
std::string gw_message(std::int64_t seq, std::string_view author = "53908099506183680") {
  const std::string id = std::to_string(334385199974967042LL + seq);
  return gw_dispatch(seq, "MESSAGE_CREATE",
                     R"({"id":")" + id + R"(","channel_id":"290926798999357250","guild_id":"290926798626357999",)" +
                         R"("author":{"id":")" + std::string(author) +
                         R"(","username":"mason"},"content":"hello","timestamp":"2017-07-11T17:27:07.299000+00:00",)" +
                         R"("type":0,"mentions":[]})");
}

template <class T>
std::vector<T> gw_all(const GatewayEffects& effects) {
  std::vector<T> out;
  for (const auto& e : effects)
    if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
  return out;
}

template <class T>
bool gw_has(const GatewayEffects& effects) {
  return !gw_all<T>(effects).empty();
}

// The op of every Send, in order.
std::vector<std::int64_t> gw_ops(const GatewayEffects& effects) {
  std::vector<std::int64_t> ops;
  for (const auto& s : gw_all<Send>(effects)) {
    rapidjson::Document doc;
    doc.Parse(s.text.c_str());
    ops.push_back(doc["op"].GetInt64());
  }
  return ops;
}

// The one Send with this op, parsed.
std::unique_ptr<rapidjson::Document> gw_sent(const GatewayEffects& effects, std::int64_t op) {
  for (const auto& s : gw_all<Send>(effects)) {
    auto doc = std::make_unique<rapidjson::Document>();
    doc->Parse(s.text.c_str());
    if ((*doc)["op"].GetInt64() == op) return doc;
  }
  return nullptr;
}

bool gw_logged(const GatewayEffects& effects, std::string_view event) {
  for (const auto& l : gw_all<Log>(effects))
    if (l.event == event) return true;
  return false;
}

// Feeds a session and plays the shell: remembers the armed timers (with their tokens and
// due times), the latest Persist, and every effect.
class GwDriver {
 public:
  explicit GwDriver(GatewayConfig config = gw_config()) {
    config.random01 = [this] {
      if (randoms.empty()) return default_random;
      const double r = randoms.front();
      randoms.pop_front();
      return r;
    };
    session_ = std::make_unique<GatewaySession>(std::move(config));
  }
  GwDriver(const GwDriver&) = delete;
  GwDriver& operator=(const GwDriver&) = delete;

  GatewaySession& s() { return *session_; }

  const GatewayEffects& take(GatewayEffects effects) {
    for (const auto& e : effects) {
      if (const auto* t = std::get_if<StartTimer>(&e)) timers_[t->kind] = {t->token, now + t->delay, t->delay};
      if (const auto* t = std::get_if<CancelTimer>(&e)) timers_.erase(t->kind);
      if (const auto* p = std::get_if<Persist>(&e)) persisted = p->state;
      all.push_back(e);
    }
    last = std::move(effects);
    return last;
  }

  const GatewayEffects& start() { return take(s().start(now)); }
  const GatewayEffects& gateway_bot(int status, std::string_view body) {
    return take(s().on_gateway_bot(now, status, body));
  }
  const GatewayEffects& open() { return take(s().on_open(now)); }
  const GatewayEffects& text(std::string_view frame) { return take(s().on_text(now, frame)); }
  const GatewayEffects& closed(std::optional<std::uint16_t> code, bool clean = true) {
    return take(s().on_closed(now, code, clean));
  }
  const GatewayEffects& commit(CommitTicket ticket) { return take(s().on_committed(now, ticket)); }
  const GatewayEffects& stop() { return take(s().stop(now)); }

  bool armed(TimerKind kind) const { return timers_.count(kind) > 0; }
  milliseconds delay(TimerKind kind) const { return timers_.at(kind).delay; }
  std::uint64_t token(TimerKind kind) const { return timers_.at(kind).token; }
  // Advances the clock to the timer's due time (if later) and fires it.
  const GatewayEffects& fire(TimerKind kind) {
    EXPECT_TRUE(armed(kind)) << timer_name(kind);
    if (!armed(kind)) return take({});
    const Armed a = timers_.at(kind);
    timers_.erase(kind);
    if (a.due > now) now = a.due;
    return take(s().on_timer(now, kind, a.token));
  }

  // Fetch, connect, hello, identify, READY (seq 1).
  void to_ready(std::int64_t interval = 45000) {
    start();
    ASSERT_TRUE(gw_has<FetchGatewayBot>(last));
    gateway_bot(200, gw_bot_body());
    ASSERT_TRUE(gw_has<Connect>(last));
    open();
    text(gw_hello(interval));
    ASSERT_EQ(gw_ops(last), std::vector<std::int64_t>{2});
    text(gw_ready());
    ASSERT_EQ(s().state(), GatewayState::ready);
  }

  // After a reconnect timer is armed: fire it, open, hello. Returns the hello's effects.
  const GatewayEffects& reconnect_and_hello() {
    fire(TimerKind::reconnect);
    open();
    return text(gw_hello());
  }

  GatewayTime now{};
  std::deque<double> randoms;
  double default_random = 0.5;
  GatewayEffects last;
  std::vector<GatewayEffect> all;
  std::optional<GatewayPersisted> persisted;

 private:
  struct Armed {
    std::uint64_t token;
    GatewayTime due;
    milliseconds delay;
  };
  std::unique_ptr<GatewaySession> session_;
  std::map<TimerKind, Armed> timers_;
};

// ---- handshake and heartbeats -------------------------------------------------------

TEST(DiscordGatewaySession, FetchConnectHelloIdentifyReady) {
  GwDriver d;
  EXPECT_EQ(d.s().state(), GatewayState::idle);
  d.start();
  EXPECT_EQ(d.last.size(), 1u);
  EXPECT_TRUE(gw_has<FetchGatewayBot>(d.last));
  EXPECT_EQ(d.s().state(), GatewayState::fetching);

  d.gateway_bot(200, gw_bot_body(999));
  auto connects = gw_all<Connect>(d.last);
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].url, "wss://gateway.discord.gg/?v=10&encoding=json");
  ASSERT_TRUE(d.armed(TimerKind::hello_timeout));
  EXPECT_EQ(d.delay(TimerKind::hello_timeout), 60s);
  EXPECT_EQ(d.s().state(), GatewayState::connecting);
  EXPECT_EQ(d.s().identifies_left(), 999);

  d.open();
  EXPECT_EQ(d.s().state(), GatewayState::awaiting_hello);
  d.randoms = {0.25};
  d.text(gw_hello(45000));
  EXPECT_FALSE(d.armed(TimerKind::hello_timeout));
  ASSERT_TRUE(d.armed(TimerKind::heartbeat));
  EXPECT_EQ(d.delay(TimerKind::heartbeat), 11250ms);  // interval * jitter
  EXPECT_EQ(d.delay(TimerKind::ready_timeout), 15s);
  auto identify = gw_sent(d.last, 2);
  ASSERT_NE(identify, nullptr);
  EXPECT_EQ(std::string((*identify)["d"]["token"].GetString()), kGwToken);
  EXPECT_EQ((*identify)["d"]["intents"].GetInt64(), 37377);
  EXPECT_EQ(std::string((*identify)["d"]["properties"]["os"].GetString()), "linux");
  EXPECT_EQ(std::string((*identify)["d"]["properties"]["browser"].GetString()), "squadbox");
  EXPECT_EQ(std::string((*identify)["d"]["properties"]["device"].GetString()), "squadbox");
  EXPECT_EQ(d.s().state(), GatewayState::identifying);
  EXPECT_EQ(d.s().counters().identifies, 1u);
  EXPECT_EQ(d.s().identifies_left(), 998);

  d.text(gw_ready(1));
  EXPECT_EQ(d.s().state(), GatewayState::ready);
  EXPECT_FALSE(d.armed(TimerKind::ready_timeout));
  EXPECT_TRUE(d.s().has_session());
  EXPECT_EQ(d.s().identity(), (GatewayIdentity{"support", std::string(kGwBotUser), "gwbot"}));
  auto persists = gw_all<Persist>(d.last);
  ASSERT_EQ(persists.size(), 1u);
  EXPECT_EQ(persists[0].state, (GatewayPersisted{std::string(kGwSession), std::string(kGwResumeUrl) + "/", 1,
                                                 std::string(kGwBotUser), "gwbot"}));
  EXPECT_EQ(d.s().committed_seq(), 1);
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_ready"));
}

TEST(DiscordGatewaySession, HeartbeatCadenceAckAndRtt) {
  GwDriver d;
  d.randoms = {0.5};
  d.to_ready(45000);
  const GatewayTime t0 = d.now;
  d.fire(TimerKind::heartbeat);
  EXPECT_EQ(d.now - t0, 22500ms);
  auto beat = gw_sent(d.last, 1);
  ASSERT_NE(beat, nullptr);
  EXPECT_EQ((*beat)["d"].GetInt64(), 1);  // the last seq received (READY)
  EXPECT_EQ(d.delay(TimerKind::heartbeat), 45000ms);
  d.now += 120ms;
  d.text(R"({"op":11})");
  EXPECT_EQ(d.s().last_heartbeat_rtt(), 120ms);
  EXPECT_EQ(d.s().counters().acks, 1u);
  d.fire(TimerKind::heartbeat);
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{1});
  EXPECT_FALSE(gw_has<DropSocket>(d.last));
  EXPECT_EQ(d.s().counters().heartbeats, 2u);
}

TEST(DiscordGatewaySession, HeartbeatCarriesLastReceivedSeqNotCommitted) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2));  // waits for its commit
  d.text(gw_dispatch(3, "GUILD_CREATE"));
  d.text(gw_dispatch(4, "TYPING_START"));
  EXPECT_EQ(d.s().received_seq(), 4);
  EXPECT_EQ(d.s().committed_seq(), 1);
  d.fire(TimerKind::heartbeat);
  auto beat = gw_sent(d.last, 1);
  ASSERT_NE(beat, nullptr);
  EXPECT_EQ((*beat)["d"].GetInt64(), 4);
}

TEST(DiscordGatewaySession, HeartbeatBeforeAnyDispatchSendsNull) {
  GwDriver d;
  d.start();
  d.gateway_bot(200, gw_bot_body());
  d.open();
  d.text(gw_hello());
  d.fire(TimerKind::heartbeat);
  auto beat = gw_sent(d.last, 1);
  ASSERT_NE(beat, nullptr);
  EXPECT_TRUE((*beat)["d"].IsNull());
}

TEST(DiscordGatewaySession, ServerHeartbeatRequestIsAnsweredAtOnceWithoutZombieCheck) {
  GwDriver d;
  d.to_ready();
  d.fire(TimerKind::heartbeat);  // not ACKed yet
  const auto armed_token = d.token(TimerKind::heartbeat);
  d.text(R"({"op":1,"d":null})");
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{1});
  EXPECT_FALSE(gw_has<DropSocket>(d.last));
  EXPECT_EQ(d.token(TimerKind::heartbeat), armed_token);  // the cadence is unchanged
  d.text(R"({"op":11})");
  d.fire(TimerKind::heartbeat);
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{1});
  EXPECT_EQ(d.s().counters().zombies, 0u);
}

TEST(DiscordGatewaySession, ZombieDropsAndResumesWithTheCommittedSeq) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2));  // not committed
  d.text(gw_dispatch(3, "GUILD_CREATE"));
  d.fire(TimerKind::heartbeat);
  d.fire(TimerKind::heartbeat);  // no op 11 since the last beat
  EXPECT_TRUE(gw_has<DropSocket>(d.last));
  EXPECT_FALSE(gw_has<CloseSocket>(d.last));
  EXPECT_FALSE(gw_has<Send>(d.last));
  EXPECT_EQ(d.s().counters().zombies, 1u);
  EXPECT_EQ(d.s().counters().reconnects[static_cast<std::size_t>(ReconnectReason::zombie)], 1u);
  EXPECT_EQ(d.s().state(), GatewayState::backing_off);
  EXPECT_FALSE(d.armed(TimerKind::heartbeat));
  EXPECT_FALSE(d.armed(TimerKind::ready_timeout));

  d.fire(TimerKind::reconnect);
  auto connects = gw_all<Connect>(d.last);
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].url, "wss://gateway-us-east1-b.discord.gg/?v=10&encoding=json");
  d.open();
  d.text(gw_hello());
  auto resume = gw_sent(d.last, 6);
  ASSERT_NE(resume, nullptr);
  EXPECT_EQ(std::string((*resume)["d"]["token"].GetString()), kGwToken);
  EXPECT_EQ(std::string((*resume)["d"]["session_id"].GetString()), kGwSession);
  EXPECT_EQ((*resume)["d"]["seq"].GetInt64(), 1);  // 2 is not durable yet, 3 was received
  EXPECT_EQ(d.s().state(), GatewayState::resuming);
  d.text(gw_dispatch(4, "RESUMED"));
  EXPECT_EQ(d.s().state(), GatewayState::ready);
  EXPECT_EQ(d.s().counters().resumed, 1u);
  EXPECT_EQ(d.s().counters().identifies, 1u);  // never identified again
}

TEST(DiscordGatewaySession, NewHelloResetsTheAckFlag) {
  GwDriver d;
  d.to_ready();
  d.fire(TimerKind::heartbeat);  // un-ACKed when the server asks to reconnect
  d.text(R"({"op":7,"d":null})");
  d.reconnect_and_hello();
  d.fire(TimerKind::heartbeat);  // the new socket's first beat is not a zombie check
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{1});
  EXPECT_FALSE(gw_has<DropSocket>(d.last));
}

// ---- op 7 and op 9 --------------------------------------------------------------------

TEST(DiscordGatewaySession, ServerReconnectClosesResumablyAndResumes) {
  GwDriver d;
  d.to_ready();
  d.text(R"({"op":7,"d":null})");
  auto closes = gw_all<CloseSocket>(d.last);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].code, kResumableCloseCode);
  EXPECT_NE(closes[0].code, 1000);
  EXPECT_NE(closes[0].code, 1001);
  EXPECT_EQ(d.s().counters().reconnects[static_cast<std::size_t>(ReconnectReason::server_reconnect)], 1u);
  d.reconnect_and_hello();
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{6});
}

TEST(DiscordGatewaySession, InvalidSessionResumableResumes) {
  GwDriver d;
  d.to_ready();
  d.text(R"({"op":9,"d":true})");
  EXPECT_TRUE(gw_has<CloseSocket>(d.last));
  EXPECT_TRUE(d.s().has_session());
  d.reconnect_and_hello();
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{6});
}

TEST(DiscordGatewaySession, InvalidSessionNotResumableIdentifiesAfterARandomWait) {
  GwDriver d;
  d.to_ready();
  d.now += 10s;
  d.randoms = {0.5 /* wait 1 s + 0.5 * 4 s */, 0.0 /* backoff jitter */};
  d.text(R"({"op":9,"d":false})");
  EXPECT_TRUE(gw_has<CloseSocket>(d.last));
  EXPECT_FALSE(d.s().has_session());
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_gap_possible"));
  ASSERT_TRUE(d.persisted.has_value());
  EXPECT_EQ(d.persisted->session_id, "");
  EXPECT_EQ(d.delay(TimerKind::reconnect), 3000ms);
  d.fire(TimerKind::reconnect);
  auto connects = gw_all<Connect>(d.last);
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].url, "wss://gateway.discord.gg/?v=10&encoding=json");  // the cached URL, not resume's
  d.open();
  d.text(gw_hello());
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{2});
  d.text(gw_ready(1, "newsession"));
  EXPECT_EQ(d.persisted->session_id, "newsession");
  EXPECT_EQ(d.s().counters().identifies, 2u);
}

TEST(DiscordGatewaySession, InvalidSessionWaitIsAtLeastOneSecond) {
  GwDriver d;
  d.to_ready();
  d.now += 10s;
  d.randoms = {0.0, 0.0};
  d.text(R"({"op":9,"d":false})");
  EXPECT_EQ(d.delay(TimerKind::reconnect), 1000ms);
}

// ---- close codes ----------------------------------------------------------------------

class DiscordGatewayResumeCloses : public ::testing::TestWithParam<std::optional<std::uint16_t>> {};

TEST_P(DiscordGatewayResumeCloses, KeepTheSessionAndResume) {
  GwDriver d;
  d.to_ready();
  d.closed(GetParam(), GetParam().has_value());
  EXPECT_FALSE(gw_has<CloseSocket>(d.last));  // it is closed already
  EXPECT_FALSE(gw_has<DropSocket>(d.last));
  EXPECT_FALSE(gw_has<Fatal>(d.last));
  EXPECT_FALSE(gw_has<Persist>(d.last));
  EXPECT_TRUE(d.s().has_session());
  EXPECT_EQ(d.s().state(), GatewayState::backing_off);
  EXPECT_EQ(d.s().counters().reconnects[static_cast<std::size_t>(ReconnectReason::closed)], 1u);
  d.fire(TimerKind::reconnect);
  ASSERT_EQ(gw_all<Connect>(d.last).size(), 1u);
  EXPECT_EQ(gw_all<Connect>(d.last)[0].url, "wss://gateway-us-east1-b.discord.gg/?v=10&encoding=json");
  d.open();
  d.text(gw_hello());
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{6});
}

INSTANTIATE_TEST_SUITE_P(Codes, DiscordGatewayResumeCloses,
                         ::testing::Values(std::nullopt, std::optional<std::uint16_t>(1006),
                                           std::optional<std::uint16_t>(4000), std::optional<std::uint16_t>(4001),
                                           std::optional<std::uint16_t>(4002), std::optional<std::uint16_t>(4008),
                                           std::optional<std::uint16_t>(1000), std::optional<std::uint16_t>(1001),
                                           std::optional<std::uint16_t>(4999)));

class DiscordGatewayIdentifyCloses : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(DiscordGatewayIdentifyCloses, StartANewSession) {
  GwDriver d;
  d.to_ready();
  d.now += 10s;
  d.closed(GetParam());
  EXPECT_FALSE(d.s().has_session());
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_gap_possible"));
  ASSERT_TRUE(d.persisted.has_value());
  EXPECT_EQ(d.persisted->session_id, "");
  d.fire(TimerKind::reconnect);
  ASSERT_EQ(gw_all<Connect>(d.last).size(), 1u);
  EXPECT_EQ(gw_all<Connect>(d.last)[0].url, "wss://gateway.discord.gg/?v=10&encoding=json");
  d.open();
  d.text(gw_hello());
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{2});
}

INSTANTIATE_TEST_SUITE_P(Codes, DiscordGatewayIdentifyCloses, ::testing::Values(4003, 4005, 4007, 4009));

class DiscordGatewayFatalCloses : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(DiscordGatewayFatalCloses, StopWithoutAReconnectLoop) {
  GwDriver d;
  d.to_ready();
  const std::size_t before = d.all.size();
  d.closed(GetParam());
  auto fatals = gw_all<Fatal>(d.last);
  ASSERT_EQ(fatals.size(), 1u);
  EXPECT_EQ(fatals[0].close_code, GetParam());
  EXPECT_FALSE(fatals[0].code.empty());
  EXPECT_EQ(d.s().state(), GatewayState::stopped_fatal);
  EXPECT_FALSE(d.armed(TimerKind::reconnect));
  EXPECT_FALSE(d.armed(TimerKind::heartbeat));
  // Nothing the shell could still deliver brings a connection back.
  d.start();
  d.open();
  d.text(gw_hello());
  d.closed(std::nullopt);
  d.stop();
  for (std::size_t i = before; i < d.all.size(); ++i) {
    EXPECT_FALSE(std::holds_alternative<Connect>(d.all[i]));
    EXPECT_FALSE(std::holds_alternative<FetchGatewayBot>(d.all[i]));
    EXPECT_FALSE(std::holds_alternative<Send>(d.all[i]));
    if (const auto* t = std::get_if<StartTimer>(&d.all[i])) ADD_FAILURE() << timer_name(t->kind);
  }
}

INSTANTIATE_TEST_SUITE_P(Codes, DiscordGatewayFatalCloses, ::testing::Values(4004, 4010, 4011, 4012, 4013, 4014));

TEST(DiscordGatewaySession, AuthFailedAndDisallowedIntentsExplainThemselves) {
  GwDriver auth;
  auth.to_ready();
  auth.closed(4004);
  auto f = gw_all<Fatal>(auth.last).at(0);
  EXPECT_EQ(f.code, "discord.auth_failed");
  EXPECT_NE(f.reason.find("token"), std::string::npos);
  EXPECT_EQ(auth.persisted->session_id, "");  // the token's sessions are gone

  GwDriver intents;
  intents.start();
  intents.gateway_bot(200, gw_bot_body());
  intents.open();
  intents.text(gw_hello());
  intents.closed(4014);
  auto g = gw_all<Fatal>(intents.last).at(0);
  EXPECT_EQ(g.code, "discord.disallowed_intents");
  EXPECT_NE(g.reason.find("enable the Message Content intent in the Developer Portal"), std::string::npos) << g.reason;
}

TEST(DiscordGatewaySession, GatewayBot401IsFatal) {
  GwDriver d;
  d.start();
  d.gateway_bot(401, R"({"message":"401: Unauthorized","code":0})");
  auto fatals = gw_all<Fatal>(d.last);
  ASSERT_EQ(fatals.size(), 1u);
  EXPECT_EQ(fatals[0].close_code, std::nullopt);
  EXPECT_EQ(fatals[0].code, "discord.auth_failed");
  EXPECT_FALSE(gw_has<StartTimer>(d.last));
  EXPECT_EQ(d.s().state(), GatewayState::stopped_fatal);
}

TEST(DiscordGatewaySession, GatewayBotFailuresRetryWithBackoff) {
  GwDriver d;
  d.randoms = {0.0, 0.0, 0.0};
  d.start();
  d.gateway_bot(502, "bad gateway");
  EXPECT_EQ(d.delay(TimerKind::reconnect), 500ms);
  d.fire(TimerKind::reconnect);
  EXPECT_TRUE(gw_has<FetchGatewayBot>(d.last));
  d.take(d.s().on_gateway_bot_failed(d.now, make_error("http.timeout", "timed out")));
  EXPECT_EQ(d.delay(TimerKind::reconnect), 1000ms);
  d.fire(TimerKind::reconnect);
  EXPECT_TRUE(gw_has<FetchGatewayBot>(d.last));
  d.gateway_bot(200, R"({"url":"http://plain.example"})");  // not wss://
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_bot_bad_answer"));
  EXPECT_EQ(d.delay(TimerKind::reconnect), 2000ms);
  d.fire(TimerKind::reconnect);
  d.gateway_bot(200, gw_bot_body());
  EXPECT_TRUE(gw_has<Connect>(d.last));
  EXPECT_EQ(d.s().counters().reconnects[static_cast<std::size_t>(ReconnectReason::gateway_bot_failed)], 3u);
}

TEST(DiscordGatewaySession, HelloAndReadyTimeouts) {
  GwDriver d;
  d.start();
  d.gateway_bot(200, gw_bot_body());
  d.fire(TimerKind::hello_timeout);  // the connect itself hangs
  EXPECT_TRUE(gw_has<DropSocket>(d.last));
  EXPECT_EQ(d.s().counters().reconnects[static_cast<std::size_t>(ReconnectReason::hello_timeout)], 1u);
  d.now += 10s;
  d.fire(TimerKind::reconnect);
  d.open();
  d.text(gw_hello());
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{2});
  d.fire(TimerKind::ready_timeout);
  EXPECT_TRUE(gw_has<CloseSocket>(d.last));
  EXPECT_EQ(d.s().counters().reconnects[static_cast<std::size_t>(ReconnectReason::ready_timeout)], 1u);
}

TEST(DiscordGatewaySession, ConnectFailuresToTheCachedUrlRefetchIt) {
  GwDriver d;
  d.start();
  d.gateway_bot(200, gw_bot_body());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(gw_has<Connect>(d.last)) << i;
    d.closed(std::nullopt, false);  // TCP or TLS failed
    EXPECT_EQ(d.s().counters().reconnects[static_cast<std::size_t>(ReconnectReason::connect_failed)],
              static_cast<std::uint64_t>(i + 1));
    d.fire(TimerKind::reconnect);
  }
  EXPECT_TRUE(gw_has<FetchGatewayBot>(d.last));
  EXPECT_FALSE(gw_has<Connect>(d.last));
}

TEST(DiscordGatewaySession, BackoffGrowsAndResetsAfterAStableSession) {
  GwDriver d;
  d.default_random = 0.0;  // equal jitter's lower bound: half the backoff
  d.to_ready();
  d.now += 1s;
  d.closed(1006);
  EXPECT_EQ(d.delay(TimerKind::reconnect), 500ms);
  d.fire(TimerKind::reconnect);
  d.closed(1006, false);
  EXPECT_EQ(d.delay(TimerKind::reconnect), 1000ms);
  d.fire(TimerKind::reconnect);
  d.open();
  d.text(gw_hello());
  d.text(gw_dispatch(2, "RESUMED"));
  d.now += 5s;  // not stable yet
  d.closed(1006);
  EXPECT_EQ(d.delay(TimerKind::reconnect), 2000ms);
  d.fire(TimerKind::reconnect);
  d.open();
  d.text(gw_hello());
  d.text(gw_dispatch(3, "RESUMED"));
  d.now += 31s;
  d.closed(1006);
  EXPECT_EQ(d.delay(TimerKind::reconnect), 500ms);
}

TEST(DiscordGatewaySession, BackoffIsCapped) {
  GwDriver d;
  d.default_random = 0.999999;
  d.start();
  milliseconds longest{0};
  for (int i = 0; i < 12; ++i) {
    d.gateway_bot(503, "");
    longest = std::max(longest, d.delay(TimerKind::reconnect));
    EXPECT_LE(d.delay(TimerKind::reconnect), 60s);
    d.fire(TimerKind::reconnect);
  }
  EXPECT_GE(longest, 59s);
}

// ---- resume across a restart ----------------------------------------------------------

GatewayConfig gw_restart_config(std::int64_t committed = 41) {
  GatewayConfig c = gw_config();
  c.persisted =
      GatewayPersisted{std::string(kGwSession), std::string(kGwResumeUrl), committed, std::string(kGwBotUser), "gwbot"};
  return c;
}

TEST(DiscordGatewaySession, RestartResumesThePersistedSession) {
  GwDriver d(gw_restart_config(41));
  d.start();
  EXPECT_FALSE(gw_has<FetchGatewayBot>(d.last));
  ASSERT_EQ(gw_all<Connect>(d.last).size(), 1u);
  EXPECT_EQ(gw_all<Connect>(d.last)[0].url, "wss://gateway-us-east1-b.discord.gg/?v=10&encoding=json");
  d.open();
  d.text(gw_hello());
  auto resume = gw_sent(d.last, 6);
  ASSERT_NE(resume, nullptr);
  EXPECT_EQ((*resume)["d"]["seq"].GetInt64(), 41);
  // Replays, then RESUMED; the own user id came from storage, so its echo is ignored.
  d.text(gw_message(42));
  EXPECT_EQ(gw_all<Ingest>(d.last).size(), 1u);
  d.text(gw_message(43, kGwBotUser));
  EXPECT_FALSE(gw_has<Ingest>(d.last));
  d.text(gw_dispatch(44, "RESUMED"));
  EXPECT_EQ(d.s().state(), GatewayState::ready);
  d.commit({d.s().generation(), 42});
  EXPECT_EQ(d.persisted->committed_seq, 44);
  EXPECT_EQ(d.persisted->session_id, kGwSession);
  for (const auto& e : d.all)
    if (const auto* s = std::get_if<Send>(&e)) {
      EXPECT_EQ(s->text.find(R"("op":2)"), std::string::npos);
    }
}

TEST(DiscordGatewaySession, ResumeFailingTwiceFallsBackToIdentify) {
  GwDriver d(gw_restart_config());
  d.start();
  d.closed(1006, false);  // resume URL unreachable
  EXPECT_TRUE(d.s().has_session());
  d.fire(TimerKind::reconnect);
  d.open();
  d.text(gw_hello());
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{6});
  d.closed(1006, false);  // second resume failure
  EXPECT_FALSE(d.s().has_session());
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_gap_possible"));
  EXPECT_EQ(d.persisted->session_id, "");
  d.fire(TimerKind::reconnect);
  EXPECT_TRUE(gw_has<FetchGatewayBot>(d.last));  // nothing cached after a restart
  d.gateway_bot(200, gw_bot_body());
  d.open();
  d.text(gw_hello());
  EXPECT_EQ(gw_ops(d.last), std::vector<std::int64_t>{2});
}

TEST(DiscordGatewaySession, ResumedResetsTheFailureCount) {
  GwDriver d(gw_restart_config());
  d.start();
  d.closed(1006, false);
  d.reconnect_and_hello();
  d.text(gw_dispatch(42, "RESUMED"));
  d.closed(1006);
  d.fire(TimerKind::reconnect);
  d.closed(1006, false);  // one failure after a success
  EXPECT_TRUE(d.s().has_session());
}

TEST(DiscordGatewaySession, UnusablePersistedStateIdentifies) {
  GatewayConfig c = gw_config();
  c.persisted = GatewayPersisted{"abc", "http://not-wss", 5, "", ""};
  GwDriver d(std::move(c));
  d.start();
  EXPECT_TRUE(gw_has<FetchGatewayBot>(d.last));
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_persisted_unusable"));
}

// ---- identify budget ------------------------------------------------------------------

TEST(DiscordGatewaySession, ExhaustedIdentifyBudgetWaitsForResetAfter) {
  GwDriver d;
  d.start();
  d.gateway_bot(200, gw_bot_body(0, 3600000));
  EXPECT_FALSE(gw_has<Connect>(d.last));
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_identify_budget_exhausted"));
  EXPECT_EQ(d.delay(TimerKind::identify_wait), 3600000ms);
  EXPECT_EQ(d.s().state(), GatewayState::backing_off);
  d.fire(TimerKind::identify_wait);
  EXPECT_TRUE(gw_has<FetchGatewayBot>(d.last));  // fresh numbers first
  d.gateway_bot(200, gw_bot_body(1000));
  EXPECT_TRUE(gw_has<Connect>(d.last));
}

TEST(DiscordGatewaySession, IdentifiesAreSpacedFiveSecondsApart) {
  GwDriver d;
  d.default_random = 0.0;
  d.to_ready();
  d.closed(4003);  // needs a new session; the last identify was 0 s ago
  EXPECT_EQ(d.delay(TimerKind::reconnect), 500ms);
  d.fire(TimerKind::reconnect);
  EXPECT_FALSE(gw_has<Connect>(d.last));
  EXPECT_EQ(d.delay(TimerKind::identify_wait), 4500ms);
  d.fire(TimerKind::identify_wait);
  EXPECT_TRUE(gw_has<Connect>(d.last));
}

TEST(DiscordGatewaySession, IdentifyBudgetCountsDownAndRunsOut) {
  GwDriver d;
  d.start();
  d.gateway_bot(200, gw_bot_body(1, 600000));
  d.open();
  d.text(gw_hello());
  EXPECT_EQ(d.s().identifies_left(), 0);
  d.text(gw_ready());
  d.now += 10s;
  d.closed(4009);
  d.fire(TimerKind::reconnect);
  EXPECT_FALSE(gw_has<Connect>(d.last));
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_identify_budget_exhausted"));
  // 600 s after the fetch, minus the time spent since.
  EXPECT_EQ(d.delay(TimerKind::identify_wait), 600000ms - (d.now - GatewayTime{}));
}

// ---- the committed watermark -----------------------------------------------------------

TEST(DiscordGatewaySession, WatermarkWithInterleavedDispatchesAndOutOfOrderCommits) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2));
  auto ingests = gw_all<Ingest>(d.last);
  ASSERT_EQ(ingests.size(), 1u);
  EXPECT_EQ(ingests[0].ticket, (CommitTicket{d.s().generation(), 2}));
  ASSERT_EQ(ingests[0].delivery.messages.size(), 1u);
  EXPECT_EQ(ingests[0].delivery.messages[0].chat_jid, "dc:290926798999357250");
  EXPECT_EQ(ingests[0].delivery.messages[0].bot, "support");
  d.text(gw_dispatch(3, "GUILD_CREATE"));
  d.text(gw_message(4));
  d.text(gw_dispatch(5, "TYPING_START"));
  EXPECT_EQ(d.s().committed_seq(), 1);
  d.commit({d.s().generation(), 4});
  EXPECT_FALSE(gw_has<Persist>(d.last));
  EXPECT_EQ(d.s().committed_seq(), 1);
  d.commit({d.s().generation(), 2});
  EXPECT_EQ(d.s().committed_seq(), 5);
  ASSERT_EQ(gw_all<Persist>(d.last).size(), 1u);
  EXPECT_EQ(gw_all<Persist>(d.last)[0].state.committed_seq, 5);
  // A dispatch that needs nothing advances the watermark by itself.
  d.text(gw_dispatch(6, "CHANNEL_UPDATE"));
  EXPECT_EQ(d.s().committed_seq(), 6);
  // Duplicate and unknown commits change nothing.
  d.commit({d.s().generation(), 2});
  d.commit({d.s().generation(), 99});
  EXPECT_TRUE(d.last.empty());
}

TEST(DiscordGatewaySession, IgnoredAndUnparseableMessagesDoNotHoldTheWatermark) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2, "200000000000000002"));
  d.text(gw_dispatch(3, "MESSAGE_CREATE", R"({"id":"x"})"));
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_bad_message"));
  d.text(gw_message(4, kGwBotUser));  // own message
  EXPECT_FALSE(gw_has<Ingest>(d.last));
  d.text(
      gw_dispatch(5, "MESSAGE_CREATE",
                  R"({"id":"334385199974967047","channel_id":"1","guild_id":"2","author":{"id":"3"},"content":""})"));
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_empty_content"));
  d.commit({d.s().generation(), 2});
  EXPECT_EQ(d.s().committed_seq(), 5);
}

TEST(DiscordGatewaySession, LateCommitsFromThePreviousConnectionAdvanceTheWatermark) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2));
  const CommitTicket first = gw_all<Ingest>(d.last).at(0).ticket;
  d.text(gw_message(3));
  d.text(R"({"op":7,"d":null})");
  d.reconnect_and_hello();
  EXPECT_EQ((*gw_sent(d.last, 6))["d"]["seq"].GetInt64(), 1);
  // Discord replays 2 and 3; the replay of 2 is ingested again (deduplicated downstream).
  d.text(gw_message(2));
  EXPECT_EQ(gw_all<Ingest>(d.last).at(0).ticket, first);
  // The first connection's commits arrive late.
  d.commit(first);
  EXPECT_EQ(d.s().committed_seq(), 2);
  d.commit({first.generation, 3});
  EXPECT_EQ(d.s().committed_seq(), 3);
  // The rest of the replay is durable already: not ingested again.
  d.text(gw_message(3));
  EXPECT_FALSE(gw_has<Ingest>(d.last));
  d.text(gw_dispatch(4, "RESUMED"));
  EXPECT_EQ(d.s().committed_seq(), 4);
}

TEST(DiscordGatewaySession, CommitsOfAnAbandonedSessionAreIgnored) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2));
  const CommitTicket old = gw_all<Ingest>(d.last).at(0).ticket;
  d.now += 10s;
  d.text(R"({"op":9,"d":false})");
  d.reconnect_and_hello();
  d.text(gw_ready(1, "second"));
  d.text(gw_message(2));
  const CommitTicket fresh = gw_all<Ingest>(d.last).at(0).ticket;
  EXPECT_NE(fresh.generation, old.generation);
  d.commit(old);  // same seq number, other session
  EXPECT_EQ(d.s().committed_seq(), 1);
  EXPECT_FALSE(gw_has<Persist>(d.last));
  d.commit(fresh);
  EXPECT_EQ(d.s().committed_seq(), 2);
}

// ---- stop, timers, payloads, secrets ---------------------------------------------------

TEST(DiscordGatewaySession, StopClosesResumablyAndPersists) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2));
  const CommitTicket pending = gw_all<Ingest>(d.last).at(0).ticket;
  d.stop();
  auto closes = gw_all<CloseSocket>(d.last);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].code, kResumableCloseCode);
  EXPECT_TRUE(gw_has<Persist>(d.last));
  EXPECT_EQ(d.s().state(), GatewayState::stopped);
  EXPECT_FALSE(d.armed(TimerKind::heartbeat));
  // An ingest that finishes during shutdown still moves the watermark.
  d.commit(pending);
  ASSERT_TRUE(gw_has<Persist>(d.last));
  EXPECT_EQ(d.persisted->committed_seq, 2);
  EXPECT_EQ(d.persisted->session_id, kGwSession);
  d.closed(std::nullopt);
  EXPECT_TRUE(d.last.empty());
}

TEST(DiscordGatewaySession, StaleTimerTokensAreIgnored) {
  GwDriver d;
  d.to_ready();
  const std::uint64_t old_beat = d.token(TimerKind::heartbeat);
  d.text(R"({"op":7,"d":null})");
  d.reconnect_and_hello();
  EXPECT_TRUE(d.take(d.s().on_timer(d.now, TimerKind::heartbeat, old_beat)).empty());
  EXPECT_TRUE(d.take(d.s().on_timer(d.now, TimerKind::reconnect, 0)).empty());
}

TEST(DiscordGatewaySession, HostileFramesAreLoggedNotFatal) {
  GwDriver d;
  d.to_ready();
  for (std::string_view bad : {"not json", R"({"op":"x"})", R"({"op":42})", R"({"op":0,"s":2,"t":"MESSAGE_CREATE"})",
                               R"({"op":10,"d":{"heartbeat_interval":45000}})"}) {
    d.text(bad);
    EXPECT_FALSE(gw_has<Fatal>(d.last)) << bad;
    EXPECT_FALSE(gw_has<DropSocket>(d.last)) << bad;
    EXPECT_EQ(d.s().state(), GatewayState::ready) << bad;
  }
}

TEST(DiscordGatewaySession, BadHelloOrReadyReconnects) {
  GwDriver d;
  d.start();
  d.gateway_bot(200, gw_bot_body());
  d.open();
  d.text(R"({"op":10,"d":{"heartbeat_interval":0}})");
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_bad_hello"));
  EXPECT_TRUE(gw_has<CloseSocket>(d.last));
  d.now += 10s;
  d.reconnect_and_hello();
  d.text(R"({"op":0,"s":1,"t":"READY","d":{"session_id":"a b","user":{"id":"1"}}})");
  EXPECT_TRUE(gw_logged(d.last, "discord.gateway_bad_ready"));
  EXPECT_FALSE(d.s().has_session());
  EXPECT_EQ(d.s().state(), GatewayState::backing_off);
}

TEST(DiscordGatewaySession, PayloadsStayWithin4096Bytes) {
  GatewayConfig c = gw_restart_config();
  c.token = Secret(std::string(256, 'a'));
  c.properties = {std::string(128, 'o'), std::string(128, 'b'), std::string(128, 'd')};
  c.persisted->session_id = std::string(128, 's');
  c.persisted->committed_seq = INT64_MAX;
  ASSERT_TRUE(validate_config(c).ok());
  EXPECT_LE(identify_payload(c.token, known_intents_mask(), c.properties).size(), kMaxPayloadBytes);
  GwDriver d(std::move(c));
  d.start();
  d.open();
  d.text(gw_hello());
  ASSERT_EQ(gw_ops(d.last), std::vector<std::int64_t>{6});
  for (const auto& e : d.all)
    if (const auto* s = std::get_if<Send>(&e)) {
      EXPECT_LE(s->text.size(), kMaxPayloadBytes);
    }
}

TEST(DiscordGatewaySession, ValidateConfigRefusesBadValues) {
  EXPECT_TRUE(validate_config(gw_config()).ok());
  auto bad = [](auto change) {
    GatewayConfig c = gw_config();
    change(c);
    auto st = validate_config(c);
    EXPECT_FALSE(st.ok());
    return st.ok() ? std::string() : st.error().code + ": " + st.error().message;
  };
  EXPECT_EQ(bad([](GatewayConfig& c) { c.token = Secret(); }).rfind("channel.bad_value", 0), 0u);
  const std::string odd = bad([](GatewayConfig& c) { c.token = Secret("has space"); });
  EXPECT_EQ(odd.find("has space"), std::string::npos);  // never quoted
  bad([](GatewayConfig& c) { c.intents = 1 << 17; });
  bad([](GatewayConfig& c) { c.properties.os = std::string(129, 'x'); });
  bad([](GatewayConfig& c) { c.properties.browser = "a\nb"; });
  bad([](GatewayConfig& c) { c.hello_timeout = 0ms; });
  bad([](GatewayConfig& c) { c.invalid_session_wait_max = 500ms; });
  bad([](GatewayConfig& c) { c.max_resume_failures = 0; });
}

TEST(DiscordGatewaySession, TheTokenNeverAppearsInLogsOrFatals) {
  GwDriver d;
  d.to_ready();
  d.text(gw_message(2));
  d.text("garbage");
  d.now += 10s;
  d.text(R"({"op":9,"d":false})");
  d.reconnect_and_hello();  // identify
  d.text(gw_ready(1, "second"));
  d.closed(4008);
  d.fire(TimerKind::reconnect);
  d.closed(std::nullopt, false);
  d.fire(TimerKind::reconnect);
  d.open();
  d.text(gw_hello());  // resume
  d.closed(4004);
  ASSERT_TRUE(gw_has<Fatal>(d.last));
  std::size_t logs = 0;
  for (const auto& e : d.all) {
    if (const auto* l = std::get_if<Log>(&e)) {
      ++logs;
      EXPECT_EQ(l->event.find(kGwToken), std::string::npos);
      for (const auto& f : l->fields) EXPECT_EQ(f.value.find(kGwToken), std::string::npos) << l->event << " " << f.key;
    }
    if (const auto* f = std::get_if<Fatal>(&e)) {
      EXPECT_EQ(f->reason.find(kGwToken), std::string::npos);
    }
    if (const auto* p = std::get_if<Persist>(&e)) {
      EXPECT_EQ(p->state.session_id.find(kGwToken), std::string::npos);
    }
  }
  EXPECT_GT(logs, 10u);
}

TEST(DiscordGatewaySession, NamesForMetrics) {
  EXPECT_EQ(state_name(GatewayState::awaiting_hello), "awaiting_hello");
  EXPECT_EQ(state_name(GatewayState::stopped_fatal), "stopped_fatal");
  EXPECT_EQ(reason_name(ReconnectReason::server_reconnect), "server_reconnect");
  EXPECT_EQ(timer_name(TimerKind::identify_wait), "identify_wait");
  EXPECT_EQ(gateway_connect_url("wss://gateway.discord.gg/"), "wss://gateway.discord.gg/?v=10&encoding=json");
  EXPECT_EQ(gateway_connect_url("wss://gateway.discord.gg"), "wss://gateway.discord.gg/?v=10&encoding=json");
}

}  // namespace
}  // namespace sb::channels::discord
