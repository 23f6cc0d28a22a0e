#include "actors/namespaces/namespace_actor.hpp"

#include <filesystem>
#include <map>
#include <optional>

#include "actors/channels/channel_sender.hpp"
#include "runtime/namespaces/reply_plan.hpp"
#include "storage/inbound_store.hpp"
#include "storage/namespace_rows.hpp"
#include "actors/namespaces/scheduled_runs.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/local/local_chat_hub.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "storage/routing_rows.hpp"
#include "runtime/namespaces/turn_queue.hpp"
#include "runtime/routing/reply_rules.hpp"

namespace sb::actors {
namespace {

using container::RunState;

using std::chrono::milliseconds;

enum class Slot { none, waiting, held };

// The scheduled container that runs now (one input: the task's prompt).
struct TaskRun {
  container_supervisor_actor run;
  std::string run_id;
  std::vector<std::string> texts;  // the agent's messages: the result
  std::string error;               // the agent reported its turn as failed
  bool turn_done = false;          // the turn ended (running -> idle): the container is closed
  std::size_t announced = 0;       // messages sent to chats (idempotency key)
  std::string isolated_session;    // removed after the run ("" = the group's session)
  std::chrono::steady_clock::time_point began;
};

struct namespace_state {
  NamespaceActorOptions opts;
  std::vector<namespaces::BotChoice> bot_choices;  // of opts.bots
  namespaces::TurnQueue queue;
  std::optional<storage::Database> db;  // read-only
  routing::RoutingTable table;
  std::map<int64_t, messaging::StoredMessage> meta;        // pending and running messages, by id
  std::map<std::string, std::string> chat_bot;    // chat JID -> bot id of its newest message
  Slot slot = Slot::none;
  container_supervisor_actor run;
  std::string run_id;
  uint32_t restarts = 0;         // of the current run
  bool ran = false;              // the current run's agent has worked on a turn
  std::optional<namespaces::Turn> turn;  // the running turn
  std::size_t reply_n = 0;       // replies of the running turn so far (idempotency key)
  std::string turn_error;        // the running turn reported a failure
  int64_t failing_first_id = 0;  // the turn that failed last, and how often
  std::size_t failures = 0;
  uint32_t start_streak = 0;     // failed starts in a row
  bool retry_pending = false;
  uint64_t retry_token = 0;
  std::string last_chat;         // chat of the running or last turn: lifecycle lines go there
  uint64_t typing_token = 0;     // bumps per turn: a re-send timer of an old turn is void
  // Scheduled runs go before waiting messages, one container at a time.
  ScheduledRuns tasks;           // answers every run once, also when this actor ends
  std::optional<TaskRun> task;   // the scheduled container going now
  bool task_ask = false;         // a scheduled slot request is outstanding (granted_atom ends it)
  bool stop_requested = false;   // pre-empted during a turn: stop the container after it
  static inline const char* name = "namespace";
};

using self_ptr = namespace_actor::stateful_pointer<namespace_state>;

void count(self_ptr self, const char* name, const char* help, const metrics::Labels& labels = {}) {
  if (auto* m = self->state.opts.metrics) m->counter(name, help, labels).inc();
}

void reload_table(self_ptr self) {
  auto& st = self->state;
  if (!st.db) return;
  auto rows = storage::load_routing_rows(*st.db);
  if (!rows) {
    log::warn("namespace.reload_failed", {{"namespace", st.opts.name}, {"error", rows.error().message}});
    return;
  }
  auto table = routing::RoutingTable::build(*rows, st.opts.assistant_name);
  if (!table) {
    log::warn("namespace.reload_failed", {{"namespace", st.opts.name}, {"error", table.error().message}});
    return;
  }
  st.table = std::move(*table);
  if (auto rec = storage::read_namespace(*st.db, st.opts.id); rec && *rec) {
    st.opts.is_main = (*rec)->is_main;
    st.opts.container = (*rec)->container;
  }
}

void write(self_ptr self, storage::WriteOp op) {
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    log::warn("namespace.write_failed", {{"namespace", self->state.opts.name}, {"error", "storage writer down"}});
    return;
  }
  self->request(writer, std::chrono::seconds(30), write_atom::value, std::move(op))
      .then(
          [self](const storage::WriteOutcome& out) {
            if (!out.ok)
              log::warn("namespace.write_failed", {{"namespace", self->state.opts.name}, {"error", out.error_message}});
          },
          [self](caf::error& err) {
            log::warn("namespace.write_failed",
                      {{"namespace", self->state.opts.name}, {"error", self->system().render(err)}});
          });
}

std::string bot_for(self_ptr self, const std::string& jid) {
  auto& st = self->state;
  std::string latest;
  if (auto it = st.chat_bot.find(jid); it != st.chat_bot.end()) latest = it->second;
  else if (st.db) {
    if (auto b = storage::read_latest_bot(*st.db, jid)) latest = *b;
  }
  return namespaces::choose_bot(jid, latest, st.bot_choices).value_or("");
}

// Sends one text to a chat through the outbox (or the local hub). `key` "" = none.
void send_text(self_ptr self, const std::string& jid, const std::string& text, const std::string& reply_to,
               const std::string& key) {
  auto& st = self->state;
  if (jid.starts_with("local:")) {
    if (st.opts.local_chat && st.turn && st.turn->chat_jid == jid)
      st.opts.local_chat->add_reply(jid, st.turn->first_id, st.turn->last_id, text);
    return;
  }
  auto bot = bot_for(self, jid);
  if (bot.empty()) {
    log::warn("namespace.reply_dropped", {{"namespace", st.opts.name}, {"chat", jid}, {"reason", "no_bot"}});
    count(self, "squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "no_bot"}});
    return;
  }
  auto outbox = lookup<outbox_actor>(self->system(), "outbox");
  if (!outbox) {
    log::warn("namespace.reply_dropped", {{"namespace", st.opts.name}, {"chat", jid}, {"reason", "outbox_down"}});
    return;
  }
  const std::string name = st.opts.name;
  self->request(outbox, std::chrono::seconds(30), enqueue_atom::value,
                outbound_message{bot, jid, text, reply_to, key})
      .then(
          [name, jid](const enqueue_result& r) {
            if (!r.error.code.empty())
              log::warn("namespace.enqueue_failed",
                        {{"namespace", name}, {"chat", jid}, {"code", r.error.code}, {"error", r.error.message}});
          },
          [self, name, jid](caf::error& err) {
            log::warn("namespace.enqueue_failed",
                      {{"namespace", name}, {"chat", jid}, {"error", self->system().render(err)}});
          });
}

// A lifecycle notice to the chat of the running (or last) turn; never deduplicated.
void notify(self_ptr self, const std::string& line) {
  auto& st = self->state;
  log::info("namespace.lifecycle", {{"namespace", st.opts.name}, {"chat", st.last_chat}, {"line", line}});
  if (st.last_chat.empty()) return;
  send_text(self, st.last_chat, line, "", "");
}

void pump(self_ptr self);

void update_pending(self_ptr self) {
  auto& st = self->state;
  if (auto* m = st.opts.metrics)
    m->gauge("squadbox_namespace_pending_messages", "Routed messages waiting for a turn, by namespace.",
             {{"namespace", st.opts.name}})
        .set(static_cast<double>(st.queue.pending()));
}

// The running turn's typing indicator, through its bot's sender, if the platform has
// one; re-sent before it expires while the turn runs (typing_atom timer).
void send_typing_indicator(self_ptr self, uint64_t token) {
  auto& st = self->state;
  if (!st.turn || token != st.typing_token) return;
  const auto support = routing::typing_support_for_jid(st.turn->chat_jid);
  if (!support.supported) return;
  auto bot = bot_for(self, st.turn->chat_jid);
  if (bot.empty()) return;
  std::string message_id;
  if (auto it = st.meta.find(st.turn->last_id); it != st.meta.end())
    message_id = it->second.message_ref.empty() ? it->second.platform_message_id : it->second.message_ref;
  if (support.needs_inbound_message_id && message_id.empty()) return;
  send_typing(self->system(), bot, st.turn->chat_jid, message_id);
  const auto every = std::max(std::chrono::milliseconds(1000),
                              std::chrono::duration_cast<milliseconds>(support.lasts) - milliseconds(1000));
  self->delayed_send(self, every, typing_atom::value, token);
}

void release_slot(self_ptr self) {
  auto& st = self->state;
  if (st.slot == Slot::none) return;
  st.slot = Slot::none;
  self->send(st.opts.manager, release_atom::value, st.opts.id);
}

void schedule_retry(self_ptr self, milliseconds delay) {
  auto& st = self->state;
  st.retry_pending = true;
  self->delayed_send(self, delay, retry_atom::value, ++st.retry_token);
}

// A start that failed, or a run that ended dead: tell the chat, try again later.
void start_failed(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  ++st.start_streak;
  auto delay = namespaces::start_retry_delay(st.opts.start_retry, st.start_streak);
  log::warn("namespace.container_down",
            {{"namespace", st.opts.name}, {"reason", reason}, {"retry_ms", static_cast<int64_t>(delay.count())}});
  count(self, "squadbox_namespace_container_failures_total", "Namespace containers that failed to start or died.");
  notify(self, namespaces::down_line(reason, delay));
  release_slot(self);
  schedule_retry(self, delay);
}

void start_run(self_ptr self) {
  auto& st = self->state;
  NamespaceRunRequest req;
  req.namespace_id = st.opts.id;
  req.namespace_name = st.opts.name;
  req.is_main = st.opts.is_main;
  req.container = st.opts.container;
  req.run_id = "ns-" + st.opts.name + "-" + random_hex(6);
  auto run = st.opts.services->make_run(req);
  if (!run) {
    start_failed(self, run.error().message);
    return;
  }
  run->listener = caf::actor_cast<run_listener_actor>(self);
  st.run_id = run->run_id;
  st.restarts = 0;
  st.ran = false;
  st.run = spawn_container_supervisor(self->system(), std::move(*run));
  self->link_to(st.run);  // the container never outlives its namespace actor
  log::info("namespace.run_started", {{"namespace", st.opts.name}, {"run", st.run_id}});
  pump(self);
}

bool can_start(self_ptr self) {
  auto& st = self->state;
  return st.opts.ready && st.opts.services && st.opts.services->make_run;
}

void count_task(self_ptr self, schedule::RunStatus status) {
  count(self, "squadbox_scheduled_runs_total", "Scheduled container runs by result.", {{"status", std::string(schedule::to_string(status))}});
}

// Ends the going scheduled run: answers the scheduler, frees the slot, goes on.
void finish_task(self_ptr self, const namespaces::TaskOutcome& outcome, std::string result) {
  auto& st = self->state;
  const auto& run = st.tasks.current();
  int64_t ms = 0;
  std::string run_id;
  if (st.task) {
    ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - st.task->began).count();
    run_id = st.task->run_id;
    if (!st.task->isolated_session.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(st.task->isolated_session, ec);
    }
  }
  log::write(outcome.error.empty() ? log::Level::info : log::Level::warn, "namespace.task_ended",
             {{"namespace", st.opts.name}, {"task", run.task_id}, {"task_run", run.run_id}, {"run", run_id},
              {"status", std::string(schedule::to_string(outcome.status))}, {"duration_ms", ms},
              {"error", outcome.error}});
  count_task(self, outcome.status);
  st.tasks.finish(outcome.status, std::move(result), outcome.error);
  st.task.reset();
  release_slot(self);
  pump(self);
}

// Starts the oldest waiting scheduled run in a fresh "scheduled" container (the slot is held).
void start_task_run(self_ptr self) {
  auto& st = self->state;
  const auto& task = st.tasks.start_next();
  NamespaceRunRequest req;
  req.namespace_id = st.opts.id;
  req.namespace_name = st.opts.name;
  req.is_main = st.opts.is_main;
  req.container = st.opts.container;
  req.run_id = namespaces::task_run_id(st.opts.name, random_hex(6));
  req.kind = container::RunKind::scheduled;
  req.image = task.image;
  req.isolated_session = task.context_mode == schedule::ContextMode::isolated;
  req.hard_timeout = std::chrono::seconds(task.timeout_secs);
  st.task.emplace();
  st.task->began = std::chrono::steady_clock::now();
  st.task->run_id = req.run_id;
  auto run = st.opts.services->make_run(req);
  if (!run) {
    finish_task(self, {schedule::RunStatus::error, "the scheduled container could not start: " + run.error().message},
                "");
    return;
  }
  run->listener = caf::actor_cast<run_listener_actor>(self);
  if (req.isolated_session) st.task->isolated_session = run->mounts.session_dir;
  st.task->run = spawn_container_supervisor(self->system(), std::move(*run));
  self->link_to(st.task->run);  // the container never outlives its namespace actor
  log::info("namespace.task_started", {{"namespace", st.opts.name}, {"task", task.task_id},
                                       {"task_run", task.run_id}, {"run", req.run_id},
                                       {"context_mode", std::string(schedule::to_string(task.context_mode))}, {"timeout_secs", task.timeout_secs}});
  self->send(st.task->run, deliver_atom::value, "task-" + std::to_string(task.run_id), task.prompt);
}

// A scheduled run waits: get a slot for it. A busy agent finishes its turn first; an
// idle message container is stopped by the pool (self pre-emption) and the slot comes
// straight back; without a container the request may pre-empt another idle namespace.
void pump_task(self_ptr self) {
  auto& st = self->state;
  if (!st.opts.services || !st.opts.services->make_run) {
    while (st.tasks.waiting() > 0) {
      (void)st.tasks.start_next();
      count_task(self, schedule::RunStatus::error);
      st.tasks.finish(schedule::RunStatus::error, "", "this node has no container services");
    }
    return;
  }
  if (!st.opts.ready || st.task_ask) return;  // ready_atom / granted_atom pump again
  if (st.run) {
    if (st.queue.busy()) return;  // after_turn pumps again
    st.task_ask = true;
    self->send(st.opts.manager, acquire_atom::value, st.opts.id, true);
    return;
  }
  if (st.slot == Slot::held) {
    start_task_run(self);
    return;
  }
  st.task_ask = true;  // none: a new request; waiting (for messages): upgraded to scheduled
  st.slot = Slot::waiting;
  self->send(st.opts.manager, acquire_atom::value, st.opts.id, true);
}

// Starts the next turn when the agent is free, or asks for a container. Scheduled runs
// go first: while one waits or runs, no message turn starts.
void pump(self_ptr self) {
  auto& st = self->state;
  update_pending(self);
  if (st.task) return;
  if (st.run && st.stop_requested) {
    // Pre-empted during a turn: stop once it is over; what waits needs a new container.
    if (!st.queue.busy()) self->send(st.run, stop_atom::value);
    return;
  }
  if (st.tasks.waiting() > 0) {
    pump_task(self);
    return;
  }
  if (st.queue.busy() || st.queue.pending() == 0 || st.retry_pending) return;
  if (!st.run) {
    if (st.slot == Slot::none && can_start(self)) {
      st.slot = Slot::waiting;
      self->send(st.opts.manager, acquire_atom::value, st.opts.id);
    }
    return;
  }
  auto turn = st.queue.next_turn(st.opts.max_batch);
  if (!turn) return;
  update_pending(self);
  st.turn = std::move(*turn);
  st.reply_n = 0;
  st.turn_error.clear();
  st.last_chat = st.turn->chat_jid;
  log::info("namespace.turn", {{"namespace", st.opts.name}, {"chat", st.turn->chat_jid},
                               {"first_id", st.turn->first_id}, {"last_id", st.turn->last_id},
                               {"messages", static_cast<int64_t>(st.turn->messages.size())}});
  self->send(st.run, deliver_atom::value, std::to_string(st.turn->last_id), st.turn->input);
  self->send(st.opts.manager, busy_atom::value, st.opts.id);
  send_typing_indicator(self, ++st.typing_token);
}

std::vector<int64_t> turn_ids(const namespaces::Turn& t) {
  std::vector<int64_t> ids;
  for (const auto& m : t.messages) ids.push_back(m.id);
  return ids;
}

void forget_meta(self_ptr self, const namespaces::Turn& t) {
  for (const auto& m : t.messages) self->state.meta.erase(m.id);
}

void record_turn(self_ptr self, const namespaces::Turn& t, const std::string& drop_reason) {
  auto& st = self->state;
  write(self, storage::mark_inbound(turn_ids(t), st.opts.id, drop_reason));
  write(self, storage::upsert_cursor(st.opts.id, st.queue.restart_cursor()));
}

void after_turn(self_ptr self) {
  auto& st = self->state;
  pump(self);
  if (!st.queue.busy() && st.run) self->send(st.opts.manager, idle_atom::value, st.opts.id);
}

void turn_succeeded(self_ptr self) {
  auto& st = self->state;
  auto t = std::move(*st.turn);
  st.turn.reset();
  (void)st.queue.turn_done();
  st.failures = 0;
  record_turn(self, t, {});
  if (st.opts.local_chat && t.chat_jid.starts_with("local:"))
    st.opts.local_chat->finish_turn(t.chat_jid, t.first_id, t.last_id);
  forget_meta(self, t);
  count(self, "squadbox_namespace_turns_total", "Agent turns by outcome.", {{"result", "ok"}});
  after_turn(self);
}

// The turn did not complete (an error output, or its container ended). Retried after
// start_retry; dropped after max_turn_attempts attempts that reached the agent (a
// container that never started does not count against the messages).
void turn_failed(self_ptr self, const std::string& error, bool retry_later, bool counts = true) {
  auto& st = self->state;
  auto t = std::move(*st.turn);
  st.turn.reset();
  if (counts) {
    st.failures = t.first_id == st.failing_first_id ? st.failures + 1 : 1;
    st.failing_first_id = t.first_id;
  }
  log::warn("namespace.turn_failed", {{"namespace", st.opts.name}, {"first_id", t.first_id},
                                      {"last_id", t.last_id}, {"error", error},
                                      {"attempt", static_cast<int64_t>(st.failures)}});
  if (st.opts.local_chat && t.chat_jid.starts_with("local:"))
    st.opts.local_chat->finish_turn(t.chat_jid, t.first_id, t.last_id, error.empty() ? "turn failed" : error);
  if (counts && st.failures >= st.opts.max_turn_attempts) {
    (void)st.queue.turn_done();  // given up: counts as handled, the cursor moves on
    st.failures = 0;
    record_turn(self, t, "turn_failed: " + error);
    forget_meta(self, t);
    count(self, "squadbox_namespace_turns_total", "Agent turns by outcome.", {{"result", "dropped"}});
    if (!t.chat_jid.starts_with("local:")) send_text(self, t.chat_jid, namespaces::gave_up_line(error), "", "");
    after_turn(self);
    return;
  }
  (void)st.queue.turn_failed();
  count(self, "squadbox_namespace_turns_total", "Agent turns by outcome.", {{"result", "failed"}});
  if (retry_later) {
    if (st.run) self->send(st.opts.manager, idle_atom::value, st.opts.id);
    schedule_retry(self, st.opts.start_retry);
  }
}

// An output of the scheduled container: part of the result; announced to the task's
// chat (or the chat the agent names) under the usual addressing rules, with no implicit
// "own chat": a non-main namespace reaches only its own chats.
void on_task_output(self_ptr self, const container::RunOutput& out) {
  auto& st = self->state;
  auto& task = *st.task;
  if (out.turn_failed) {
    task.error = out.error;
    return;
  }
  if (auto text = routing::strip_internal(out.text)) task.texts.push_back(*text);
  const auto& run = st.tasks.current();
  const std::string& target = out.chat_jid.empty() ? run.announce_jid : out.chat_jid;
  if (target.empty()) return;
  auto plan = namespaces::plan_reply(st.table, st.opts.id, "", out.text, target);
  switch (plan.action) {
    case namespaces::ReplyPlan::Action::drop_empty:
      return;
    case namespaces::ReplyPlan::Action::denied:
      log::warn("namespace.announce_denied", {{"namespace", st.opts.name}, {"task", run.task_id},
                                              {"chat", plan.target_jid}, {"reason", std::string(plan.reason)}});
      count(self, "squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "denied"}});
      return;
    case namespaces::ReplyPlan::Action::local:
      log::warn("namespace.announce_dropped",
                {{"namespace", st.opts.name}, {"chat", plan.target_jid}, {"reason", "local chats have no waiter"}});
      return;
    case namespaces::ReplyPlan::Action::platform:
      break;
  }
  count(self, "squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "sent"}});
  send_text(self, plan.target_jid, plan.text, "", namespaces::task_announce_key(run.run_id, task.announced++));
}

void on_output(self_ptr self, const container::RunOutput& out) {
  auto& st = self->state;
  if (st.task && out.run_id == st.task->run_id) {
    on_task_output(self, out);
    return;
  }
  if (out.run_id != st.run_id) return;
  if (out.turn_failed) {
    st.turn_error = out.error;
    return;
  }
  const std::string turn_chat = st.turn ? st.turn->chat_jid : st.last_chat;
  if (turn_chat.empty() && out.chat_jid.empty()) return;
  auto plan = namespaces::plan_reply(st.table, st.opts.id, turn_chat, out.text, out.chat_jid);
  switch (plan.action) {
    case namespaces::ReplyPlan::Action::drop_empty:
      count(self, "squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "empty"}});
      return;
    case namespaces::ReplyPlan::Action::denied:
      log::warn("namespace.reply_denied", {{"namespace", st.opts.name}, {"chat", plan.target_jid},
                                           {"reason", std::string(plan.reason)}});
      count(self, "squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "denied"}});
      return;
    case namespaces::ReplyPlan::Action::local:
    case namespaces::ReplyPlan::Action::platform:
      break;
  }
  std::string reply_to, key;
  if (st.turn) {
    key = namespaces::reply_idempotency_key(st.opts.id, st.turn->last_id, st.reply_n++);
    if (plan.target_jid == st.turn->chat_jid)
      if (auto it = st.meta.find(st.turn->last_id); it != st.meta.end()) reply_to = namespaces::reply_to_for(it->second);
  }
  count(self, "squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "sent"}});
  send_text(self, plan.target_jid, plan.text, reply_to, key);
}

void on_transition(self_ptr self, const container::RunTransition& t) {
  auto& st = self->state;
  if (st.task && t.run_id == st.task->run_id) {
    if (t.to == RunState::idle && t.from == RunState::running && !st.task->turn_done) {
      st.task->turn_done = true;  // its one turn is over: the agent exits, the run ends
      self->send(st.task->run, close_atom::value);
    }
    return;
  }
  if (t.run_id != st.run_id) return;
  if (t.to == RunState::backoff) {
    ++st.restarts;
    st.reply_n = 0;  // the agent answers the re-delivered turn again: same keys, sent once
    notify(self, namespaces::restarting_line(st.restarts + 1));
    return;
  }
  if (t.to == RunState::idle || t.to == RunState::running) st.start_streak = 0;
  if (t.to == RunState::running) st.ran = true;
  if (t.to == RunState::idle && t.from == RunState::running && st.turn) {
    if (st.turn_error.empty()) turn_succeeded(self);
    else turn_failed(self, st.turn_error, true);
  }
}

void on_task_done(self_ptr self, const container::RunResult& r) {
  auto& st = self->state;
  self->unlink_from(st.task->run);
  auto outcome = namespaces::classify_task_run(r, st.task->turn_done, st.task->error);
  finish_task(self, outcome, namespaces::join_task_result(st.task->texts));
}

void on_done(self_ptr self, const container::RunResult& r) {
  auto& st = self->state;
  if (st.task && r.run_id == st.task->run_id) {
    on_task_done(self, r);
    return;
  }
  if (r.run_id != st.run_id) return;
  self->unlink_from(st.run);
  st.run = nullptr;
  st.run_id.clear();
  st.stop_requested = false;
  const std::string why = container::describe(r);
  log::info("namespace.run_ended", {{"namespace", st.opts.name}, {"run", r.run_id},
                                    {"state", std::string(container::to_string(r.final_state))},
                                    {"reason", std::string(container::to_string(r.reason))}, {"detail", r.detail}});
  if (st.turn) turn_failed(self, "agent container ended: " + why, false, st.ran);
  if (r.final_state == RunState::dead && st.queue.pending() > 0) {
    start_failed(self, why);  // releases the slot, retries later
    return;
  }
  if (r.final_state == RunState::dead) notify(self, namespaces::down_idle_line(why));  // the next message starts one
  if (st.task_ask) {
    // Stopped for a scheduled run: the pool hands the slot back (granted_atom).
    st.slot = Slot::waiting;
    self->send(st.opts.manager, release_atom::value, st.opts.id);
  } else {
    release_slot(self);
  }
  pump(self);
}

// Takes one routed message into the queue (moved apart, not copied: the routing hot
// path). False when it was refused (a replay of what this actor already has or finished).
bool accept(self_ptr self, messaging::StoredMessage& in) {
  auto& s = self->state;
  const int64_t id = in.id;
  if (id <= s.queue.last_accepted_id() || id <= s.queue.restart_cursor()) {
    // A replay (recover) of what this actor already has or finished: harmless.
    log::debug("namespace.refused", {{"namespace", s.opts.name}, {"id", id}, {"code", "turn_queue.duplicate"}});
    return false;
  }
  if (!in.channel.empty() && !in.bot.empty()) {
    auto bot = s.chat_bot.find(in.chat_jid);
    if (bot == s.chat_bot.end() || bot->second.size() != in.channel.size() + 1 + in.bot.size() ||
        bot->second.compare(0, in.channel.size(), in.channel) != 0 ||
        bot->second.compare(in.channel.size() + 1, std::string::npos, in.bot) != 0)
      s.chat_bot[in.chat_jid] = in.channel + "/" + in.bot;
  }
  // What replies and typing need of a message later; the text lives in the queue.
  messaging::StoredMessage reply_meta;
  reply_meta.channel = in.channel;
  reply_meta.is_group = in.is_group;
  reply_meta.reply_ref = std::move(in.reply_ref);
  reply_meta.message_ref = std::move(in.message_ref);
  reply_meta.platform_message_id = std::move(in.platform_message_id);
  std::string chat;
  if (!s.turn) chat = in.chat_jid;
  auto pushed = s.queue.push(namespaces::PendingMessage{id, std::move(in.chat_jid), std::move(in.sender_id),
                                                        std::move(in.sender_name), std::move(in.text),
                                                        in.timestamp_ms});
  if (!pushed) {
    log::debug("namespace.refused", {{"namespace", s.opts.name}, {"id", id}, {"code", pushed.error().code}});
    return false;
  }
  s.meta.emplace_hint(s.meta.end(), id, std::move(reply_meta));
  if (!chat.empty()) s.last_chat = std::move(chat);  // lifecycle lines before its first turn go here
  return true;
}

namespace_actor::behavior_type namespace_fn(self_ptr self, NamespaceActorOptions opts) {
  log_exceptions(self, "namespace");
  auto& st = self->state;
  st.opts = std::move(opts);
  st.bot_choices = bot_choices(st.opts.bots);
  st.queue = namespaces::TurnQueue(st.opts.start_cursor);
  if (!st.opts.db_path.empty()) {
    storage::OpenOptions ro;
    ro.read_only = true;
    if (auto db = storage::Database::open(st.opts.db_path, ro)) st.db.emplace(std::move(*db));
    else log::warn("namespace.db_unavailable", {{"namespace", st.opts.name}, {"error", db.error().message}});
  }
  reload_table(self);
  return {
      [=](route_atom, routed_message& m) {
        if (accept(self, m.message)) pump(self);
      },
      [=](route_atom, routed_batch& b) {
        bool any = false;
        for (auto& m : b.messages) any = accept(self, m) || any;
        if (any) pump(self);
      },
      [=](task_atom, scheduled_run& run) {
        // Accepted (the manager learns of a dead actor from the failed request instead).
        self->state.tasks.push(std::move(run));
        pump(self);
        return true;
      },
      [=](granted_atom) {
        auto& s = self->state;
        s.slot = Slot::held;
        if (s.run || s.task) return;
        s.task_ask = false;
        if (s.tasks.waiting() > 0 && can_start(self)) {
          start_task_run(self);
          return;
        }
        if (s.queue.pending() == 0 || s.retry_pending || !can_start(self)) {
          release_slot(self);
          return;
        }
        start_run(self);
      },
      [=](stop_atom) {
        auto& s = self->state;
        if (!s.run) return;  // a scheduled container is never pre-empted (never idle)
        if (!s.turn) self->send(s.run, stop_atom::value);  // pre-empted while idle
        else s.stop_requested = true;  // a turn began meanwhile: stop after it
      },
      [=](ready_atom) {
        self->state.opts.ready = true;
        pump(self);
      },
      [=](reload_atom) { reload_table(self); },
      [=](retry_atom, uint64_t token) {
        auto& s = self->state;
        if (token != s.retry_token) return;
        s.retry_pending = false;
        pump(self);
      },
      [=](typing_atom, uint64_t token) { send_typing_indicator(self, token); },
      [=](output_atom, const container::RunOutput& out) { on_output(self, out); },
      [=](state_atom, const container::RunTransition& t) { on_transition(self, t); },
      [=](done_atom, const container::RunResult& r) { on_done(self, r); },
      [=](status_atom) {
        auto& s = self->state;
        std::string state = s.task                    ? "task"
                            : s.turn                  ? "busy"
                            : s.run                   ? "idle"
                            : s.slot == Slot::waiting ? "waiting"
                                                      : "stopped";
        return component_status{s.opts.name, state,
                                "pending " + std::to_string(s.queue.pending()) + ", tasks " +
                                    std::to_string(s.tasks.waiting()) + ", cursor " +
                                    std::to_string(s.queue.restart_cursor()) + ", run " +
                                    (s.task ? s.task->run_id : s.run_id)};
      },
  };
}

}  // namespace

std::vector<namespaces::BotChoice> bot_choices(const std::vector<std::shared_ptr<const channels::ChannelBot>>& bots) {
  std::vector<namespaces::BotChoice> out;
  out.reserve(bots.size());
  for (const auto& b : bots) out.push_back({b->id(), b->kind(), b->can_send()});
  return out;
}

namespace_actor spawn_namespace_actor(caf::actor_system& system, NamespaceActorOptions options) {
  return system.spawn(namespace_fn, std::move(options));
}

}  // namespace sb::actors
