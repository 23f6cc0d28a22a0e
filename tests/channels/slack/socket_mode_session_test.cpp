// Slack Socket Mode connection manager: hello gating, acknowledgement after commit on the
// delivering socket, redelivery after a failed commit, make-before-break refreshes,
// disconnects in every state, fatal errors, Retry-After, backoff with jitter, the
// two-socket cap (also under a long random walk), order under a burst.
#include "channels/slack/socket_mode_session.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sb::channels::slack::socket_mode {
namespace {

using std::chrono::milliseconds;
constexpr std::int64_t kSmNow = 1'700'000'000'000;
constexpr std::string_view kSmOpenOk = R"({"ok":true,"url":"wss://wss-primary.slack.com/link/?ticket=t1&app_id=A1"})";

template <class T>
std::vector<T> sm_all(const Effects& effects) {
  std::vector<T> out;
  for (const auto& e : effects)
    if (auto* t = std::get_if<T>(&e)) out.push_back(*t);
  return out;
}

template <class T>
std::size_t sm_count(const Effects& effects) {
  return sm_all<T>(effects).size();
}

bool sm_has_log(const Effects& effects, std::string_view event) {
  for (const auto& l : sm_all<Log>(effects))
    if (l.event == event) return true;
  return false;
}

std::string sm_hello(int num_connections = 1) {
  return R"({"type":"hello","num_connections":)" + std::to_string(num_connections) +
         R"(,"debug_info":{"approximate_connection_time":3600}})";
}

std::string sm_disconnect(std::string_view reason) {
  return R"({"type":"disconnect","reason":")" + std::string(reason) + R"(","debug_info":{"host":"wss-111.slack.com"}})";
}

// An events_api envelope with one channel message (or a bot's message when bot is set).
std::string sm_event(std::string_view envelope_id, std::string_view event_id, std::string_view text = "hello",
                     int retry_attempt = 0, bool bot = false) {
  return R"({"envelope_id":")" + std::string(envelope_id) +
         R"(","type":"events_api","accepts_response_payload":false,"retry_attempt":)" + std::to_string(retry_attempt) +
         R"(,"retry_reason":")" + (retry_attempt ? "timeout" : "") +
         R"(","payload":{"type":"event_callback","event_id":")" + std::string(event_id) +
         R"(","event":{"type":"message","text":")" + std::string(text) +
         R"(","user":"U222","ts":"1610241741.000200","channel":"C111","channel_type":"channel")" +
         (bot ? R"(,"bot_id":"B1")" : "") + "}}}";
}

std::string sm_ack(std::string_view envelope_id) {
  return R"({"envelope_id":")" + std::string(envelope_id) + R"("})";
}

Config sm_config() {
  Config c;
  c.bot = BotIdentity{"work", "U333"};
  return c;
}

class SocketModeSession : public ::testing::Test {
 protected:
  // Drives a fresh generation from OpenConnection to ready; returns it.
  Generation sm_connect(const Effects& opened) {
    auto opens = sm_all<OpenConnection>(opened);
    EXPECT_EQ(opens.size(), 1u);
    if (opens.empty()) return 0;
    Generation gen = opens[0].gen;
    Effects e = s.on_open_answer(gen, 200, std::nullopt, kSmOpenOk);
    EXPECT_EQ(sm_count<ConnectWs>(e), 1u);
    e = s.on_ws_open(gen);
    EXPECT_EQ(sm_count<StartTimer>(e), 1u);
    e = s.on_text(gen, sm_hello(static_cast<int>(s.connections().size())), kSmNow);
    EXPECT_EQ(s.state_of(gen), ConnState::ready);
    return gen;
  }
  // A connection ready for stable_after: its refreshes are routine.
  Generation sm_stable(const Effects& opened) {
    Generation gen = sm_connect(opened);
    (void)s.on_timer(TimerKind::stable, gen);
    return gen;
  }

  Session s{sm_config(), [] { return 1.0; }};
};

TEST_F(SocketModeSession, HelloGatesTheConnection) {
  Effects e = s.start();
  auto opens = sm_all<OpenConnection>(e);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].gen, 1u);
  EXPECT_EQ(s.state_of(1), ConnState::opening);
  EXPECT_TRUE(s.start().empty());  // idempotent

  e = s.on_open_answer(1, 200, std::nullopt, kSmOpenOk);
  auto connects = sm_all<ConnectWs>(e);
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].url, "wss://wss-primary.slack.com/link/?ticket=t1&app_id=A1");
  for (const auto& l : sm_all<Log>(e)) EXPECT_EQ(l.detail.find("ticket"), std::string::npos) << l.detail;
  EXPECT_EQ(s.state_of(1), ConnState::connecting);

  e = s.on_ws_open(1);
  auto timers = sm_all<StartTimer>(e);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].kind, TimerKind::hello_timeout);
  EXPECT_EQ(timers[0].delay, milliseconds(10'000));
  EXPECT_EQ(s.state_of(1), ConnState::awaiting_hello);

  // Before hello the connection is not usable: an envelope is neither ingested nor acked.
  e = s.on_text(1, sm_event("env-0", "Ev0"), kSmNow);
  EXPECT_EQ(sm_count<Ingest>(e), 0u);
  EXPECT_EQ(sm_count<Send>(e), 0u);
  EXPECT_TRUE(sm_has_log(e, "slack.socket.envelope_before_hello"));

  e = s.on_text(1, sm_hello(1), kSmNow);
  EXPECT_EQ(s.state_of(1), ConnState::ready);
  auto cancels = sm_all<CancelTimer>(e);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].kind, TimerKind::hello_timeout);
  EXPECT_EQ(s.last_num_connections(), 1);
  EXPECT_TRUE(sm_has_log(e, "slack.socket.hello"));
  EXPECT_FALSE(sm_has_log(e, "slack.socket.foreign_connections"));
  // The hello timer that lost the race does nothing.
  EXPECT_TRUE(s.on_timer(TimerKind::hello_timeout, 1).empty());
  EXPECT_EQ(s.counters().opens, 1u);
}

TEST_F(SocketModeSession, AcksOnlyAfterCommitOnTheDeliveringGeneration) {
  Generation gen = sm_connect(s.start());
  Effects e = s.on_text(gen, sm_event("env-1", "Ev1", "hi there"), kSmNow);
  auto ingests = sm_all<Ingest>(e);
  ASSERT_EQ(ingests.size(), 1u);
  EXPECT_EQ(ingests[0].gen, gen);
  EXPECT_EQ(ingests[0].envelope_id, "env-1");
  ASSERT_EQ(ingests[0].delivery.messages.size(), 1u);
  EXPECT_EQ(ingests[0].delivery.messages[0].platform_message_id, "Ev1");
  EXPECT_EQ(ingests[0].delivery.messages[0].bot, "work");
  EXPECT_EQ(ingests[0].delivery.messages[0].text, "hi there");
  EXPECT_EQ(sm_count<Send>(e), 0u) << "no ack before the commit";
  EXPECT_EQ(s.connections()[0].pending_acks, 1u);

  e = s.on_committed(gen, "env-1");
  auto sends = sm_all<Send>(e);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].gen, gen);
  EXPECT_EQ(sends[0].text, sm_ack("env-1"));
  EXPECT_EQ(s.counters().envelopes_acked, 1u);
  EXPECT_EQ(s.connections()[0].pending_acks, 0u);
  // A second answer for the same envelope is stale.
  EXPECT_EQ(sm_count<Send>(s.on_committed(gen, "env-1")), 0u);
  EXPECT_EQ(sm_count<Send>(s.on_committed(gen, "never-seen")), 0u);
}

TEST_F(SocketModeSession, CommitFailureIsNotAckedAndTheRetryIsIngestedAgain) {
  Generation gen = sm_connect(s.start());
  ASSERT_EQ(sm_count<Ingest>(s.on_text(gen, sm_event("env-1", "Ev1"), kSmNow)), 1u);
  Effects e = s.on_commit_failed(gen, "env-1");
  EXPECT_EQ(sm_count<Send>(e), 0u);
  EXPECT_EQ(s.counters().commit_failures, 1u);

  // Slack redelivers: same payload.event_id, retry_attempt 1. It is ingested again (the
  // event_id dedupe downstream makes that safe) and acknowledged once committed.
  e = s.on_text(gen, sm_event("env-1", "Ev1", "hello", 1), kSmNow);
  auto ingests = sm_all<Ingest>(e);
  ASSERT_EQ(ingests.size(), 1u);
  EXPECT_EQ(ingests[0].delivery.messages[0].platform_message_id, "Ev1");
  EXPECT_TRUE(sm_has_log(e, "slack.socket.redelivery"));
  auto sends = sm_all<Send>(s.on_committed(gen, "env-1"));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].text, sm_ack("env-1"));
}

TEST_F(SocketModeSession, RedeliveryWhilePendingIsNotIngestedTwice) {
  Generation gen = sm_connect(s.start());
  ASSERT_EQ(sm_count<Ingest>(s.on_text(gen, sm_event("env-1", "Ev1"), kSmNow)), 1u);
  EXPECT_EQ(sm_count<Ingest>(s.on_text(gen, sm_event("env-1", "Ev1", "hello", 1), kSmNow)), 0u);
  EXPECT_EQ(sm_count<Send>(s.on_committed(gen, "env-1")), 1u);
}

TEST_F(SocketModeSession, EnvelopesWithOnlyIgnoredItemsAreAckedAtOnce) {
  Generation gen = sm_connect(s.start());
  Effects e = s.on_text(gen, sm_event("env-bot", "Ev2", "beep", 0, /*bot=*/true), kSmNow);
  EXPECT_EQ(sm_count<Ingest>(e), 0u);
  auto sends = sm_all<Send>(e);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].text, sm_ack("env-bot"));

  e = s.on_text(gen, sm_event("env-empty", "Ev3", "   "), kSmNow);
  EXPECT_EQ(sm_count<Ingest>(e), 0u);
  EXPECT_EQ(sm_count<Send>(e), 1u);

  e = s.on_text(
      gen,
      R"({"envelope_id":"env-rx","type":"events_api","payload":{"type":"event_callback","event_id":"Ev4","event":{"type":"reaction_added"}}})",
      kSmNow);
  EXPECT_EQ(sm_count<Ingest>(e), 0u);
  EXPECT_EQ(sm_count<Send>(e), 1u);
  EXPECT_EQ(s.counters().envelopes_acked, 3u);
}

TEST_F(SocketModeSession, SlashCommandIsRecordedIngestedAndAckedAfterCommit) {
  Generation gen = sm_connect(s.start());
  std::string slash =
      R"({"payload":{"token":"tok","team_id":"T1","channel_id":"C123","channel_name":"general","user_id":"U123","user_name":"rainer","command":"/ask","text":"what is up","response_url":"https://hooks.slack.com/commands/secret","trigger_id":"trig-1"},"envelope_id":"env-s","type":"slash_commands","accepts_response_payload":true})";
  Effects e = s.on_text(gen, slash, kSmNow);
  auto records = sm_all<Record>(e);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].kind, EnvelopeType::slash_commands);
  EXPECT_EQ(records[0].envelope_id, "env-s");
  EXPECT_EQ(records[0].summary, "command=/ask channel=C123 user=U123");
  auto ingests = sm_all<Ingest>(e);
  ASSERT_EQ(ingests.size(), 1u);
  const auto& m = ingests[0].delivery.messages.at(0);
  EXPECT_EQ(m.text, "what is up");
  EXPECT_EQ(m.chat_jid, "slack:C123");
  EXPECT_EQ(m.platform_message_id, "trig-1");
  EXPECT_EQ(m.timestamp_ms, kSmNow);
  EXPECT_TRUE(m.mentions_bot);
  EXPECT_EQ(sm_count<Send>(e), 0u);
  EXPECT_EQ(sm_all<Send>(s.on_committed(gen, "env-s")).at(0).text, sm_ack("env-s"));

  // An empty slash command carries no message: recorded and acked at once.
  std::string empty =
      R"({"payload":{"channel_id":"C1","user_id":"U1","command":"/ask","text":"","trigger_id":"trig-2"},"envelope_id":"env-s2","type":"slash_commands"})";
  e = s.on_text(gen, empty, kSmNow);
  EXPECT_EQ(sm_count<Record>(e), 1u);
  EXPECT_EQ(sm_count<Ingest>(e), 0u);
  EXPECT_EQ(sm_count<Send>(e), 1u);
}

TEST_F(SocketModeSession, InteractiveIsRecordedAndAckedAtOnce) {
  Generation gen = sm_connect(s.start());
  Effects e = s.on_text(
      gen,
      R"({"envelope_id":"env-i","type":"interactive","accepts_response_payload":false,"payload":{"type":"block_actions","user":{"id":"U9"},"response_url":"https://hooks.slack.com/x"}})",
      kSmNow);
  EXPECT_EQ(sm_count<Ingest>(e), 0u);
  auto records = sm_all<Record>(e);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].kind, EnvelopeType::interactive);
  EXPECT_EQ(records[0].summary, "ignored=interactive type=block_actions user=U9");
  auto sends = sm_all<Send>(e);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].text, sm_ack("env-i"));
}

TEST_F(SocketModeSession, GarbageIsCountedAndAckedWhenItHasAnId) {
  Generation gen = sm_connect(s.start());
  // Unparseable frame: no envelope id to acknowledge.
  Effects e = s.on_text(gen, "{\"envelope_id\":\"x\",", kSmNow);
  EXPECT_EQ(sm_count<Send>(e), 0u);
  EXPECT_EQ(s.counters().malformed_frames, 1u);
  // A readable envelope whose payload parse_event refuses: acked (a retry would fail the
  // same way), counted, logged as an error.
  e = s.on_text(gen, R"({"envelope_id":"env-bad","type":"events_api","payload":{"type":"event_callback"}})", kSmNow);
  EXPECT_EQ(sm_count<Ingest>(e), 0u);
  EXPECT_EQ(sm_all<Send>(e).at(0).text, sm_ack("env-bad"));
  EXPECT_EQ(s.counters().malformed_payloads, 1u);
  EXPECT_TRUE(sm_has_log(e, "slack.socket.malformed_payload"));
  // An envelope of a type we do not know is acked and counted.
  e = s.on_text(gen, R"({"envelope_id":"env-new","type":"workflow_step","payload":{}})", kSmNow);
  EXPECT_EQ(sm_all<Send>(e).at(0).text, sm_ack("env-new"));
  EXPECT_EQ(s.counters().unknown_envelopes, 1u);
  // A control frame of a type we do not know is only logged.
  e = s.on_text(gen, R"({"type":"something_new"})", kSmNow);
  EXPECT_EQ(sm_count<Send>(e), 0u);
  EXPECT_TRUE(sm_has_log(e, "slack.socket.unknown_frame"));
  // Hostile frames never change the connection.
  for (std::string frame : {std::string("\xff\xfe"), std::string(100000, '['), std::string("null"),
                            std::string(R"({"type":"events_api","envelope_id":"","payload":{}})")}) {
    e = s.on_text(gen, frame, kSmNow);
    EXPECT_EQ(sm_count<Send>(e), 0u);
    EXPECT_EQ(s.state_of(gen), ConnState::ready);
  }
  EXPECT_EQ(s.counters().malformed_frames, 5u);
}

class SocketModeSessionRefresh : public SocketModeSession, public ::testing::WithParamInterface<const char*> {};

TEST_P(SocketModeSessionRefresh, MakeBeforeBreak) {
  Generation old_gen = sm_stable(s.start());
  // An envelope in flight on the old socket when Slack asks for the refresh.
  ASSERT_EQ(sm_count<Ingest>(s.on_text(old_gen, sm_event("env-a", "EvA"), kSmNow)), 1u);

  Effects e = s.on_text(old_gen, sm_disconnect(GetParam()), kSmNow);
  auto opens = sm_all<OpenConnection>(e);
  ASSERT_EQ(opens.size(), 1u) << "the replacement is opened first, at once";
  Generation new_gen = opens[0].gen;
  EXPECT_GT(new_gen, old_gen);
  EXPECT_EQ(sm_count<Close>(e), 0u) << "the old socket stays until the replacement says hello";
  EXPECT_EQ(s.state_of(old_gen), ConnState::draining);

  // While draining, the old socket still handles and acknowledges envelopes.
  ASSERT_EQ(sm_count<Ingest>(s.on_text(old_gen, sm_event("env-b", "EvB"), kSmNow)), 1u);
  auto sends = sm_all<Send>(s.on_committed(old_gen, "env-b"));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].gen, old_gen);

  // The replacement comes up. env-a is still being stored, so the old socket stays open
  // (after a close frame no ack could be written).
  ASSERT_EQ(sm_count<ConnectWs>(s.on_open_answer(new_gen, 200, std::nullopt, kSmOpenOk)), 1u);
  (void)s.on_ws_open(new_gen);
  e = s.on_text(new_gen, sm_hello(2), kSmNow);
  EXPECT_EQ(s.state_of(new_gen), ConnState::ready);
  EXPECT_FALSE(sm_has_log(e, "slack.socket.foreign_connections")) << "both sockets are ours";
  EXPECT_EQ(sm_count<Close>(e), 0u);
  EXPECT_EQ(s.counters().refreshes, 1u);

  // An envelope arriving on the old socket after the replacement's hello is still
  // ingested and acknowledged there.
  e = s.on_text(old_gen, sm_event("env-c", "EvC"), kSmNow);
  ASSERT_EQ(sm_count<Ingest>(e), 1u);
  EXPECT_EQ(sm_all<Ingest>(e)[0].gen, old_gen);
  e = s.on_committed(old_gen, "env-a");
  ASSERT_EQ(sm_all<Send>(e).size(), 1u);
  EXPECT_EQ(sm_all<Send>(e)[0].gen, old_gen);
  EXPECT_EQ(sm_count<Close>(e), 0u) << "env-c is still outstanding";
  e = s.on_committed(old_gen, "env-c");
  ASSERT_EQ(sm_all<Send>(e).size(), 1u);
  EXPECT_EQ(sm_all<Send>(e)[0].gen, old_gen);
  auto closes = sm_all<Close>(e);
  ASSERT_EQ(closes.size(), 1u) << "idle now: the superseded socket goes";
  EXPECT_EQ(closes[0].gen, old_gen);
  EXPECT_LT(std::find_if(e.begin(), e.end(), [](const Effect& x) { return std::holds_alternative<Send>(x); }),
            std::find_if(e.begin(), e.end(), [](const Effect& x) { return std::holds_alternative<Close>(x); }))
      << "the ack is written before the close";

  // New envelopes go to the new socket; the old one closes without a reconnect.
  e = s.on_closed(old_gen, 1000);
  EXPECT_EQ(sm_count<OpenConnection>(e), 0u);
  EXPECT_EQ(s.connections().size(), 1u);
  ASSERT_EQ(sm_count<Ingest>(s.on_text(new_gen, sm_event("env-d", "EvD"), kSmNow)), 1u);
  EXPECT_EQ(sm_all<Send>(s.on_committed(new_gen, "env-d")).at(0).gen, new_gen);
  ReconnectReason why = std::string_view(GetParam()) == "warning" ? ReconnectReason::disconnect_warning
                                                                  : ReconnectReason::disconnect_refresh_requested;
  EXPECT_EQ(s.counters().reconnects_for(why), 1u);
  EXPECT_EQ(s.counters().acks_lost, 0u);
}

INSTANTIATE_TEST_SUITE_P(Reasons, SocketModeSessionRefresh, ::testing::Values("warning", "refresh_requested"));

TEST_F(SocketModeSession, IdleSupersededSocketClosesAtTheReplacementsHello) {
  Generation old_gen = sm_stable(s.start());
  Effects e = s.on_text(old_gen, sm_disconnect("warning"), kSmNow);
  Generation new_gen = sm_all<OpenConnection>(e).at(0).gen;
  (void)s.on_open_answer(new_gen, 200, std::nullopt, kSmOpenOk);
  (void)s.on_ws_open(new_gen);
  e = s.on_text(new_gen, sm_hello(2), kSmNow);
  auto closes = sm_all<Close>(e);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].gen, old_gen);
  EXPECT_EQ(s.state_of(old_gen), ConnState::closing);
  // A frame racing the close is dropped unacknowledged (Slack redelivers it elsewhere).
  e = s.on_text(old_gen, sm_event("env-late", "EvL"), kSmNow);
  EXPECT_EQ(sm_count<Ingest>(e) + sm_count<Send>(e), 0u);
}

TEST_F(SocketModeSession, ReplacementThatNeverSaysHelloDoesNotKeepTheOldSocketForever) {
  Generation old_gen = sm_stable(s.start());
  Effects e = s.on_text(old_gen, sm_disconnect("warning"), kSmNow);
  bool drain_timer = false;
  for (const auto& t : sm_all<StartTimer>(e))
    drain_timer |= t.kind == TimerKind::drain_deadline && t.gen == old_gen && t.delay == milliseconds(30'000);
  EXPECT_TRUE(drain_timer);
  ASSERT_EQ(sm_count<Ingest>(s.on_text(old_gen, sm_event("env-1", "Ev1"), kSmNow)), 1u);
  e = s.on_timer(TimerKind::drain_deadline, old_gen);
  ASSERT_EQ(sm_all<Close>(e).size(), 1u);
  EXPECT_EQ(sm_all<Close>(e)[0].gen, old_gen);
  // The commit comes after our close frame: no data frame may follow it, the ack is lost.
  e = s.on_committed(old_gen, "env-1");
  EXPECT_EQ(sm_count<Send>(e), 0u);
  EXPECT_EQ(s.counters().acks_lost, 1u);
}

TEST_F(SocketModeSession, TooManyWebsocketsBacksOffTheReplacement) {
  Generation old_gen = sm_stable(s.start());
  Effects e = s.on_text(old_gen, sm_disconnect("too_many_websockets"), kSmNow);
  EXPECT_EQ(sm_count<OpenConnection>(e), 0u);
  auto timers = sm_all<StartTimer>(e);
  auto it = std::find_if(timers.begin(), timers.end(),
                         [](const StartTimer& t) { return t.kind == TimerKind::reconnect_delay; });
  ASSERT_NE(it, timers.end());
  EXPECT_EQ(it->delay, milliseconds(1'000));
  EXPECT_EQ(s.state_of(old_gen), ConnState::draining) << "still serving meanwhile";
  EXPECT_EQ(sm_all<OpenConnection>(s.on_timer(TimerKind::reconnect_delay, it->gen)).size(), 1u);
  EXPECT_EQ(s.counters().reconnects_for(ReconnectReason::disconnect_too_many_websockets), 1u);
}

TEST_F(SocketModeSession, DisconnectBeforeHello) {
  (void)s.start();
  (void)s.on_open_answer(1, 200, std::nullopt, kSmOpenOk);
  (void)s.on_ws_open(1);
  Effects e = s.on_text(1, sm_disconnect("refresh_requested"), kSmNow);
  ASSERT_EQ(sm_all<Close>(e).size(), 1u);
  EXPECT_EQ(sm_all<Close>(e)[0].gen, 1u);
  EXPECT_EQ(s.state_of(1), ConnState::closing);
  // The next connection backs off (this one never became usable) and is a new generation.
  auto timers = sm_all<StartTimer>(e);
  auto it = std::find_if(timers.begin(), timers.end(),
                         [](const StartTimer& t) { return t.kind == TimerKind::reconnect_delay; });
  ASSERT_NE(it, timers.end());
  EXPECT_EQ(it->gen, 2u);
  EXPECT_EQ(s.state_of(2), ConnState::waiting);
  EXPECT_EQ(sm_all<OpenConnection>(s.on_timer(TimerKind::reconnect_delay, 2)).at(0).gen, 2u);
  EXPECT_EQ(sm_count<OpenConnection>(s.on_closed(1, 1000)), 0u);
  Generation gen = 2;
  (void)s.on_open_answer(gen, 200, std::nullopt, kSmOpenOk);
  (void)s.on_ws_open(gen);
  (void)s.on_text(gen, sm_hello(1), kSmNow);
  EXPECT_EQ(s.state_of(gen), ConnState::ready);
}

TEST_F(SocketModeSession, DisconnectOfTheReplacementBeforeHelloKeepsTheCap) {
  Generation old_gen = sm_stable(s.start());
  Generation second = sm_all<OpenConnection>(s.on_text(old_gen, sm_disconnect("warning"), kSmNow)).at(0).gen;
  (void)s.on_open_answer(second, 200, std::nullopt, kSmOpenOk);
  (void)s.on_ws_open(second);
  Effects e = s.on_text(second, sm_disconnect("refresh_requested"), kSmNow);
  EXPECT_EQ(sm_all<Close>(e).at(0).gen, second);
  // Old (draining) + second (closing) = two sockets: no third until one is gone.
  EXPECT_EQ(sm_count<OpenConnection>(e) + sm_count<StartTimer>(e), 1u) << "only the close deadline";
  EXPECT_EQ(s.connections().size(), 2u);
  e = s.on_closed(second, 1000);
  EXPECT_EQ(s.connections().size(), 2u);
  EXPECT_EQ(s.state_of(old_gen), ConnState::draining);
  // A disconnect on the draining socket does not start another replacement.
  e = s.on_text(old_gen, sm_disconnect("refresh_requested"), kSmNow);
  EXPECT_EQ(s.connections().size(), 2u);
  EXPECT_EQ(sm_count<OpenConnection>(e), 0u);
}

TEST_F(SocketModeSession, DisconnectWhileConnectingIsIgnoredUntilTheSocketSpeaks) {
  (void)s.start();
  (void)s.on_open_answer(1, 200, std::nullopt, kSmOpenOk);
  // No socket yet: a frame cannot arrive, and a stray one is ignored.
  Effects e = s.on_text(1, sm_disconnect("warning"), kSmNow);
  EXPECT_EQ(sm_count<Close>(e) + sm_count<OpenConnection>(e), 0u);
  EXPECT_EQ(s.state_of(1), ConnState::connecting);
}

TEST_F(SocketModeSession, LinkDisabledIsFatalInEveryState) {
  Generation old_gen = sm_stable(s.start());
  Generation second = sm_all<OpenConnection>(s.on_text(old_gen, sm_disconnect("warning"), kSmNow)).at(0).gen;
  (void)s.on_open_answer(second, 200, std::nullopt, kSmOpenOk);
  (void)s.on_ws_open(second);
  ASSERT_EQ(sm_count<Ingest>(s.on_text(old_gen, sm_event("env-1", "Ev1"), kSmNow)), 1u);
  // link_disabled before the replacement's hello.
  Effects e = s.on_text(second, sm_disconnect("link_disabled"), kSmNow);
  auto fatals = sm_all<Fatal>(e);
  ASSERT_EQ(fatals.size(), 1u);
  EXPECT_EQ(fatals[0].reason, FatalReason::link_disabled);
  EXPECT_EQ(s.fatal_reason(), FatalReason::link_disabled);
  EXPECT_EQ(sm_count<Close>(e), 2u);
  EXPECT_EQ(sm_count<OpenConnection>(e), 0u);
  // Nothing afterwards opens a connection.
  EXPECT_EQ(sm_count<OpenConnection>(s.on_closed(old_gen, 1000)), 0u);
  EXPECT_EQ(sm_count<OpenConnection>(s.on_closed(second, 1006)), 0u);
  EXPECT_EQ(sm_count<OpenConnection>(s.start()), 0u);
  EXPECT_EQ(sm_count<Send>(s.on_committed(old_gen, "env-1")), 0u);
  EXPECT_EQ(s.counters().acks_lost, 1u);
  EXPECT_TRUE(s.connections().empty());
}

TEST_F(SocketModeSession, UnrecoverableOpenErrorsAreFatal) {
  for (auto [error, reason] :
       {std::pair{"invalid_auth", FatalReason::invalid_auth}, std::pair{"not_authed", FatalReason::not_authed},
        std::pair{"account_inactive", FatalReason::account_inactive},
        std::pair{"user_removed_from_team", FatalReason::user_removed_from_team},
        std::pair{"team_disabled", FatalReason::team_disabled}}) {
    Session session(sm_config(), [] { return 1.0; });
    (void)session.start();
    Effects e = session.on_open_answer(1, 200, std::nullopt, R"({"ok":false,"error":")" + std::string(error) + "\"}");
    auto fatals = sm_all<Fatal>(e);
    ASSERT_EQ(fatals.size(), 1u) << error;
    EXPECT_EQ(fatals[0].reason, reason);
    EXPECT_EQ(fatals[0].detail, "apps.connections.open: " + std::string(error));
    EXPECT_EQ(sm_count<OpenConnection>(e) + sm_count<StartTimer>(e), 0u);
    EXPECT_TRUE(session.connections().empty());
  }
}

TEST_F(SocketModeSession, RatelimitedWaitsForRetryAfter) {
  (void)s.start();
  Effects e = s.on_open_answer(1, 429, "12", R"({"ok":false,"error":"ratelimited"})");
  auto timers = sm_all<StartTimer>(e);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].kind, TimerKind::reconnect_delay);
  EXPECT_EQ(timers[0].gen, 1u) << "the same generation retries";
  EXPECT_EQ(timers[0].delay, milliseconds(12'000));
  EXPECT_EQ(s.state_of(1), ConnState::waiting);
  EXPECT_EQ(sm_all<OpenConnection>(s.on_timer(TimerKind::reconnect_delay, 1)).at(0).gen, 1u);

  // Slack's JSON error alone, without the header: the default wait.
  e = s.on_open_answer(1, 200, std::nullopt, R"({"ok":false,"error":"ratelimited"})");
  EXPECT_EQ(sm_all<StartTimer>(e).at(0).delay, milliseconds(30'000));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  // Garbage or an HTTP date in Retry-After: the default; zero is at least a second.
  EXPECT_EQ(sm_all<StartTimer>(s.on_open_answer(1, 429, "Wed, 21 Oct 2015 07:28:00 GMT", "")).at(0).delay,
            milliseconds(30'000));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  EXPECT_EQ(sm_all<StartTimer>(s.on_open_answer(1, 429, " 0 ", "")).at(0).delay, milliseconds(1'000));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  EXPECT_EQ(sm_all<StartTimer>(s.on_open_answer(1, 429, "99999999", "")).at(0).delay, milliseconds(3'600'000));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  EXPECT_EQ(s.counters().opens, 6u);
  EXPECT_EQ(s.counters().open_errors, 5u);
  // Ratelimiting is not our failure: the next success connects without extra backoff.
  (void)s.on_open_answer(1, 200, std::nullopt, kSmOpenOk);
  EXPECT_EQ(s.state_of(1), ConnState::connecting);
}

TEST_F(SocketModeSession, RetryableOpenErrorsBackOff) {
  (void)s.start();
  Effects e = s.on_open_answer(1, 200, std::nullopt, R"({"ok":false,"error":"internal_error"})");
  EXPECT_EQ(sm_all<StartTimer>(e).at(0).delay, milliseconds(1'000));
  EXPECT_TRUE(sm_has_log(e, "slack.socket.open_failed"));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  e = s.on_open_failed(1, make_error("http.connect", "connection refused"));
  EXPECT_EQ(sm_all<StartTimer>(e).at(0).delay, milliseconds(2'000));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  e = s.on_open_answer(1, 503, std::nullopt, "<html>busy</html>");
  EXPECT_EQ(sm_all<StartTimer>(e).at(0).delay, milliseconds(4'000));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  // ok:true with a URL we refuse (not wss://, or with spaces) is retried as well.
  e = s.on_open_answer(1, 200, std::nullopt, R"({"ok":true,"url":"http://evil.example/link"})");
  EXPECT_EQ(sm_count<ConnectWs>(e), 0u);
  EXPECT_EQ(sm_all<StartTimer>(e).at(0).delay, milliseconds(8'000));
  (void)s.on_timer(TimerKind::reconnect_delay, 1);
  e = s.on_open_answer(1, 200, std::nullopt, R"({"ok":true,"url":7})");
  EXPECT_EQ(sm_count<ConnectWs>(e), 0u);
  EXPECT_EQ(s.state_of(1), ConnState::waiting);
  // Answers for a generation that is not opening are stale.
  EXPECT_EQ(sm_count<ConnectWs>(s.on_open_answer(1, 200, std::nullopt, kSmOpenOk)), 0u);
  EXPECT_EQ(sm_count<ConnectWs>(s.on_open_answer(99, 200, std::nullopt, kSmOpenOk)), 0u);
}

TEST_F(SocketModeSession, DebugReconnectsIsAppendedToTheUrl) {
  Config c = sm_config();
  c.debug_reconnects = true;
  Session session(c, [] { return 1.0; });
  (void)session.start();
  auto connects = sm_all<ConnectWs>(session.on_open_answer(1, 200, std::nullopt, kSmOpenOk));
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].url, "wss://wss-primary.slack.com/link/?ticket=t1&app_id=A1&debug_reconnects=true");
  (void)session.on_closed(1, std::nullopt);
  (void)session.on_timer(TimerKind::reconnect_delay, 2);
  connects = sm_all<ConnectWs>(session.on_open_answer(2, 200, std::nullopt, R"({"ok":true,"url":"wss://h/link"})"));
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0].url, "wss://h/link?debug_reconnects=true");
}

TEST_F(SocketModeSession, WarnsWhenAnotherProcessSharesTheAppToken) {
  (void)s.start();
  (void)s.on_open_answer(1, 200, std::nullopt, kSmOpenOk);
  (void)s.on_ws_open(1);
  Effects e = s.on_text(1, sm_hello(3), kSmNow);
  EXPECT_TRUE(sm_has_log(e, "slack.socket.foreign_connections"));
  EXPECT_EQ(s.last_num_connections(), 3);
}

TEST_F(SocketModeSession, HelloTimeoutClosesAndReconnects) {
  (void)s.start();
  (void)s.on_open_answer(1, 200, std::nullopt, kSmOpenOk);
  (void)s.on_ws_open(1);
  Effects e = s.on_timer(TimerKind::hello_timeout, 1);
  EXPECT_EQ(sm_all<Close>(e).at(0).gen, 1u);
  EXPECT_EQ(s.state_of(2), ConnState::waiting);
  EXPECT_EQ(s.counters().reconnects_for(ReconnectReason::hello_timeout), 1u);
  // A hello after our Close is ignored.
  (void)s.on_text(1, sm_hello(1), kSmNow);
  EXPECT_EQ(s.state_of(1), ConnState::closing);
  // A Close that never reports back stops counting after close_wait.
  e = s.on_timer(TimerKind::close_deadline, 1);
  EXPECT_FALSE(s.state_of(1));
  EXPECT_TRUE(sm_has_log(e, "slack.socket.close_not_confirmed"));
}

TEST_F(SocketModeSession, UnexpectedCloseBacksOffWithJitterCappedAndResetsWhenStable) {
  std::vector<double> samples = {0.0, 0.5, 1.0};
  std::size_t next = 0;
  Session session(sm_config(), [&] { return samples[next++ % samples.size()]; });
  Effects e = session.start();
  Generation gen = sm_all<OpenConnection>(e).at(0).gen;
  std::vector<milliseconds> delays;
  for (int i = 0; i < 10; ++i) {
    (void)session.on_open_answer(gen, 200, std::nullopt, kSmOpenOk);
    (void)session.on_ws_open(gen);
    (void)session.on_text(gen, sm_hello(1), kSmNow);
    e = session.on_closed(gen, 1006);  // no disconnect message: unexpected
    EXPECT_EQ(sm_count<OpenConnection>(e), 0u) << "never at once after a failure";
    auto timers = sm_all<StartTimer>(e);
    ASSERT_EQ(timers.size(), 1u);
    EXPECT_EQ(timers[0].kind, TimerKind::reconnect_delay);
    EXPECT_EQ(timers[0].gen, gen + 1);
    delays.push_back(timers[0].delay);
    EXPECT_LE(session.connections().size(), 2u);
    gen = timers[0].gen;
    EXPECT_EQ(sm_all<OpenConnection>(session.on_timer(TimerKind::reconnect_delay, gen)).at(0).gen, gen);
  }
  // Equal jitter of 1 s, 2 s, 4 s, ... capped at 60 s: [d/2, d] by the samples 0, 0.5, 1.
  std::vector<milliseconds> expected = {
      milliseconds(500),   milliseconds(1500),  milliseconds(4000),  milliseconds(4000),  milliseconds(12000),
      milliseconds(32000), milliseconds(30000), milliseconds(45000), milliseconds(60000), milliseconds(30000)};
  EXPECT_EQ(delays, expected);
  EXPECT_EQ(session.counters().reconnects_for(ReconnectReason::unexpected_close), 10u);

  // A connection that stays ready for stable_after resets the backoff.
  (void)session.on_open_answer(gen, 200, std::nullopt, kSmOpenOk);
  (void)session.on_ws_open(gen);
  (void)session.on_text(gen, sm_hello(1), kSmNow);
  (void)session.on_timer(TimerKind::stable, gen);
  next = 2;  // jitter sample 1.0
  e = session.on_closed(gen, 1006);
  EXPECT_EQ(sm_all<StartTimer>(e).at(0).delay, milliseconds(1000));
}

TEST_F(SocketModeSession, ABrokenJitterSourceMeansNoJitter) {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), -3.0, 7.0}) {
    Session session(sm_config(), [bad] { return bad; });
    (void)session.start();
    Effects e = session.on_open_failed(1, make_error("http.timeout", "timed out"));
    EXPECT_EQ(sm_all<StartTimer>(e).at(0).delay, milliseconds(1'000)) << bad;
  }
}

TEST_F(SocketModeSession, ConnectFailureReconnectsAndPendingAcksOfAClosedSocketAreLost) {
  Generation gen = sm_connect(s.start());
  ASSERT_EQ(sm_count<Ingest>(s.on_text(gen, sm_event("env-1", "Ev1"), kSmNow)), 1u);
  Effects e = s.on_closed(gen, 1006);
  EXPECT_EQ(s.counters().reconnects_for(ReconnectReason::unexpected_close), 1u);
  Generation next = sm_all<StartTimer>(e).at(0).gen;
  (void)s.on_timer(TimerKind::reconnect_delay, next);
  (void)s.on_open_answer(next, 200, std::nullopt, kSmOpenOk);
  // The socket fails to connect at all.
  e = s.on_closed(next, std::nullopt);
  EXPECT_EQ(s.counters().reconnects_for(ReconnectReason::connect_failed), 1u);
  // Storage commits env-1 after its socket is gone: the ack is not sent anywhere else.
  e = s.on_committed(gen, "env-1");
  EXPECT_EQ(sm_count<Send>(e), 0u);
  EXPECT_EQ(s.counters().acks_lost, 1u);
  EXPECT_TRUE(sm_has_log(e, "slack.socket.ack_lost"));
}

TEST_F(SocketModeSession, StopClosesEverythingAndStaleInputsAreHarmless) {
  Generation gen = sm_connect(s.start());
  Effects e = s.stop();
  EXPECT_EQ(sm_all<Close>(e).at(0).gen, gen);
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(sm_count<OpenConnection>(s.on_closed(gen, 1000)), 0u);
  EXPECT_TRUE(s.connections().empty());
  EXPECT_EQ(sm_count<OpenConnection>(s.start()), 0u);
  // A socket that opens for a generation nobody wants is closed at once.
  EXPECT_EQ(sm_all<Close>(s.on_ws_open(42)).at(0).gen, 42u);
  EXPECT_EQ(s.on_timer(TimerKind::hello_timeout, 42).size(), 0u);
  EXPECT_EQ(sm_count<Send>(s.on_text(42, sm_event("e", "Ev"), kSmNow)), 0u);
}

TEST_F(SocketModeSession, StopWhileWaitingOrOpening) {
  (void)s.start();
  (void)s.on_open_answer(1, 200, std::nullopt, R"({"ok":false,"error":"internal_error"})");
  Effects e = s.stop();
  EXPECT_EQ(sm_all<CancelTimer>(e).at(0).kind, TimerKind::reconnect_delay);
  EXPECT_TRUE(s.connections().empty());
  EXPECT_TRUE(s.on_timer(TimerKind::reconnect_delay, 1).empty());
}

TEST_F(SocketModeSession, BurstOfAThousandEnvelopesKeepsOrder) {
  Generation gen = sm_connect(s.start());
  std::vector<std::string> order;
  for (int i = 0; i < 1000; ++i) {
    Effects e = s.on_text(gen, sm_event("env-" + std::to_string(i), "Ev" + std::to_string(i)), kSmNow);
    for (const auto& ingest : sm_all<Ingest>(e)) order.push_back(ingest.envelope_id);
  }
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], "env-" + std::to_string(i));
  EXPECT_EQ(s.connections()[0].pending_acks, 1000u);
  std::vector<std::string> acks;
  for (int i = 0; i < 1000; ++i)
    for (const auto& send : sm_all<Send>(s.on_committed(gen, "env-" + std::to_string(i)))) acks.push_back(send.text);
  ASSERT_EQ(acks.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(acks[i], sm_ack("env-" + std::to_string(i)));
  EXPECT_EQ(s.counters().envelopes, 1000u);
}

// A long seeded random walk over every input, checking the invariants after each step:
// never more than two of our connections, never two ready, acks only on usable sockets,
// nothing opened after a fatal error or stop, every Ingest answered at most once.
TEST_F(SocketModeSession, RandomWalkKeepsTheInvariants) {
  std::mt19937_64 rng(20261206);
  std::uint64_t acked = 0, refreshes = 0, reconnects = 0, lost = 0;
  for (int run = 0; run < 20; ++run) {
    Session session(sm_config(), [&] { return std::uniform_real_distribution<double>(0, 1)(rng); });
    std::vector<std::pair<TimerKind, Generation>> timers;
    std::vector<std::pair<Generation, std::string>> pending;
    std::vector<Generation> opening, sockets;
    int envelope = 0;
    auto apply = [&](const Effects& effects, const std::vector<ConnectionView>& before) {
      for (const auto& e : effects) {
        if (auto* o = std::get_if<OpenConnection>(&e)) {
          EXPECT_FALSE(session.fatal_reason());
          EXPECT_FALSE(session.stopped());
          opening.push_back(o->gen);
        } else if (auto* c = std::get_if<ConnectWs>(&e)) {
          sockets.push_back(c->gen);
        } else if (auto* t = std::get_if<StartTimer>(&e)) {
          timers.emplace_back(t->kind, t->gen);
        } else if (auto* i = std::get_if<Ingest>(&e)) {
          pending.emplace_back(i->gen, i->envelope_id);
        } else if (auto* snd = std::get_if<Send>(&e)) {
          bool was_usable = false;
          for (const auto& v : before)
            was_usable |= v.gen == snd->gen && (v.state == ConnState::ready || v.state == ConnState::draining);
          // An ack at once (no Ingest) is sent from the state the frame found.
          EXPECT_TRUE(was_usable || session.state_of(snd->gen) == ConnState::ready ||
                      session.state_of(snd->gen) == ConnState::draining)
              << "ack on gen " << snd->gen;
        }
      }
      auto views = session.connections();
      EXPECT_LE(views.size(), 2u);
      EXPECT_LE(std::count_if(views.begin(), views.end(), [](const auto& v) { return v.state == ConnState::ready; }),
                1);
    };
    apply(session.start(), {});
    for (int step = 0; step < 1500 && !session.fatal_reason(); ++step) {
      auto before = session.connections();
      auto pick = [&](auto& v) {
        std::size_t i = std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng);
        auto x = v[i];
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
        return x;
      };
      int action = std::uniform_int_distribution<int>(0, 99)(rng);
      // Mostly a live generation, sometimes any socket ever connected (stale inputs).
      Generation any_socket = sockets.empty() ? 0 : sockets[rng() % sockets.size()];
      if (!before.empty() && rng() % 4 != 0) any_socket = before[rng() % before.size()].gen;
      Effects e;
      if (action < 10 && !opening.empty()) {
        Generation g = pick(opening);
        int kind = static_cast<int>(rng() % 10);
        if (kind < 7)
          e = session.on_open_answer(g, 200, std::nullopt, kSmOpenOk);
        else if (kind == 7)
          e = session.on_open_answer(g, 429, "5", "");
        else if (kind == 8)
          e = session.on_open_answer(g, 200, std::nullopt, R"({"ok":false,"error":"internal_error"})");
        else
          e = session.on_open_failed(g, make_error("http.timeout", "timed out"));
      } else if (action < 20 && any_socket) {
        e = session.on_ws_open(any_socket);
      } else if (action < 35 && any_socket) {
        e = session.on_text(any_socket, sm_hello(1), kSmNow);
      } else if (action < 60 && any_socket) {
        e = session.on_text(any_socket, sm_event("env-" + std::to_string(envelope), "Ev" + std::to_string(envelope)),
                            kSmNow);
        ++envelope;
      } else if (action < 63 && any_socket) {
        static const char* kReasons[] = {"warning", "refresh_requested", "too_many_websockets", "odd"};
        e = session.on_text(any_socket, sm_disconnect(kReasons[rng() % 4]), kSmNow);
      } else if (action < 80 && !pending.empty()) {
        auto [g, id] = pick(pending);
        e = rng() % 5 ? session.on_committed(g, id) : session.on_commit_failed(g, id);
      } else if (action < 90 && !timers.empty()) {
        auto [kind, g] = pick(timers);
        // Deadlines mostly fire late (the peer is usually quick): keep them for later.
        bool deadline = kind == TimerKind::hello_timeout || kind == TimerKind::drain_deadline;
        if (deadline && rng() % 5 != 0) {
          timers.emplace_back(kind, g);
          continue;
        }
        e = session.on_timer(kind, g);
      } else if (action < 94 && !sockets.empty()) {
        Generation g = pick(sockets);
        e = session.on_closed(g, rng() % 2 ? std::optional<int>(1006) : std::nullopt);
      } else if (action == 99 && rng() % 50 == 0) {
        e = session.on_text(any_socket, sm_disconnect("link_disabled"), kSmNow);
      } else if (action == 98 && rng() % 50 == 0) {
        e = session.stop();
      } else {
        continue;
      }
      apply(e, before);
    }
    acked += session.counters().envelopes_acked;
    refreshes += session.counters().refreshes;
    lost += session.counters().acks_lost;
    for (auto n : session.counters().reconnects) reconnects += n;
  }
  // The walk reaches the interesting paths, not only stale inputs.
  EXPECT_GT(acked, 100u);
  EXPECT_GT(refreshes, 5u);
  EXPECT_GT(reconnects, 20u);
  EXPECT_GT(lost, 0u);
}

}  // namespace
}  // namespace sb::channels::slack::socket_mode
