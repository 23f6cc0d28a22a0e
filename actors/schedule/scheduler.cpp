#include "actors/schedule/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "actors/supervision/supervisor.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "runtime/schedule/deadline_queue.hpp"
#include "runtime/schedule/scheduler_core.hpp"
#include "storage/task_store.hpp"

namespace sb::actors {
namespace {

using schedule::RunStatus;
using schedule::RunTrigger;

// The timer is a steady-clock delay towards a wall-clock deadline: re-checked at least
// this often, so a wall-clock step is noticed without polling when nothing is planned.
constexpr int64_t kMaxTimerMs = 3600 * 1000;
// A run that could not be started for a passing reason (a busy database) is tried again.
constexpr int64_t kStartRetryMs = 5000;
// Cluster mode: how soon a node that does not own a due task's namespace looks again.
constexpr int64_t kNotOwnedRecheckMs = 1000;
// The WAL checkpoint (an fsync) runs only when no fire is due within this long.
constexpr int64_t kCheckpointQuietMs = 250;

// > 0 while the scheduler's own store call runs on this thread: its change hook stays
// quiet (the scheduler updates its queue from the answer itself).
thread_local int t_own_writes = 0;
struct OwnWrites {
  OwnWrites() { ++t_own_writes; }
  ~OwnWrites() { --t_own_writes; }
  OwnWrites(const OwnWrites&) = delete;
  OwnWrites& operator=(const OwnWrites&) = delete;
};

struct InFlight {
  std::string task_id;
  int64_t attempt = 1;
  RunTrigger trigger = RunTrigger::schedule;
  schedule::RetryPolicy retry;
  int64_t answer_deadline_ms = 0;
  int64_t timeout_secs = 0;
};

struct Metrics {
  metrics::Histogram* lateness = nullptr;
  std::map<RunTrigger, metrics::Counter*> started;
  std::map<RunStatus, metrics::Counter*> finished;
  metrics::Gauge* planned = nullptr;
  metrics::Gauge* running = nullptr;
};

struct scheduler_state {
  SchedulerOptions options;
  schedule::DeadlineQueue queue;
  std::unordered_map<int64_t, InFlight> running;  // run id ->
  std::unordered_set<std::string> running_tasks;
  std::unordered_map<std::string, schedule::PendingRetry> retries;  // task id ->
  uint64_t generation = 0;                                          // of the one pending timer; older ticks are no-ops
  std::optional<int64_t> armed_for;                                 // the wall-clock time the pending timer is for
  bool reload_queued = false;
  uint64_t unchecked_writes = 0;  // run bookkeeping commits since the last checkpoint
  Metrics m;
  static inline const char* name = "scheduler";
};

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

int64_t now_ms(const scheduler_state& st) {
  if (st.options.now_ms) return st.options.now_ms();
  return sb::now_ms();
}

void init_metrics(scheduler_state& st) {
  auto* reg = st.options.metrics;
  if (!reg) return;
  st.m.lateness =
      &reg->histogram("squadbox_scheduler_lateness_seconds", "Time from a run's planned time to its dispatch",
                      {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300});
  for (auto t : {RunTrigger::schedule, RunTrigger::manual, RunTrigger::retry})
    st.m.started[t] = &reg->counter("squadbox_scheduler_runs_started_total", "Scheduled task runs started",
                                    {{"trigger", std::string(schedule::to_string(t))}});
  for (auto s : {RunStatus::success, RunStatus::error, RunStatus::timeout})
    st.m.finished[s] = &reg->counter("squadbox_scheduler_runs_finished_total", "Scheduled task runs finished",
                                     {{"status", std::string(schedule::to_string(s))}});
  st.m.planned = &reg->gauge("squadbox_scheduler_planned_tasks", "Tasks in the scheduler's deadline queue");
  st.m.running = &reg->gauge("squadbox_scheduler_running_runs", "Scheduled runs dispatched and not answered yet");
}

void update_gauges(scheduler_state& st) {
  if (st.m.planned) st.m.planned->set(static_cast<double>(st.queue.size()));
  if (st.m.running) st.m.running->set(static_cast<double>(st.running.size()));
}

// One pending timer for the earliest of: the queue's first deadline, a silent run's
// answer deadline. A later target leaves an earlier pending timer in place (it re-arms
// when it fires); nothing planned leaves no timer (a pending one becomes a no-op).
void arm(self_ptr self) {
  auto& st = self->state;
  std::optional<int64_t> target = st.queue.earliest_due();
  for (const auto& [id, f] : st.running)
    if (!target || f.answer_deadline_ms < *target) target = f.answer_deadline_ms;
  update_gauges(st);
  if (st.unchecked_writes > 0 && (!target || *target - now_ms(st) > kCheckpointQuietMs)) {
    OwnWrites own;
    if (auto done = st.options.store->checkpoint(); !done)
      log::warn("scheduler.checkpoint_failed", {{"error", done.error().message}});
    st.unchecked_writes = 0;
  }
  if (!target) {
    st.armed_for.reset();
    ++st.generation;
    return;
  }
  if (st.armed_for && *st.armed_for <= *target) return;
  st.armed_for = *target;
  // With the system clock, the delay is taken in microseconds: a whole-ms delay would add
  // up to a millisecond of lateness to every fire.
  std::chrono::microseconds delay{(*target - now_ms(st)) * 1000};
  if (!st.options.now_ms)
    delay = std::chrono::milliseconds{*target} -
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  delay = std::clamp<std::chrono::microseconds>(delay, std::chrono::microseconds{0},
                                                std::chrono::milliseconds{kMaxTimerMs});
  self->delayed_send(self, delay, tick_atom::value, ++st.generation);
}

void plan(scheduler_state& st, const schedule::Task& task) {
  if (st.running_tasks.count(task.id)) return;
  if (auto at = schedule::planned_time(task))
    st.queue.set(task.id, *at);
  else
    st.queue.erase(task.id);
}

// Records a run's end (with the retry decision) and plans its task again.
void finish(self_ptr self, int64_t run_id, schedule::RunOutcome outcome) {
  auto& st = self->state;
  auto it = st.running.find(run_id);
  if (it == st.running.end()) {
    log::warn("scheduler.unknown_run", {{"run_id", run_id}, {"why", "no run of this scheduler is waiting for it"}});
    return;
  }
  const InFlight f = std::move(it->second);
  st.running.erase(it);
  st.running_tasks.erase(f.task_id);
  outcome.retry_at_ms = schedule::decide_retry(f.retry, f.trigger, f.attempt, outcome.status, now_ms(st));
  if (auto* c = st.m.finished[outcome.status]) c->inc();
  log::info("scheduler.run_finished", {{"task_id", f.task_id},
                                       {"run_id", run_id},
                                       {"attempt", f.attempt},
                                       {"status", schedule::to_string(outcome.status)},
                                       {"retry_at_ms", outcome.retry_at_ms.value_or(0)}});
  OwnWrites own;
  auto task = st.options.store->finish_run(run_id, outcome);
  ++st.unchecked_writes;
  if (!task) {
    // A task deleted meanwhile takes its run log with it.
    log::warn(
        "scheduler.finish_not_recorded",
        {{"task_id", f.task_id}, {"run_id", run_id}, {"code", task.error().code}, {"error", task.error().message}});
    if (auto again = st.options.store->get(f.task_id)) plan(st, *again);
    return;
  }
  if (outcome.retry_at_ms && task->enabled() && task->next_run_ms == outcome.retry_at_ms)
    st.retries[f.task_id] = schedule::PendingRetry{f.attempt + 1, *outcome.retry_at_ms};
  else if (f.trigger != RunTrigger::manual)
    st.retries.erase(f.task_id);
  plan(st, *task);
}

// A task whose queue entry came due and that starts a run now.
struct DueStart {
  schedule::Task task;
  schedule::StartDecision decision;
};

// A task whose queue entry came due: its start, or nullopt (requeued or left out).
std::optional<DueStart> decide_due(scheduler_state& st, const std::string& task_id, int64_t now) {
  if (st.running_tasks.count(task_id)) return std::nullopt;  // its finish plans it again
  OwnWrites own;
  auto task = st.options.store->get(task_id);
  if (!task) {
    if (task.error().code != "tasks.not_found") {
      log::error("scheduler.read_failed", {{"task_id", task_id}, {"error", task.error().message}});
      st.queue.set(task_id, now + kStartRetryMs);
    }
    return std::nullopt;
  }
  std::optional<schedule::PendingRetry> retry;
  if (auto r = st.retries.find(task_id); r != st.retries.end()) retry = r->second;
  // Cluster mode: a task fires on the node that owns its namespace; the others look again
  // in a second (the namespace may move here).
  if (st.options.cluster_view &&
      !st.options.cluster_view->local_epoch(cluster::namespace_resource(task->namespace_id))) {
    st.queue.set(task_id, now + kNotOwnedRecheckMs);
    return std::nullopt;
  }
  auto d = schedule::decide_start(*task, now, false, retry);
  if (!d.start) {
    if (d.requeue_ms) st.queue.set(task_id, *d.requeue_ms);
    return std::nullopt;
  }
  return DueStart{std::move(*task), d};
}

// A started run: tracked until its answer, and handed to its namespace.
void launch(self_ptr self, const DueStart& due, const schedule::TaskRun& run) {
  auto& st = self->state;
  const schedule::Task& task = due.task;
  const schedule::StartDecision& d = due.decision;
  if (d.trigger != RunTrigger::manual) st.retries.erase(task.id);
  InFlight f{task.id,
             d.attempt,
             d.trigger,
             task.retry,
             schedule::answer_deadline_ms(run.started_at_ms, task.container.timeout_secs, st.options.answer_grace_ms,
                                          st.options.no_limit_bound_ms),
             task.container.timeout_secs};
  st.running.emplace(run.id, f);
  st.running_tasks.insert(task.id);

  scheduled_run msg;
  msg.task_id = task.id;
  msg.run_id = run.id;
  msg.attempt = d.attempt;
  msg.namespace_id = task.namespace_id;
  msg.namespace_name = task.namespace_name;
  msg.prompt = task.prompt;
  msg.context_mode = task.context_mode;
  msg.image = task.container.image;
  msg.timeout_secs = task.container.timeout_secs;
  msg.announce_jid = task.announce_jid;
  msg.reply_to = caf::actor_cast<caf::actor>(self);
  const int64_t late_ms = std::max<int64_t>(0, now_ms(st) - d.planned_ms);
  if (st.m.lateness) st.m.lateness->observe(static_cast<double>(late_ms) / 1000.0);
  if (auto* c = st.m.started[d.trigger]) c->inc();
  log::info("scheduler.run_started", {{"task_id", task.id},
                                      {"run_id", run.id},
                                      {"namespace", task.namespace_name},
                                      {"trigger", schedule::to_string(d.trigger)},
                                      {"attempt", d.attempt},
                                      {"late_ms", late_ms}});
  if (!st.options.dispatch(std::move(msg)))
    finish(self, run.id, schedule::RunOutcome{RunStatus::error, "", "no namespaces actor to run it", std::nullopt});
}

// Everything due now starts in ONE store transaction (one commit per tick, not per run),
// then is handed on in due order.
void start_due(self_ptr self, const std::vector<schedule::DeadlineQueue::Entry>& entries, int64_t now) {
  auto& st = self->state;
  std::vector<DueStart> starting;
  starting.reserve(entries.size());
  for (const auto& entry : entries)
    if (auto due = decide_due(st, entry.task_id, now)) starting.push_back(std::move(*due));
  if (starting.empty()) return;
  std::vector<schedule::RunStart> batch;
  batch.reserve(starting.size());
  for (const auto& due : starting) batch.push_back({due.task.id, due.decision.trigger, due.decision.attempt});
  OwnWrites own;
  auto runs = st.options.store->start_runs(batch);
  ++st.unchecked_writes;
  if (!runs) {
    log::warn(
        "scheduler.start_failed",
        {{"runs", static_cast<int64_t>(batch.size())}, {"code", runs.error().code}, {"error", runs.error().message}});
    for (const auto& due : starting) st.queue.set(due.task.id, now + kStartRetryMs);
    return;
  }
  for (size_t i = 0; i < starting.size(); ++i) {
    const auto& run = (*runs)[i];
    const std::string& task_id = starting[i].task.id;
    if (!run) {
      log::warn("scheduler.start_failed",
                {{"task_id", task_id}, {"code", run.error().code}, {"error", run.error().message}});
      // A conflict is a run this scheduler does not know of: its row is ended at the next
      // start. A task deleted meanwhile is gone.
      if (run.error().code != "tasks.conflict" && run.error().code != "tasks.not_found")
        st.queue.set(task_id, now + kStartRetryMs);
      continue;
    }
    launch(self, starting[i], *run);
  }
}

// Runs whose namespace never answered: recorded as errors, so the task is not blocked.
void expire_silent_runs(self_ptr self, int64_t now) {
  auto& st = self->state;
  std::vector<std::pair<int64_t, int64_t>> expired;  // run id, timeout
  for (const auto& [id, f] : st.running)
    if (f.answer_deadline_ms <= now) expired.emplace_back(id, f.timeout_secs);
  for (const auto& [id, timeout] : expired) {
    const std::string why = timeout > 0 ? "no answer from the namespace within the task's timeout (" +
                                              std::to_string(timeout) + " s) and the grace period"
                                        : "no answer from the namespace within the bound for runs without a timeout";
    finish(self, id, schedule::RunOutcome{RunStatus::error, "", why, std::nullopt});
  }
}

void on_tick(self_ptr self) {
  auto& st = self->state;
  const int64_t now = now_ms(st);
  expire_silent_runs(self, now);
  start_due(self, st.queue.pop_due(now), now);
}

// Re-reads what is planned; a failed read keeps the previous queue.
void reload(self_ptr self, std::string_view why) {
  auto& st = self->state;
  OwnWrites own;
  auto planned = st.options.store->planned_runs();
  if (!planned) {
    log::error("scheduler.reload_failed",
               {{"why", why}, {"code", planned.error().code}, {"error", planned.error().message}});
    return;
  }
  st.queue.clear();
  st.queue.reserve(planned->size());
  for (const auto& p : *planned) {
    if (st.running_tasks.count(p.task_id)) continue;
    if (!st.queue.set(p.task_id, p.at_ms)) log::warn("scheduler.bad_task_id", {{"task_id", p.task_id}});
  }
  if (log::enabled(log::Level::debug))
    log::debug("scheduler.reloaded", {{"why", why}, {"planned", static_cast<int64_t>(st.queue.size())}});
  arm(self);
}

// Start: runs the node stopped under become errors; missed fires follow each task's
// catch-up policy (once: the first tick runs them; skip: next_run moves past now).
void start(self_ptr self) {
  auto& st = self->state;
  OwnWrites own;
  if (auto n = st.options.store->abandon_running(); !n)
    log::error("scheduler.abandon_failed", {{"error", n.error().message}});
  else if (*n > 0)
    log::warn("scheduler.runs_abandoned", {{"runs", *n}, {"why", "the node stopped during them"}});
  const int64_t now = now_ms(st);
  auto due = st.options.store->due(now);
  if (!due) log::error("scheduler.catch_up_failed", {{"error", due.error().message}});
  for (const auto& task : due ? *due : std::vector<schedule::Task>{}) {
    const auto d = schedule::decide_catch_up(task, now);
    if (d.action == schedule::CatchUpDecision::Action::none) continue;
    const bool skip = d.action == schedule::CatchUpDecision::Action::skip;
    log::info("scheduler.catch_up", {{"task_id", task.id},
                                     {"policy", schedule::to_string(task.catch_up)},
                                     {"missed", d.missed},
                                     {"action", skip ? "skip" : "run_once"},
                                     {"next_ms", d.next_ms.value_or(0)}});
    if (!skip) continue;
    if (auto moved = st.options.store->skip_missed(task.id, *task.next_run_ms, d.next_ms); !moved)
      log::warn("scheduler.catch_up_failed", {{"task_id", task.id}, {"error", moved.error().message}});
    else if (!d.next_ms)
      log::warn("scheduler.task_missed", {{"task_id", task.id},
                                          {"why",
                                           "a once task's time passed while the node was "
                                           "down (catchUp skip): it ends failed"}});
  }
  reload(self, "start");
}

std::string status_detail(scheduler_state& st) {
  std::string detail =
      "tasks planned " + std::to_string(st.queue.size()) + ", running " + std::to_string(st.running.size());
  if (auto next = st.queue.earliest_due())
    detail += ", next in " + std::to_string(std::max<int64_t>(0, *next - now_ms(st))) + " ms";
  return detail;
}

scheduler_actor::behavior_type scheduler_fn(self_ptr self, SchedulerOptions options) {
  log_exceptions(self, "scheduler");
  auto& st = self->state;
  st.options = std::move(options);
  if (!st.options.dispatch) {
    st.options.dispatch = [sys = &self->system()](scheduled_run run) {
      auto namespaces = lookup<namespace_manager_actor>(*sys, "namespaces");
      if (!namespaces) return false;
      caf::anon_send(namespaces, task_atom::value, std::move(run));
      return true;
    };
  }
  init_metrics(st);
  if (st.options.store) start(self);
  return {
      [=](tick_atom, uint64_t generation) {
        auto& s = self->state;
        if (generation != s.generation || !s.options.store) return;  // an older timer
        s.armed_for.reset();
        on_tick(self);
        arm(self);
      },
      [=](done_atom, scheduled_run_result& r) {
        auto& s = self->state;
        if (!s.options.store) return;
        finish(self, r.run_id, schedule::outcome_from_answer(r.status, std::move(r.result), std::move(r.error)));
        arm(self);
      },
      [=](reload_atom) {
        auto& s = self->state;
        if (!s.options.store) return;
        if (self->current_sender() == self->ctrl()) {
          s.reload_queued = false;
          reload(self, "change");
          return;
        }
        // Every reload asked for before the queued one runs is served by it.
        if (s.reload_queued) return;
        s.reload_queued = true;
        self->send(self, reload_atom::value);
      },
      [=](status_atom) {
        auto& s = self->state;
        if (!s.options.store) return component_status{"scheduler", "idle", "no task store"};
        return component_status{"scheduler", "running", status_detail(s)};
      },
      [=](shutdown_atom) {
        // Runs still going keep their "running" rows: the next start records them as errors.
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

scheduler_actor spawn_scheduler(caf::actor_system& system, SchedulerOptions options) {
  // Detached, like the storage writer: its store calls block (SQLite commits, a WAL
  // checkpoint's fsync) and must not hold one of the shared worker threads.
  return system.spawn<caf::detached>(scheduler_fn, std::move(options));
}

std::function<void()> scheduler_reload_hook(caf::actor_system& system) {
  return [&system] {
    if (t_own_writes > 0) return;
    if (auto scheduler = lookup<scheduler_actor>(system, "scheduler")) caf::anon_send(scheduler, reload_atom::value);
  };
}

}  // namespace sb::actors
