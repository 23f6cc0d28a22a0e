#pragma once
// The state machine of one Namespace actor (docs/namespace-queue.md "The namespace
// runner"): its slot, its message container and turns (a TurnQueue), the replies and
// their idempotency keys, failure streaks and start retries, the typing indicator, the
// scheduled runs that go before messages, and pre-emption. Every event (a routed
// message, a slot granted, a run's output, a timer due, ...) returns the effects the
// shell carries out, in order: sends to the manager and the containers, outbox and local
// hub replies, timers, storage writes and container starts. The same shape as SlotPool's
// PoolDecision; the actor (actors/namespaces/namespace_actor.cpp) is a thin shell.
//
// No CAF and no storage: what needs I/O comes in as data or small functions (the routing
// table, the stored latest bot of a chat, whether container services exist, the random
// part of run ids, the clock). It logs its decisions and counts them in the metrics
// registry, like the actor did.
//
// Starting a container is two steps: StartRun / StartTaskRun is always the last effect
// of an event, and the shell answers it at once (before any other event) with
// run_started / start_failed, or task_started / task_start_failed, whose effects follow.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/container/run_events.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/messaging/stored_message.hpp"
#include "runtime/namespaces/reply_plan.hpp"
#include "runtime/namespaces/scheduled_run_rules.hpp"
#include "runtime/namespaces/turn_queue.hpp"
#include "runtime/routing/routing_table.hpp"
#include "runtime/schedule/scheduled_run.hpp"

namespace sb::namespaces {

namespace effect {

// To the NamespaceManager's slot pool.
struct AskSlot {
  bool scheduled = false;  // RequestKind::scheduled: for a scheduled run (may pre-empt)
};
// Give the slot back. Also sent while a scheduled request is outstanding: the message
// container was stopped for it and the pool hands the slot straight back (granted).
struct ReleaseSlot {};
struct MarkBusy {};  // a turn went to the agent
struct MarkIdle {};  // the agent waits for input

// Build and supervise the message container (kind squad) with this run id; answer with
// run_started(actual run id) or start_failed(error).
struct StartRun {
  std::string run_id;  // "ns-{name}-{random}"
};
// The oldest waiting scheduled run goes (ScheduledRuns::start_next) in its own container
// (kind scheduled); answer with task_started(session dir) or task_start_failed(error).
struct StartTaskRun {
  std::string run_id;  // "task-{name}-{random}"
  std::string image;   // "" = the namespace's image
  bool isolated_session = false;
  std::chrono::milliseconds hard_timeout{0};  // 0 = none
};
struct Deliver {  // one input to a container
  std::string run_id;
  std::string input_id;
  std::string text;
};
struct CloseRun {  // the scheduled container's turn is over: let the agent exit
  std::string run_id;
};
struct StopRun {  // pre-emption: stop the idle message container
  std::string run_id;
};
struct ForgetRun {  // the run ended: unlink it and drop its handle
  std::string run_id;
};

// To the outbox. `idempotency_key` "" = none (lifecycle lines).
struct SendText {
  std::string bot;
  std::string jid;
  std::string text;
  std::string reply_to;
  std::string idempotency_key;
};
// To the local chat hub (local: chats): a reply of the running turn, and its end.
struct LocalReply {
  std::string jid;
  int64_t first_id = 0;
  int64_t last_id = 0;
  std::string text;
};
struct FinishLocalTurn {
  std::string jid;
  int64_t first_id = 0;
  int64_t last_id = 0;
  std::string error;  // "" = the turn succeeded
};
// Through the bot's sender (send_typing).
struct SendTyping {
  std::string bot;
  std::string jid;
  std::string message_id;
};

// Timers: they come back as retry_due(token) and typing_due(token).
struct ScheduleRetry {
  std::chrono::milliseconds delay{0};
  uint64_t token = 0;
};
struct ScheduleTyping {
  std::chrono::milliseconds delay{0};
  uint64_t token = 0;
};

// Through the storage writer: the turn's inbound rows are done (or dropped), the
// namespace's restart cursor moves.
struct RecordTurn {
  std::vector<int64_t> ids;
  std::string drop_reason;  // "" = done
  int64_t cursor = 0;
};

// Through the storage writer, before the turn's Deliver: the turn's boundary (its last
// inbound id) on its rows. Replies the shell gets before this write commits wait for it.
struct MarkTurnStarted {
  std::vector<int64_t> ids;
  int64_t last_id = 0;
};

// The going scheduled run is answered (ScheduledRuns::finish); `remove_dir` (an isolated
// session, "" = none) is removed first.
struct AnswerTask {
  schedule::RunStatus status = schedule::RunStatus::success;
  std::string result;
  std::string error;
  std::string remove_dir;
};
// The oldest waiting scheduled run is answered with an error without running.
struct RejectTask {
  std::string error;
};

}  // namespace effect

using Effect = std::variant<effect::AskSlot, effect::ReleaseSlot, effect::MarkBusy, effect::MarkIdle, effect::StartRun,
                            effect::StartTaskRun, effect::Deliver, effect::CloseRun, effect::StopRun, effect::ForgetRun,
                            effect::SendText, effect::LocalReply, effect::FinishLocalTurn, effect::SendTyping,
                            effect::ScheduleRetry, effect::ScheduleTyping, effect::MarkTurnStarted, effect::RecordTurn,
                            effect::AnswerTask, effect::RejectTask>;
using Effects = std::vector<Effect>;

struct NamespaceRunnerOptions {
  std::string id;    // namespace id (idempotency keys, addressing)
  std::string name;  // run ids, logs, metrics
  int64_t start_cursor = 0;
  // A cluster: routed messages may arrive out of id order (TurnQueue any_order).
  bool any_order = false;
  std::size_t max_batch = 20;
  std::chrono::milliseconds start_retry{2000};
  std::size_t max_turn_attempts = 3;
  bool ready = false;  // container services ready (else: wait for ready())
  // Whether containers can be built at all (services with a make_run); asked at each
  // decision, as it may become true later. Empty: never.
  std::function<bool()> can_make_runs;
  std::vector<BotChoice> bots;
  // The bot of a chat's latest stored inbound message, for chats this runner has not seen
  // a message of (the database). Empty or nullopt: none.
  std::function<std::optional<std::string>(const std::string& jid)> stored_bot;
  std::function<std::string()> random_hex;                     // run id suffix; default sb::random_hex(6)
  std::function<std::chrono::steady_clock::time_point()> now;  // default steady_clock
  metrics::Registry* metrics = nullptr;                        // not owned; may be null
};

struct RunnerStatus {
  std::string state;   // task | busy | idle | waiting | stopped
  std::string detail;  // "pending N, tasks N, cursor N, run ID"
};

class NamespaceRunner {
 public:
  enum class Slot { none, waiting, held };

  NamespaceRunner() : NamespaceRunner(NamespaceRunnerOptions{}) {}
  explicit NamespaceRunner(NamespaceRunnerOptions options);

  // ---- events -------------------------------------------------------------------------
  // A routed message (its fields are moved out). A replay of what was accepted or
  // finished is refused quietly.
  Effects route(messaging::StoredMessage&& message);
  Effects route(std::vector<messaging::StoredMessage>&& batch);
  // A scheduled run to hold (the shell keeps its answer handle in ScheduledRuns, pushed
  // before this call).
  Effects push_task(schedule::ScheduledRun run);
  Effects granted();  // the pool gave the slot
  Effects stop();     // the pool pre-empts the idle message container
  Effects ready();    // container services are ready
  Effects retry_due(uint64_t token);
  Effects typing_due(uint64_t token);
  Effects output(const container::RunOutput& out);
  Effects transition(const container::RunTransition& t);
  Effects done(const container::RunResult& r);
  // Answers to StartRun: the supervisor runs (with make_run's run id), or make_run failed.
  Effects run_started(std::string run_id);
  Effects start_failed(const std::string& error);
  // Answers to StartTaskRun: `session_dir` is the run's session directory (removed after
  // an isolated run).
  Effects task_started(const std::string& session_dir);
  Effects task_start_failed(const std::string& error);

  void set_table(routing::RoutingTable table) { table_ = std::move(table); }

  // ---- observers ----------------------------------------------------------------------
  RunnerStatus status() const;
  const TurnQueue& queue() const { return queue_; }
  Slot slot() const { return slot_; }
  bool has_run() const { return has_run_; }
  const std::string& run_id() const { return run_id_; }
  const std::optional<Turn>& turn() const { return turn_; }
  std::size_t tasks_waiting() const { return waiting_tasks_.size(); }
  bool task_going() const { return task_.has_value(); }

 private:
  // The scheduled container that runs now (one input: the task's prompt).
  struct TaskRun {
    schedule::ScheduledRun run;
    std::string run_id;
    std::vector<std::string> texts;  // the agent's messages: the result
    std::string error;               // the agent reported its turn as failed
    bool turn_done = false;          // the turn ended (running -> idle): the container is closed
    std::size_t announced = 0;       // messages sent to chats (idempotency key)
    std::string isolated_session;    // removed after the run ("" = the group's session)
    std::chrono::steady_clock::time_point began;
  };
  // What is left of done() when it started a scheduled container on the way (see done).
  struct DoneTail {
    container::RunState final_state;
    std::string why;
  };
  enum class Starting { none, run, task };

  bool can_make_runs() const { return opts_.can_make_runs && opts_.can_make_runs(); }
  bool can_start() const { return ready_ && can_make_runs(); }
  bool accept(messaging::StoredMessage& in);
  void pump(Effects& fx);
  void pump_task(Effects& fx);
  void start_run(Effects& fx);
  void start_task_run(Effects& fx);
  void finish_task(Effects& fx, const TaskOutcome& outcome, std::string result);
  void container_down(Effects& fx, const std::string& reason);
  void done_tail(Effects& fx, container::RunState final_state, const std::string& why);
  void after_start(Effects& fx);
  void turn_succeeded(Effects& fx);
  // final_word: the agent said the turn must not run again (RunOutput::retryable false):
  // it is given up at once and its error is the chat's one line.
  void turn_failed(Effects& fx, const std::string& error, bool retry_later, bool counts = true,
                   bool final_word = false);
  void after_turn(Effects& fx);
  void record_turn(Effects& fx, const Turn& t, const std::string& drop_reason);
  void forget_meta(const Turn& t);
  void task_output(Effects& fx, const container::RunOutput& out);
  void send_text(Effects& fx, const std::string& jid, const std::string& text, const std::string& reply_to,
                 const std::string& key);
  void notify(Effects& fx, const std::string& line);
  void typing(Effects& fx, uint64_t token);
  void release_slot(Effects& fx);
  void schedule_retry(Effects& fx, std::chrono::milliseconds delay);
  std::string bot_for(const std::string& jid) const;
  void count(const char* name, const char* help, const metrics::Labels& labels = {});
  void count_task(schedule::RunStatus status);
  void update_pending();

  NamespaceRunnerOptions opts_;
  bool ready_ = false;
  TurnQueue queue_;
  routing::RoutingTable table_;
  std::map<int64_t, messaging::StoredMessage> meta_;  // pending and running messages, by id
  std::map<std::string, std::string> chat_bot_;       // chat JID -> bot id of its newest message
  Slot slot_ = Slot::none;
  bool has_run_ = false;  // the message container is supervised
  std::string run_id_;
  uint32_t restarts_ = 0;          // of the current run
  bool ran_ = false;               // the current run's agent has worked on a turn
  std::optional<Turn> turn_;       // the running turn
  std::size_t reply_n_ = 0;        // replies of the running turn so far (idempotency key)
  std::string turn_error_;         // the running turn reported a failure
  bool turn_error_final_ = false;  // ... that the agent says must not be retried
  int64_t failing_first_id_ = 0;   // the turn that failed last, and how often
  std::size_t failures_ = 0;
  uint32_t start_streak_ = 0;  // failed starts in a row
  bool retry_pending_ = false;
  uint64_t retry_token_ = 0;
  std::string last_chat_;      // chat of the running or last turn: lifecycle lines go there
  uint64_t typing_token_ = 0;  // bumps per turn: a re-send timer of an old turn is void
  // Scheduled runs go before waiting messages, one container at a time.
  std::deque<schedule::ScheduledRun> waiting_tasks_;
  std::optional<TaskRun> task_;  // the scheduled container going now
  bool task_ask_ = false;        // a scheduled slot request is outstanding (granted ends it)
  bool stop_requested_ = false;  // pre-empted during a turn: stop the container after it
  Starting starting_ = Starting::none;
  std::optional<DoneTail> done_tail_;
};

}  // namespace sb::namespaces
