// NamespaceRunner: the Namespace actor's state machine without actors or containers.
// Each test drives it through the events the actor feeds it (routed messages, slot
// grants, run outputs, transitions and results, timers, scheduled runs) and checks the
// effects it returns: slot requests, container starts, deliveries, replies with their
// reply_to and idempotency keys, recorded turns, retries, typing indicators, answers.
#include "runtime/namespaces/namespace_runner.hpp"

#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using sb::container::EndReason;
using sb::container::RunOutput;
using sb::container::RunResult;
using sb::container::RunState;
using sb::container::RunTransition;
using sb::messaging::ChannelKind;
using sb::messaging::StoredMessage;
using sb::namespaces::Effect;
using sb::namespaces::Effects;
using sb::namespaces::NamespaceRunner;
using sb::namespaces::NamespaceRunnerOptions;
using sb::schedule::RunStatus;
using sb::schedule::ScheduledRun;
namespace effect = sb::namespaces::effect;
using Names = std::vector<std::string>;

const std::string kNs = "ns-1";

std::string name_of(const Effect& e) {
  return std::visit(
      [](const auto& x) -> std::string {
        using E = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<E, effect::AskSlot>)
          return x.scheduled ? "AskSlot(scheduled)" : "AskSlot";
        else if constexpr (std::is_same_v<E, effect::ReleaseSlot>)
          return "ReleaseSlot";
        else if constexpr (std::is_same_v<E, effect::MarkBusy>)
          return "MarkBusy";
        else if constexpr (std::is_same_v<E, effect::MarkIdle>)
          return "MarkIdle";
        else if constexpr (std::is_same_v<E, effect::StartRun>)
          return "StartRun";
        else if constexpr (std::is_same_v<E, effect::StartTaskRun>)
          return "StartTaskRun";
        else if constexpr (std::is_same_v<E, effect::Deliver>)
          return "Deliver";
        else if constexpr (std::is_same_v<E, effect::CloseRun>)
          return "CloseRun";
        else if constexpr (std::is_same_v<E, effect::StopRun>)
          return "StopRun";
        else if constexpr (std::is_same_v<E, effect::ForgetRun>)
          return "ForgetRun";
        else if constexpr (std::is_same_v<E, effect::SendText>)
          return "SendText";
        else if constexpr (std::is_same_v<E, effect::LocalReply>)
          return "LocalReply";
        else if constexpr (std::is_same_v<E, effect::FinishLocalTurn>)
          return "FinishLocalTurn";
        else if constexpr (std::is_same_v<E, effect::SendTyping>)
          return "SendTyping";
        else if constexpr (std::is_same_v<E, effect::ScheduleRetry>)
          return "ScheduleRetry";
        else if constexpr (std::is_same_v<E, effect::ScheduleTyping>)
          return "ScheduleTyping";
        else if constexpr (std::is_same_v<E, effect::MarkTurnStarted>)
          return "MarkTurnStarted";
        else if constexpr (std::is_same_v<E, effect::RecordTurn>)
          return "RecordTurn";
        else if constexpr (std::is_same_v<E, effect::AnswerTask>)
          return "AnswerTask";
        else if constexpr (std::is_same_v<E, effect::RejectTask>)
          return "RejectTask";
        else
          static_assert(!sizeof(E), "unnamed effect");
      },
      e);
}

Names names(const Effects& effects) {
  Names out;
  for (const auto& e : effects) out.push_back(name_of(e));
  return out;
}

template <class E>
std::vector<E> all(const Effects& effects) {
  std::vector<E> out;
  for (const auto& e : effects)
    if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
  return out;
}

template <class E>
E only(const Effects& effects) {
  auto found = all<E>(effects);
  EXPECT_EQ(found.size(), 1u) << testing::PrintToString(names(effects));
  return found.empty() ? E{} : found.front();
}

StoredMessage slack(int64_t id, std::string text = "hi", std::string chat = "slack:C1") {
  StoredMessage m;
  m.id = id;
  m.channel = "slack";
  m.bot = "main";
  m.chat_jid = std::move(chat);
  m.sender_id = "U1";
  m.sender_name = "Alice";
  m.text = std::move(text);
  m.reply_ref = "thread-" + std::to_string(id);
  m.timestamp_ms = 1700000000000 + id;
  return m;
}

StoredMessage telegram(int64_t id, std::string text = "hi") {
  StoredMessage m;
  m.id = id;
  m.channel = "telegram";
  m.bot = "main";
  m.chat_jid = "tg:-100";
  m.sender_id = "7";
  m.sender_name = "Bob";
  m.text = std::move(text);
  m.message_ref = "m" + std::to_string(id);
  m.is_group = true;
  return m;
}

StoredMessage local(int64_t id, std::string text = "hi") {
  StoredMessage m;
  m.id = id;
  m.channel = "local";
  m.bot = "api";
  m.chat_jid = "local:alpha";
  m.sender_id = "operator";
  m.sender_name = "Operator";
  m.text = std::move(text);
  return m;
}

RunTransition to(const std::string& run, RunState from, RunState to_state) {
  return {run, from, to_state, ""};
}
RunOutput says(const std::string& run, std::string text, std::string chat = "") {
  RunOutput out;
  out.run_id = run;
  out.text = std::move(text);
  out.chat_jid = std::move(chat);
  return out;
}
RunOutput fails(const std::string& run, std::string error) {
  RunOutput out;
  out.run_id = run;
  out.turn_failed = true;
  out.error = std::move(error);
  return out;
}
RunResult ended(const std::string& run, RunState state, EndReason reason = EndReason::finished,
                std::string detail = "") {
  RunResult r;
  r.run_id = run;
  r.final_state = state;
  r.reason = reason;
  r.detail = std::move(detail);
  return r;
}

ScheduledRun task(int64_t run_id, std::string announce = "",
                  sb::schedule::ContextMode mode = sb::schedule::ContextMode::isolated) {
  ScheduledRun r;
  r.task_id = "task-a";
  r.run_id = run_id;
  r.namespace_id = kNs;
  r.namespace_name = "alpha";
  r.prompt = "do the thing";
  r.context_mode = mode;
  r.timeout_secs = 60;
  r.announce_jid = std::move(announce);
  return r;
}

// alpha (ns-1, not main) owns slack:C1, slack:C2 and tg:-100; beta owns slack:C9.
sb::routing::RoutingTable table() {
  sb::routing::RoutingRows rows;
  rows.namespaces.push_back({kNs, "alpha", false, "", true});
  rows.namespaces.push_back({"ns-2", "beta", false, "", true});
  rows.mappings = {{"slack:C1", kNs}, {"slack:C2", kNs}, {"tg:-100", kNs}, {"slack:C9", "ns-2"}};
  auto t = sb::routing::RoutingTable::build(rows, "Andy");
  EXPECT_TRUE(t.ok());
  return std::move(*t);
}

class Runner : public testing::Test {
 protected:
  NamespaceRunnerOptions options() {
    NamespaceRunnerOptions o;
    o.id = kNs;
    o.name = "alpha";
    o.max_batch = 20;
    o.start_retry = 100ms;
    o.max_turn_attempts = 3;
    o.ready = true;
    o.can_make_runs = [this] { return services_; };
    o.bots = {{"slack/main", ChannelKind::slack, true}, {"telegram/main", ChannelKind::telegram, true}};
    o.stored_bot = [](const std::string&) { return std::nullopt; };
    o.random_hex = [this] { return "r" + std::to_string(++hex_); };
    o.now = [this] { return now_; };
    o.metrics = &metrics_;
    return o;
  }
  NamespaceRunner make(NamespaceRunnerOptions o) {
    NamespaceRunner r(std::move(o));
    r.set_table(table());
    return r;
  }
  NamespaceRunner make() { return make(options()); }

  // Routes `m`, grants the slot and starts run `run`: the turn with m is delivered.
  Effects start(NamespaceRunner& r, StoredMessage m, const std::string& run = "run-1") {
    auto asked = r.route(std::move(m));
    EXPECT_EQ(names(asked), Names{"AskSlot"});
    auto granted = r.granted();
    EXPECT_EQ(names(granted), Names{"StartRun"});
    return r.run_started(run);
  }
  // The running turn finishes (running -> idle).
  Effects finish_turn(NamespaceRunner& r, const std::string& run = "run-1") {
    (void)r.transition(to(run, RunState::idle, RunState::running));
    return r.transition(to(run, RunState::running, RunState::idle));
  }
  double counter(const std::string& name, const sb::metrics::Labels& labels) {
    return static_cast<double>(metrics_.counter(name, "", labels).value());
  }

  bool services_ = true;
  int hex_ = 0;
  std::chrono::steady_clock::time_point now_{};
  sb::metrics::Registry metrics_;
};

// ---- slots and starts ------------------------------------------------------------------

TEST_F(Runner, AMessageWithoutARunAsksForASlotOnce) {
  auto r = make();
  auto fx = r.route(slack(1));
  EXPECT_EQ(names(fx), Names{"AskSlot"});
  EXPECT_FALSE(only<effect::AskSlot>(fx).scheduled);
  EXPECT_EQ(r.slot(), NamespaceRunner::Slot::waiting);
  EXPECT_TRUE(r.route(slack(2)).empty());  // already waiting
  EXPECT_EQ(r.queue().pending(), 2u);
  EXPECT_EQ(r.status().state, "waiting");
}

TEST_F(Runner, AGrantStartsARunThatGetsTheTurn) {
  auto r = make();
  (void)r.route(slack(1, "hello"));
  (void)r.route(slack(2, "again"));
  auto fx = r.granted();
  ASSERT_EQ(names(fx), Names{"StartRun"});
  EXPECT_EQ(only<effect::StartRun>(fx).run_id, "ns-alpha-r1");
  EXPECT_EQ(r.slot(), NamespaceRunner::Slot::held);
  fx = r.run_started("ns-alpha-r1");
  // The boundary is stored before the agent sees the turn; slack: no typing indicator.
  ASSERT_EQ(names(fx), (Names{"MarkTurnStarted", "Deliver", "MarkBusy"}));
  auto mark = only<effect::MarkTurnStarted>(fx);
  EXPECT_EQ(mark.ids, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(mark.last_id, 2);
  auto d = only<effect::Deliver>(fx);
  EXPECT_EQ(d.run_id, "ns-alpha-r1");
  EXPECT_EQ(d.input_id, "2");  // the turn's last id
  EXPECT_NE(d.text.find("hello"), std::string::npos);
  EXPECT_NE(d.text.find("again"), std::string::npos);
  EXPECT_EQ(d.text, r.turn()->input);
  EXPECT_EQ(r.status().state, "busy");
  EXPECT_EQ(r.status().detail, "pending 0, tasks 0, cursor 0, run ns-alpha-r1");
}

TEST_F(Runner, NothingStartsBeforeReadyOrWithoutServices) {
  auto o = options();
  o.ready = false;
  auto r = make(o);
  EXPECT_TRUE(r.route(slack(1)).empty());
  EXPECT_EQ(names(r.ready()), Names{"AskSlot"});

  services_ = false;
  auto r2 = make();
  EXPECT_TRUE(r2.route(slack(1)).empty());
  EXPECT_EQ(r2.status().state, "stopped");
}

TEST_F(Runner, AGrantWithNothingToDoIsGivenBack) {
  auto r = make();
  EXPECT_EQ(names(r.granted()), Names{"ReleaseSlot"});
  EXPECT_EQ(r.slot(), NamespaceRunner::Slot::none);
}

TEST_F(Runner, ReplaysAreRefused) {
  auto o = options();
  o.start_cursor = 10;
  auto r = make(o);
  EXPECT_TRUE(r.route(slack(10)).empty());  // at the cursor: finished before
  EXPECT_EQ(names(r.route(slack(11))), Names{"AskSlot"});
  EXPECT_TRUE(r.route(slack(11)).empty());  // accepted already
  std::vector<StoredMessage> batch;
  batch.push_back(slack(11));
  batch.push_back(slack(9));
  EXPECT_TRUE(r.route(std::move(batch)).empty());
  EXPECT_EQ(r.queue().pending(), 1u);
}

// ---- turns -----------------------------------------------------------------------------

TEST_F(Runner, ATurnThatEndsIsRecordedAndTheAgentMarkedIdle) {
  auto r = make();
  (void)r.route(slack(5));
  (void)r.route(slack(6));
  (void)r.granted();
  (void)r.run_started("run-1");
  auto fx = finish_turn(r);
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "MarkIdle"}));
  auto rec = only<effect::RecordTurn>(fx);
  EXPECT_EQ(rec.ids, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(rec.drop_reason, "");
  EXPECT_EQ(rec.cursor, 6);
  EXPECT_EQ(r.status().state, "idle");
  EXPECT_EQ(counter("squadbox_namespace_turns_total", {{"result", "ok"}}), 1);
  // The next message goes straight to the idle agent.
  fx = r.route(slack(7));
  ASSERT_EQ(names(fx), (Names{"MarkTurnStarted", "Deliver", "MarkBusy"}));
  EXPECT_EQ(only<effect::Deliver>(fx).input_id, "7");
}

TEST_F(Runner, MessagesWhileBusyFormTheNextTurn) {
  auto r = make();
  (void)start(r, slack(1));
  for (int64_t id = 2; id <= 4; ++id) EXPECT_TRUE(r.route(slack(id)).empty());
  EXPECT_EQ(r.queue().pending(), 3u);
  auto fx = finish_turn(r);
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "MarkTurnStarted", "Deliver", "MarkBusy"}));  // busy again: no idle
  EXPECT_EQ(only<effect::RecordTurn>(fx).ids, std::vector<int64_t>{1});
  EXPECT_EQ(only<effect::Deliver>(fx).input_id, "4");
  EXPECT_EQ(r.turn()->messages.size(), 3u);
}

TEST_F(Runner, RepliesCarryReplyToForTheTurnsChatAndStableKeys) {
  auto r = make();
  (void)start(r, slack(3));
  auto fx = r.output(says("run-1", "one"));
  auto s = only<effect::SendText>(fx);
  EXPECT_EQ(s.bot, "slack/main");
  EXPECT_EQ(s.jid, "slack:C1");
  EXPECT_EQ(s.text, "one");
  EXPECT_EQ(s.reply_to, "thread-3");  // the Slack thread of the turn's last message
  EXPECT_EQ(s.idempotency_key, "ns-1:3:0");
  // Another chat of the namespace: no reply_to, the next key.
  s = only<effect::SendText>(r.output(says("run-1", "two", "slack:C2")));
  EXPECT_EQ(s.jid, "slack:C2");
  EXPECT_EQ(s.reply_to, "");
  EXPECT_EQ(s.idempotency_key, "ns-1:3:1");
  // A chat of another namespace is denied; internal-only text is dropped.
  EXPECT_TRUE(r.output(says("run-1", "three", "slack:C9")).empty());
  EXPECT_TRUE(r.output(says("run-1", "<internal>thinking</internal>")).empty());
  EXPECT_EQ(counter("squadbox_namespace_replies_total", {{"result", "denied"}}), 1);
  EXPECT_EQ(counter("squadbox_namespace_replies_total", {{"result", "empty"}}), 1);
  s = only<effect::SendText>(r.output(says("run-1", "four <internal>x</internal>")));
  EXPECT_EQ(s.text.find("internal"), std::string::npos) << s.text;
  EXPECT_EQ(s.idempotency_key, "ns-1:3:2");
}

TEST_F(Runner, ARestartResetsTheReplyCounterSoKeysRepeat) {
  auto r = make();
  (void)start(r, slack(3));
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "a"))).idempotency_key, "ns-1:3:0");
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "b"))).idempotency_key, "ns-1:3:1");
  auto fx = r.transition(to("run-1", RunState::running, RunState::backoff));
  auto line = only<effect::SendText>(fx);
  EXPECT_EQ(line.text, "[squadbox] agent container restarting after a crash (attempt 2)");
  EXPECT_EQ(line.jid, "slack:C1");
  EXPECT_EQ(line.idempotency_key, "");  // lifecycle lines are never deduplicated
  // The supervisor re-delivers the turn; the agent's answers get the same keys.
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "a"))).idempotency_key, "ns-1:3:0");
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "b"))).idempotency_key, "ns-1:3:1");
  fx = r.transition(to("run-1", RunState::running, RunState::backoff));
  EXPECT_EQ(only<effect::SendText>(fx).text, "[squadbox] agent container restarting after a crash (attempt 3)");
}

// Exactly once across a failure or a crash: a turn that went to the agent is formed again
// as the same batch, so the replies it already stored keep their idempotency keys
// (namespace:last_id:n) and the outbox refuses them the second time.
TEST_F(Runner, ARetriedTurnIsTheSameBatchEvenWhenItsChatGotNewerMessages) {
  auto r = make();
  (void)start(r, slack(4));
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "part one"))).idempotency_key, "ns-1:4:0");
  (void)r.output(fails("run-1", "model error"));
  auto fx = r.transition(to("run-1", RunState::running, RunState::idle));
  EXPECT_TRUE(r.route(slack(5, "newer")).empty());
  fx = r.retry_due(only<effect::ScheduleRetry>(fx).token);
  ASSERT_EQ(names(fx), (Names{"Deliver", "MarkBusy"}));  // its boundary is stored already
  EXPECT_EQ(only<effect::Deliver>(fx).input_id, "4");
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "part one"))).idempotency_key, "ns-1:4:0");
  fx = r.transition(to("run-1", RunState::running, RunState::idle));
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "MarkTurnStarted", "Deliver", "MarkBusy"}));
  EXPECT_EQ(only<effect::Deliver>(fx).input_id, "5");
}

TEST_F(Runner, AReplayedTurnStopsAtItsStoredBoundaryAndIsNotMarkedAgain) {
  auto r = make();
  std::vector<StoredMessage> replay;
  for (int64_t id = 1; id <= 4; ++id) {
    auto m = slack(id);
    if (id <= 2) m.turn_last_id = 2;  // stored when that turn started, before the crash
    replay.push_back(std::move(m));
  }
  EXPECT_EQ(names(r.route(std::move(replay))), Names{"AskSlot"});
  (void)r.granted();
  auto fx = r.run_started("run-1");
  ASSERT_EQ(names(fx), (Names{"Deliver", "MarkBusy"}));
  EXPECT_EQ(only<effect::Deliver>(fx).input_id, "2");
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "answer"))).idempotency_key, "ns-1:2:0");
  fx = r.transition(to("run-1", RunState::running, RunState::idle));
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "MarkTurnStarted", "Deliver", "MarkBusy"}));
  EXPECT_EQ(only<effect::MarkTurnStarted>(fx).ids, (std::vector<int64_t>{3, 4}));
}

TEST_F(Runner, AFailedTurnIsRetriedThenDroppedWithTheGaveUpLine) {
  auto r = make();
  (void)start(r, slack(4));
  for (int attempt = 1; attempt <= 2; ++attempt) {
    (void)r.transition(to("run-1", RunState::idle, RunState::running));
    EXPECT_TRUE(r.output(fails("run-1", "model error")).empty());
    auto fx = r.transition(to("run-1", RunState::running, RunState::idle));
    ASSERT_EQ(names(fx), (Names{"MarkIdle", "ScheduleRetry"})) << attempt;
    auto retry = only<effect::ScheduleRetry>(fx);
    EXPECT_EQ(retry.delay, 100ms);  // start_retry, not doubled: the container is fine
    EXPECT_TRUE(r.route(slack(10 + attempt, "later", "slack:C2")).empty());  // waits for the retry
    fx = r.retry_due(retry.token);
    ASSERT_EQ(names(fx), (Names{"Deliver", "MarkBusy"}));
    EXPECT_EQ(only<effect::Deliver>(fx).input_id, "4");  // the same turn again, alone
  }
  EXPECT_EQ(counter("squadbox_namespace_turns_total", {{"result", "failed"}}), 2);
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  (void)r.output(fails("run-1", "model error"));
  auto fx = r.transition(to("run-1", RunState::running, RunState::idle));
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "SendText", "MarkTurnStarted", "Deliver", "MarkBusy"}));
  auto rec = only<effect::RecordTurn>(fx);
  EXPECT_EQ(rec.ids, std::vector<int64_t>{4});
  EXPECT_EQ(rec.drop_reason, "turn_failed: model error");
  EXPECT_EQ(rec.cursor, 4);
  auto line = only<effect::SendText>(fx);
  EXPECT_EQ(line.text, "[squadbox] the agent could not answer (model error); the message was dropped");
  EXPECT_EQ(line.jid, "slack:C1");
  EXPECT_EQ(only<effect::Deliver>(fx).input_id, "12");  // what waited (the other chat) goes on
  EXPECT_EQ(counter("squadbox_namespace_turns_total", {{"result", "dropped"}}), 1);
}

// The llm agent already retried the upstream; its failure (a 401, a step limit) is
// final: no second attempt (that would ask the model again), its line goes to the chat
// once, with the turn's reply key.
TEST_F(Runner, AFinalFailureOfTheAgentIsGivenUpAtOnceWithItsOwnLine) {
  auto r = make();
  (void)start(r, slack(4));
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  auto out = fails("run-1", "[squadbox] the model request failed: HTTP 401 authentication_error\nsecond line");
  out.retryable = false;
  EXPECT_TRUE(r.output(out).empty());
  auto fx = r.transition(to("run-1", RunState::running, RunState::idle));
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "SendText", "MarkIdle"}));
  auto line = only<effect::SendText>(fx);
  EXPECT_EQ(line.text, "[squadbox] the model request failed: HTTP 401 authentication_error second line");
  EXPECT_EQ(line.idempotency_key, "ns-1:4:0");
  EXPECT_EQ(only<effect::RecordTurn>(fx).drop_reason.rfind("turn_failed: ", 0), 0u);
  EXPECT_EQ(counter("squadbox_namespace_turns_total", {{"result", "failed_final"}}), 1);
}

// Progress lines (one per tool call) are for terminals: never a chat reply.
TEST_F(Runner, ProgressLinesAreNotReplies) {
  auto r = make();
  (void)start(r, slack(4));
  auto line = says("run-1", "bash: exit code 0 (16 ms)");
  line.progress = true;
  EXPECT_TRUE(r.output(line).empty());
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "the answer"))).text, "the answer");
}

TEST_F(Runner, ASucceededTurnEndsTheFailureStreak) {
  auto r = make();
  (void)start(r, slack(1));
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  (void)r.output(fails("run-1", "x"));
  auto fx = r.transition(to("run-1", RunState::running, RunState::idle));
  (void)r.retry_due(only<effect::ScheduleRetry>(fx).token);
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  (void)r.output(fails("run-1", "x"));
  fx = r.transition(to("run-1", RunState::running, RunState::idle));
  (void)r.retry_due(only<effect::ScheduleRetry>(fx).token);
  fx = finish_turn(r);  // the third attempt works
  EXPECT_EQ(only<effect::RecordTurn>(fx).drop_reason, "");
  // A new turn that fails twice is not dropped: the streak ended with the success.
  (void)r.route(slack(2));
  for (int i = 0; i < 2; ++i) {
    (void)r.transition(to("run-1", RunState::idle, RunState::running));
    (void)r.output(fails("run-1", "x"));
    fx = r.transition(to("run-1", RunState::running, RunState::idle));
    ASSERT_EQ(names(fx), (Names{"MarkIdle", "ScheduleRetry"}));
    (void)r.retry_due(only<effect::ScheduleRetry>(fx).token);
  }
}

TEST_F(Runner, AContainerThatNeverStartedDoesNotCountAgainstTheMessages) {
  auto r = make();
  (void)start(r, slack(1));
  for (int i = 0; i < 5; ++i) {
    // The run dies before its agent ever ran the turn: the turn goes back, unharmed.
    const std::string run = "run-" + std::to_string(i + 1);
    auto fx = r.done(ended(run, RunState::dead, EndReason::gave_up, "image missing"));
    ASSERT_EQ(names(fx), (Names{"ForgetRun", "SendText", "ReleaseSlot", "ScheduleRetry"})) << i;
    EXPECT_EQ(only<effect::ForgetRun>(fx).run_id, run);
    EXPECT_TRUE(all<effect::RecordTurn>(fx).empty());
    EXPECT_EQ(r.queue().pending(), 1u);
    EXPECT_EQ(names(r.retry_due(only<effect::ScheduleRetry>(fx).token)), Names{"AskSlot"});
    EXPECT_EQ(names(r.granted()), Names{"StartRun"});
    fx = r.run_started("run-" + std::to_string(i + 2));
    ASSERT_EQ(names(fx), (Names{"Deliver", "MarkBusy"}));
  }
  EXPECT_EQ(counter("squadbox_namespace_turns_total", {{"result", "dropped"}}), 0);
  // Its first real failure is its first attempt: retried, not dropped.
  (void)r.transition(to("run-6", RunState::starting, RunState::running));
  (void)r.output(fails("run-6", "model error"));
  auto fx = r.transition(to("run-6", RunState::running, RunState::idle));
  EXPECT_EQ(names(fx), (Names{"MarkIdle", "ScheduleRetry"}));
}

TEST_F(Runner, ARunThatDiesMidTurnCountsAsAnAttempt) {
  auto o = options();
  o.max_turn_attempts = 1;
  auto r = make(o);
  (void)start(r, slack(1));
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  auto fx = r.done(ended("run-1", RunState::exited, EndReason::idle_timeout));
  // Dropped at once (one attempt allowed), no retry: nothing else waits.
  ASSERT_EQ(names(fx), (Names{"ForgetRun", "RecordTurn", "SendText", "ReleaseSlot"}));
  EXPECT_EQ(only<effect::RecordTurn>(fx).drop_reason, "turn_failed: agent container ended: idle_timeout");
  EXPECT_FALSE(r.has_run());
  EXPECT_EQ(r.status().state, "stopped");
}

TEST_F(Runner, AFailedStartIsRetriedWithADoublingDelay) {
  auto r = make();
  (void)r.route(slack(1));
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(names(r.granted()), Names{"StartRun"});
    auto fx = r.start_failed("image missing");
    ASSERT_EQ(names(fx), (Names{"SendText", "ReleaseSlot", "ScheduleRetry"}));
    auto retry = only<effect::ScheduleRetry>(fx);
    delays.push_back(retry.delay);
    EXPECT_EQ(only<effect::SendText>(fx).text, "[squadbox] agent container is down: image missing; retrying in " +
                                                   sb::namespaces::format_seconds(retry.delay));
    EXPECT_TRUE(r.route(slack(10 + i)).empty());  // no new request while the retry waits
    EXPECT_EQ(names(r.retry_due(retry.token)), Names{"AskSlot"});
  }
  EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms}));
  EXPECT_EQ(counter("squadbox_namespace_container_failures_total", {}), 3);
  // A run that gets going resets the streak.
  (void)r.granted();
  (void)r.run_started("run-1");
  (void)r.transition(to("run-1", RunState::starting, RunState::running));
  auto fx = r.done(ended("run-1", RunState::dead, EndReason::gave_up, "crashed"));
  EXPECT_EQ(only<effect::ScheduleRetry>(fx).delay, 100ms);
}

TEST_F(Runner, ADeadRunWithNothingPendingWaitsForTheNextMessage) {
  auto r = make();
  (void)start(r, slack(1));
  (void)finish_turn(r);
  auto fx = r.done(ended("run-1", RunState::dead, EndReason::gave_up, "oom"));
  ASSERT_EQ(names(fx), (Names{"ForgetRun", "SendText", "ReleaseSlot"}));
  EXPECT_EQ(only<effect::SendText>(fx).text,
            "[squadbox] agent container is down: oom; the next message starts a new one");
  EXPECT_EQ(names(r.route(slack(2))), Names{"AskSlot"});
}

TEST_F(Runner, AnIdleExitFreesTheSlotQuietly) {
  auto r = make();
  (void)start(r, slack(1));
  (void)finish_turn(r);
  auto fx = r.done(ended("run-1", RunState::exited, EndReason::idle_timeout));
  EXPECT_EQ(names(fx), (Names{"ForgetRun", "ReleaseSlot"}));
}

// ---- stale events ----------------------------------------------------------------------

TEST_F(Runner, EventsOfOtherRunsAreIgnored) {
  auto r = make();
  EXPECT_TRUE(r.output(says("", "nobody asked")).empty());  // no run, no chat yet
  (void)start(r, slack(1));
  EXPECT_TRUE(r.output(says("run-0", "old")).empty());
  EXPECT_TRUE(r.output(fails("run-0", "old")).empty());
  EXPECT_TRUE(r.transition(to("run-0", RunState::running, RunState::idle)).empty());
  EXPECT_TRUE(r.transition(to("run-0", RunState::running, RunState::backoff)).empty());
  EXPECT_TRUE(r.done(ended("run-0", RunState::dead)).empty());
  EXPECT_EQ(r.status().state, "busy");
  // The run ends; a new one starts; the old one's late output goes nowhere.
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  auto fx = r.done(ended("run-1", RunState::dead, EndReason::gave_up));
  EXPECT_EQ(names(r.retry_due(only<effect::ScheduleRetry>(fx).token)), Names{"AskSlot"});
  (void)r.granted();
  (void)r.run_started("run-2");
  EXPECT_TRUE(r.output(says("run-1", "late")).empty());
  EXPECT_TRUE(r.done(ended("run-1", RunState::exited)).empty());
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-2", "fresh"))).idempotency_key, "ns-1:1:0");
}

TEST_F(Runner, OnlyTheNewestRetryCounts) {
  auto r = make();
  (void)r.route(slack(1));
  (void)r.granted();
  auto first = only<effect::ScheduleRetry>(r.start_failed("down"));
  EXPECT_EQ(names(r.retry_due(first.token)), Names{"AskSlot"});
  (void)r.granted();
  auto second = only<effect::ScheduleRetry>(r.start_failed("down"));
  EXPECT_NE(first.token, second.token);
  EXPECT_TRUE(r.retry_due(first.token).empty());  // an old timer
  EXPECT_EQ(names(r.retry_due(second.token)), Names{"AskSlot"});
}

TEST_F(Runner, TypingIsSentPerTurnAndRenewedUntilItEnds) {
  auto r = make();
  auto fx = start(r, telegram(1));
  ASSERT_EQ(names(fx), (Names{"MarkTurnStarted", "Deliver", "MarkBusy", "SendTyping", "ScheduleTyping"}));
  auto typing = only<effect::SendTyping>(fx);
  EXPECT_EQ(typing.bot, "telegram/main");
  EXPECT_EQ(typing.jid, "tg:-100");
  EXPECT_EQ(typing.message_id, "m1");
  auto timer = only<effect::ScheduleTyping>(fx);
  EXPECT_EQ(timer.delay, 4000ms);  // Telegram's 5 s less one
  fx = r.typing_due(timer.token);
  ASSERT_EQ(names(fx), (Names{"SendTyping", "ScheduleTyping"}));
  EXPECT_EQ(only<effect::ScheduleTyping>(fx).token, timer.token);
  // The reply quotes the group message.
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "ok"))).reply_to, "m1");
  (void)finish_turn(r);
  EXPECT_TRUE(r.typing_due(timer.token).empty());  // the turn is over
  fx = r.route(telegram(2));
  auto next = only<effect::ScheduleTyping>(fx);
  EXPECT_NE(next.token, timer.token);
  EXPECT_TRUE(r.typing_due(timer.token).empty());  // an old turn's timer
  EXPECT_EQ(names(r.typing_due(next.token)), (Names{"SendTyping", "ScheduleTyping"}));
}

TEST_F(Runner, TheBotOfTheChatsNewestMessageCarriesReplies) {
  auto o = options();
  o.bots.push_back({"slack/other", ChannelKind::slack, true});
  std::vector<std::string> asked;
  o.stored_bot = [&asked](const std::string& jid) -> std::optional<std::string> {
    asked.push_back(jid);
    return "slack/other";
  };
  auto r = make(o);
  auto m = slack(1);
  m.bot = "other";
  (void)start(r, std::move(m));
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "a"))).bot, "slack/other");
  EXPECT_TRUE(asked.empty());  // known from the routed message
  EXPECT_EQ(only<effect::SendText>(r.output(says("run-1", "b", "slack:C2"))).bot, "slack/other");
  EXPECT_EQ(asked, Names{"slack:C2"});  // the stored latest bot of that chat
  // No bot for the platform: dropped and counted.
  auto o2 = options();
  o2.bots = {{"telegram/main", ChannelKind::telegram, true}};
  auto r2 = make(o2);
  (void)start(r2, slack(1));
  EXPECT_TRUE(r2.output(says("run-1", "a")).empty());
  EXPECT_EQ(counter("squadbox_namespace_replies_total", {{"result", "no_bot"}}), 1);
}

// ---- local chats -----------------------------------------------------------------------

TEST_F(Runner, LocalChatsGetHubRepliesAndTurnEnds) {
  auto r = make();
  (void)start(r, local(1));
  auto fx = r.output(says("run-1", "hello operator"));
  ASSERT_EQ(names(fx), Names{"LocalReply"});
  auto reply = only<effect::LocalReply>(fx);
  EXPECT_EQ(reply.jid, "local:alpha");
  EXPECT_EQ(reply.first_id, 1);
  EXPECT_EQ(reply.last_id, 1);
  EXPECT_EQ(reply.text, "hello operator");
  fx = finish_turn(r);
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "FinishLocalTurn", "MarkIdle"}));
  EXPECT_EQ(only<effect::FinishLocalTurn>(fx).error, "");
  // Outside a turn a local chat has no waiter: nothing.
  EXPECT_TRUE(r.output(says("run-1", "later")).empty());
}

TEST_F(Runner, AFailedLocalTurnTellsItsWaiterAndNoGaveUpLineIsSent) {
  auto o = options();
  o.max_turn_attempts = 1;
  auto r = make(o);
  (void)start(r, local(1));
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  (void)r.output(fails("run-1", "boom"));
  auto fx = r.transition(to("run-1", RunState::running, RunState::idle));
  ASSERT_EQ(names(fx), (Names{"FinishLocalTurn", "RecordTurn", "MarkIdle"}));
  EXPECT_EQ(only<effect::FinishLocalTurn>(fx).error, "boom");
  EXPECT_EQ(only<effect::RecordTurn>(fx).drop_reason, "turn_failed: boom");
}

// ---- pre-emption -----------------------------------------------------------------------

TEST_F(Runner, AnIdleContainerIsStoppedAtOnce) {
  auto r = make();
  (void)start(r, slack(1));
  (void)finish_turn(r);
  auto fx = r.stop();
  ASSERT_EQ(names(fx), Names{"StopRun"});
  EXPECT_EQ(only<effect::StopRun>(fx).run_id, "run-1");
  fx = r.done(ended("run-1", RunState::exited, EndReason::stopped));
  EXPECT_EQ(names(fx), (Names{"ForgetRun", "ReleaseSlot"}));
  EXPECT_TRUE(r.stop().empty());  // no container: nothing to stop
}

TEST_F(Runner, ABusyTurnIsNeverPreemptedItStopsAfterwards) {
  auto r = make();
  (void)start(r, slack(1));
  EXPECT_TRUE(r.stop().empty());
  EXPECT_TRUE(r.route(slack(2)).empty());
  auto fx = finish_turn(r);
  // The turn is recorded; what waits needs a new container.
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "StopRun", "MarkIdle"}));
  EXPECT_EQ(names(r.route(slack(3))), Names{"StopRun"});  // (asked again; the pool waits for its exit)
  fx = r.done(ended("run-1", RunState::exited, EndReason::stopped));
  ASSERT_EQ(names(fx), (Names{"ForgetRun", "ReleaseSlot", "AskSlot"}));
}

// ---- scheduled runs --------------------------------------------------------------------

TEST_F(Runner, AScheduledRunQueuedWhileIdleRunsBeforeWaitingMessages) {
  auto r = make();
  (void)start(r, slack(1));
  (void)finish_turn(r);
  auto fx = r.push_task(task(7));
  ASSERT_EQ(names(fx), Names{"AskSlot(scheduled)"});
  EXPECT_TRUE(r.route(slack(2)).empty());  // waits behind the run
  fx = r.stop();                           // the pool stops the own idle container
  ASSERT_EQ(names(fx), Names{"StopRun"});
  fx = r.done(ended("run-1", RunState::exited, EndReason::stopped));
  ASSERT_EQ(names(fx), (Names{"ForgetRun", "ReleaseSlot"}));  // still waiting: the slot comes back
  EXPECT_EQ(r.slot(), NamespaceRunner::Slot::waiting);
  fx = r.granted();
  ASSERT_EQ(names(fx), Names{"StartTaskRun"});
  auto start_task = only<effect::StartTaskRun>(fx);
  EXPECT_EQ(start_task.run_id, "task-alpha-r2");
  EXPECT_TRUE(start_task.isolated_session);
  EXPECT_EQ(start_task.hard_timeout, 60s);
  EXPECT_EQ(start_task.image, "");
  EXPECT_EQ(r.status().state, "task");
  fx = r.task_started("/runs/task-alpha-r2/session");
  ASSERT_EQ(names(fx), Names{"Deliver"});
  auto d = only<effect::Deliver>(fx);
  EXPECT_EQ(d.run_id, "task-alpha-r2");
  EXPECT_EQ(d.input_id, "task-7");
  EXPECT_EQ(d.text, "do the thing");
  EXPECT_TRUE(r.output(says("task-alpha-r2", "part one")).empty());  // no announce chat
  EXPECT_TRUE(r.output(says("task-alpha-r2", "part two")).empty());
  (void)r.transition(to("task-alpha-r2", RunState::idle, RunState::running));
  fx = r.transition(to("task-alpha-r2", RunState::running, RunState::idle));
  ASSERT_EQ(names(fx), Names{"CloseRun"});
  EXPECT_TRUE(r.transition(to("task-alpha-r2", RunState::running, RunState::idle)).empty());  // closed once
  now_ += 1500ms;
  fx = r.done(ended("task-alpha-r2", RunState::exited));
  ASSERT_EQ(names(fx), (Names{"ForgetRun", "AnswerTask", "ReleaseSlot", "AskSlot"}));
  auto answer = only<effect::AnswerTask>(fx);
  EXPECT_EQ(answer.status, RunStatus::success);
  EXPECT_EQ(answer.result, "part one\npart two");
  EXPECT_EQ(answer.error, "");
  EXPECT_EQ(answer.remove_dir, "/runs/task-alpha-r2/session");
  EXPECT_EQ(counter("squadbox_scheduled_runs_total", {{"status", "success"}}), 1);
}

TEST_F(Runner, AScheduledRunWaitsForABusyTurn) {
  auto r = make();
  (void)start(r, slack(1));
  EXPECT_TRUE(r.push_task(task(7, "", sb::schedule::ContextMode::group)).empty());
  auto fx = finish_turn(r);
  ASSERT_EQ(names(fx), (Names{"RecordTurn", "AskSlot(scheduled)", "MarkIdle"}));
  EXPECT_TRUE(r.push_task(task(8)).empty());  // one request at a time
  EXPECT_EQ(r.tasks_waiting(), 2u);
  EXPECT_EQ(r.status().detail, "pending 0, tasks 2, cursor 1, run run-1");
}

TEST_F(Runner, AScheduledRunWithoutAContainerAsksForAScheduledSlot) {
  auto r = make();
  (void)r.route(slack(1));  // waiting for a message slot
  auto fx = r.push_task(task(7, "", sb::schedule::ContextMode::group));
  ASSERT_EQ(names(fx), Names{"AskSlot(scheduled)"});  // upgraded
  fx = r.granted();
  ASSERT_EQ(names(fx), Names{"StartTaskRun"});
  EXPECT_FALSE(only<effect::StartTaskRun>(fx).isolated_session);
  fx = r.task_started("/sessions/alpha");
  (void)r.transition(to("task-alpha-r1", RunState::idle, RunState::running));
  (void)r.transition(to("task-alpha-r1", RunState::running, RunState::idle));
  fx = r.done(ended("task-alpha-r1", RunState::exited));
  EXPECT_EQ(only<effect::AnswerTask>(fx).remove_dir, "");  // the group's session stays
  // The message goes on: no run, no slot: ask.
  EXPECT_EQ(names(fx), (Names{"ForgetRun", "AnswerTask", "ReleaseSlot", "AskSlot"}));
}

TEST_F(Runner, ScheduledRunOutcomes) {
  auto r = make();
  (void)r.push_task(task(1));
  (void)r.granted();
  auto fx = r.task_start_failed("no image");
  ASSERT_EQ(names(fx), (Names{"AnswerTask", "ReleaseSlot"}));
  auto answer = only<effect::AnswerTask>(fx);
  EXPECT_EQ(answer.status, RunStatus::error);
  EXPECT_EQ(answer.error, "the scheduled container could not start: no image");
  EXPECT_EQ(answer.remove_dir, "");

  (void)r.push_task(task(2));
  (void)r.granted();
  (void)r.task_started("/s2");
  fx = r.done(ended("task-alpha-r2", RunState::exited, EndReason::hard_timeout));
  answer = only<effect::AnswerTask>(fx);
  EXPECT_EQ(answer.status, RunStatus::timeout);
  EXPECT_EQ(answer.remove_dir, "/s2");

  (void)r.push_task(task(3));
  (void)r.granted();
  (void)r.task_started("/s3");
  (void)r.output(fails("task-alpha-r3", "the script failed"));
  (void)r.transition(to("task-alpha-r3", RunState::running, RunState::idle));
  answer = only<effect::AnswerTask>(r.done(ended("task-alpha-r3", RunState::exited)));
  EXPECT_EQ(answer.status, RunStatus::error);
  EXPECT_EQ(answer.error, "the script failed");
  EXPECT_EQ(counter("squadbox_scheduled_runs_total", {{"status", "error"}}), 2);
  EXPECT_EQ(counter("squadbox_scheduled_runs_total", {{"status", "timeout"}}), 1);
}

TEST_F(Runner, WithoutContainerServicesScheduledRunsAreAnsweredAtOnce) {
  services_ = false;
  auto r = make();
  auto fx = r.push_task(task(1));
  ASSERT_EQ(names(fx), Names{"RejectTask"});
  EXPECT_EQ(only<effect::RejectTask>(fx).error, "this node has no container services");
  EXPECT_EQ(r.tasks_waiting(), 0u);
}

TEST_F(Runner, ATaskAnnouncesOnlyToAllowedChatsWithTaskKeys) {
  auto r = make();
  (void)r.push_task(task(7, "slack:C1"));
  (void)r.granted();
  (void)r.task_started("/s");
  const std::string run = "task-alpha-r1";
  auto s = only<effect::SendText>(r.output(says(run, "first")));
  EXPECT_EQ(s.jid, "slack:C1");
  EXPECT_EQ(s.bot, "slack/main");
  EXPECT_EQ(s.reply_to, "");
  EXPECT_EQ(s.idempotency_key, "task:7:0");
  EXPECT_TRUE(r.output(says(run, "elsewhere", "slack:C9")).empty());  // another namespace's chat
  EXPECT_TRUE(r.output(says(run, "local", "local:alpha")).empty());   // nobody waits there
  EXPECT_TRUE(r.output(says(run, "<internal>x</internal>")).empty());
  s = only<effect::SendText>(r.output(says(run, "own other chat", "slack:C2")));
  EXPECT_EQ(s.idempotency_key, "task:7:1");
  (void)r.transition(to(run, RunState::running, RunState::idle));
  auto answer = only<effect::AnswerTask>(r.done(ended(run, RunState::exited)));
  // Every message is part of the result, announced or not.
  EXPECT_EQ(answer.result, "first\nelsewhere\nlocal\nown other chat");
}

TEST_F(Runner, AMessageRunDroppingItsTurnMayStartAWaitingTaskFirst) {
  // As the actor did: the dropped turn's pump starts the waiting scheduled run on the
  // slot it still holds; the rest of the run's end follows the start's outcome.
  auto o = options();
  o.max_turn_attempts = 1;
  auto r = make(o);
  (void)start(r, slack(1));
  (void)r.route(slack(2));
  (void)r.push_task(task(7));  // waits for the busy turn
  (void)r.transition(to("run-1", RunState::idle, RunState::running));
  auto fx = r.done(ended("run-1", RunState::dead, EndReason::gave_up, "crashed"));
  ASSERT_EQ(names(fx), (Names{"ForgetRun", "RecordTurn", "SendText", "StartTaskRun"}));
  fx = r.task_started("/s");
  // The task's input, then what is left of the run's end: down line, slot, retry.
  ASSERT_EQ(names(fx), (Names{"Deliver", "SendText", "ReleaseSlot", "ScheduleRetry"}));
}

}  // namespace
