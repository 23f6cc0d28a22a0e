#include "storage/task_store.hpp"

#include <algorithm>
#include <chrono>

#include "runtime/core/change_notifier.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/time.hpp"
#include "storage/migrations.hpp"

namespace sb::storage {

using namespace schedule;
namespace {

using storage::SqlParam;

constexpr const char* kSelectTask =
    "SELECT t.id, t.name, t.namespace_id, n.name, t.prompt, t.schedule_type, t.schedule_value, t.time_zone, "
    "t.image, t.timeout_secs, t.context_mode, t.catch_up, t.announce_jid, t.retry_max_attempts, "
    "t.retry_backoff_ms, t.status, t.anchor_at, t.next_run, t.run_requested_at, t.last_run, t.last_result, "
    "t.created_at, t.updated_at FROM scheduled_tasks t JOIN namespaces n ON n.id = t.namespace_id";

constexpr const char* kSelectRun =
    "SELECT id, task_id, trigger, attempt, run_at, duration_ms, status, result, error FROM task_runs";

Error not_found(const std::string& id) {
  return make_error("tasks.not_found", "no scheduled task " + id);
}
Error conflict(const std::string& what) {
  return make_error("tasks.conflict", what);
}

std::optional<int64_t> opt_int(storage::Statement& s, int col) {
  if (s.column_is_null(col)) return std::nullopt;
  return s.column_int64(col);
}

SqlParam param(const std::optional<int64_t>& v) {
  return v ? SqlParam::of(*v) : SqlParam::null();
}
SqlParam param(const std::string& s) {
  return SqlParam::of(s);
}
SqlParam param(int64_t v) {
  return SqlParam::of(v);
}
SqlParam text_or_null(const std::string& s) {
  return s.empty() ? SqlParam::null() : SqlParam::of(s);
}

Result<Task> read_task(storage::Statement& s) {
  Task t;
  t.id = s.column_text(0);
  t.name = s.column_text(1);
  t.namespace_id = s.column_text(2);
  t.namespace_name = s.column_text(3);
  t.prompt = s.column_text(4);
  auto type = parse_schedule_type(s.column_text(5));
  if (!type) return make_error("tasks.corrupt", "task " + t.id + ": stored schedule type");
  t.schedule = ScheduleSpec{*type, s.column_text(6)};
  t.time_zone = s.column_text(7);
  t.container.image = s.column_text(8);
  t.container.timeout_secs = s.column_int64(9);
  t.context_mode = s.column_text(10) == "group" ? ContextMode::group : ContextMode::isolated;
  t.catch_up = s.column_text(11) == "skip" ? CatchUpPolicy::skip : CatchUpPolicy::once;
  t.announce_jid = s.column_text(12);
  t.retry.max_attempts = s.column_int64(13);
  t.retry.backoff_ms = s.column_int64(14);
  auto status = parse_task_status(s.column_text(15));
  if (!status) return make_error("tasks.corrupt", "task " + t.id + ": stored status " + s.column_text(15));
  t.status = *status;
  t.anchor_ms = s.column_int64(16);
  t.next_run_ms = opt_int(s, 17);
  t.run_requested_ms = opt_int(s, 18);
  t.last_run_ms = opt_int(s, 19);
  t.last_result = s.column_text(20);
  t.created_at_ms = s.column_int64(21);
  t.updated_at_ms = s.column_int64(22);
  return t;
}

TaskRun read_run(storage::Statement& s) {
  TaskRun r;
  r.id = s.column_int64(0);
  r.task_id = s.column_text(1);
  r.trigger = parse_run_trigger(s.column_text(2)).value_or(RunTrigger::schedule);
  r.attempt = s.column_int64(3);
  r.started_at_ms = s.column_int64(4);
  r.duration_ms = opt_int(s, 5);
  r.status = parse_run_status(s.column_text(6)).value_or(RunStatus::error);
  r.result = s.column_text(7);
  r.error = s.column_text(8);
  return r;
}

// A cached statement, bound; reset again when this leaves scope, so no read stays open
// between calls.
class Bound {
 public:
  explicit Bound(storage::Statement* s) : s_(s) {}
  ~Bound() { s_->reset(); }
  Bound(const Bound&) = delete;
  Bound& operator=(const Bound&) = delete;
  storage::Statement* operator->() const { return s_; }
  storage::Statement& operator*() const { return *s_; }

 private:
  storage::Statement* s_;
};

Result<storage::Statement*> prepared(StatementCache& sql_cache, std::string_view sql,
                                     const std::vector<SqlParam>& params) {
  auto s = sql_cache.get(sql);
  if (!s) return s.error();
  for (size_t i = 0; i < params.size(); ++i)
    if (auto st = (*s)->bind_param(static_cast<int>(i + 1), params[i]); !st) return st.error();
  return s;
}

// Every row of a query, read by `read`.
template <typename T, typename Read>
Result<std::vector<T>> rows(StatementCache& db, std::string_view sql, const std::vector<SqlParam>& params, Read read) {
  auto prep = prepared(db, sql, params);
  if (!prep) return prep.error();
  Bound s(*prep);
  std::vector<T> out;
  while (true) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    Result<T> item = read(*s);
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return out;
}

Result<std::vector<Task>> tasks(StatementCache& db, const std::string& where, const std::vector<SqlParam>& params) {
  return rows<Task>(db, std::string(kSelectTask) + where, params, [](storage::Statement& s) { return read_task(s); });
}

// Runs a write; returns the rows it changed.
Result<int64_t> exec(StatementCache& db, storage::Database& conn, std::string_view sql,
                     const std::vector<SqlParam>& params) {
  auto prep = prepared(db, sql, params);
  if (!prep) return prep.error();
  Bound s(*prep);
  auto r = s->step();
  if (!r) return r.error();
  return conn.changes();
}

// Runs an INSERT ... RETURNING id of one row; returns that id. The id comes from the
// statement itself: PostgreSQL has no connection-wide "last rowid".
Result<int64_t> insert_returning_id(StatementCache& db, std::string_view sql, const std::vector<SqlParam>& params) {
  auto prep = prepared(db, sql, params);
  if (!prep) return prep.error();
  Bound s(*prep);
  auto row = s->step();
  if (!row) return row.error();
  if (!*row) return make_error("storage.no_row", "INSERT returned no id: " + std::string(sql));
  const int64_t id = s->column_int64(0);
  auto done = s->step();  // completes the statement (one row inserted, one returned)
  if (!done) return done.error();
  return id;
}

// next_run for an active task from its schedule; an error names the field.
Result<std::optional<int64_t>> next_for(const Task& t, int64_t now) {
  auto tz = resolve_time_zone(t.time_zone);
  if (!tz) return tz.error();
  auto schedule = compile_task_schedule(t.schedule, *tz);
  if (!schedule) return schedule.error();
  return plan_next_run(*schedule, *tz, t.anchor_ms, now);
}

// Engine points: the store's only engine-specific statements, kept apart so the engine
// abstraction can route them. SQLite: PRAGMAs of this connection. PostgreSQL has no WAL
// checkpoint to defer (the server checkpoints by itself) and its per-transaction
// counterpart of synchronous=NORMAL is SET LOCAL synchronous_commit = off.

// SQLite: commit durability and WAL auto-checkpoint size of this connection. PostgreSQL:
// nothing; its run records commit durably like every other write (stricter, never weaker).
void set_sqlite_run_durability(storage::Database& db, const std::string& synchronous, int checkpoint_pages) {
  if (db.engine() != storage::Engine::sqlite) return;
  (void)db.exec("PRAGMA synchronous=" + synchronous);
  (void)db.exec("PRAGMA wal_autocheckpoint=" + std::to_string(checkpoint_pages));
}

// SQLite: copy the WAL into the database file without waiting for readers. PostgreSQL:
// nothing to do, the server checkpoints by itself.
Status sqlite_passive_checkpoint(storage::Database& db) {
  if (db.engine() != storage::Engine::sqlite) return {};
  return db.exec("PRAGMA wal_checkpoint(PASSIVE)");
}

}  // namespace

class TaskStore::RunSync {
 public:
  // Relaxed commits also leave the WAL checkpoint (its fsync) to checkpoint(), which the
  // scheduler calls when no fire is near, up to kRunCheckpointPages of WAL.
  static constexpr int kRunCheckpointPages = 16384;
  static constexpr int kDefaultCheckpointPages = 1000;  // SQLite's default

  RunSync(storage::Database& db, const std::string& mode) : db_(db), relaxed_(mode != "FULL") {
    if (relaxed_) set_sqlite_run_durability(db_, mode, kRunCheckpointPages);
  }
  ~RunSync() {
    if (relaxed_) set_sqlite_run_durability(db_, "FULL", kDefaultCheckpointPages);
  }
  RunSync(const RunSync&) = delete;
  RunSync& operator=(const RunSync&) = delete;

 private:
  storage::Database& db_;
  bool relaxed_;
};

Result<std::unique_ptr<TaskStore>> TaskStore::open(const std::string& db_path, TaskStoreOptions options) {
  if (auto tz = resolve_time_zone(options.default_time_zone); !tz)
    return make_error("tasks.config", "default time zone: " + tz.error().message);
  if (options.run_synchronous != "FULL" && options.run_synchronous != "NORMAL")
    return make_error("tasks.config", "run_synchronous must be FULL or NORMAL, got '" + options.run_synchronous + "'");
  auto db = storage::Database::open(db_path);
  if (!db) return db.error();
  if (auto st = storage::migrate(*db); !st) return st.error();
  return std::unique_ptr<TaskStore>(new TaskStore(std::move(*db), std::move(options)));
}

int64_t TaskStore::now() const {
  if (options_.now_ms) return options_.now_ms();
  return now_ms();
}

Result<Task> TaskStore::require_locked(const std::string& id) {
  auto found = tasks(statements_, " WHERE t.id = ?1", {param(id)});
  if (!found) return found.error();
  if (found->empty()) return not_found(id);
  return std::move(found->front());
}

// (id, name) of the namespace `ref` names: an id first, else a name.
Result<std::pair<std::string, std::string>> TaskStore::resolve_namespace_locked(const std::string& ref) {
  using Pair = std::pair<std::string, std::string>;
  auto found = rows<Pair>(
      statements_,
      "SELECT id, name FROM namespaces WHERE id = ?1 UNION ALL SELECT id, name FROM namespaces WHERE name = ?1",
      {param(ref)}, [](storage::Statement& s) -> Result<Pair> {
        return Pair{s.column_text(0), s.column_text(1)};
      });
  if (!found) return found.error();
  if (found->empty()) return make_error("tasks.no_group", "group: no namespace " + ref);
  return found->front();
}

Status TaskStore::save_locked(const Task& t) {
  auto r = exec(statements_, db_,
                "UPDATE scheduled_tasks SET name = ?2, namespace_id = ?3, prompt = ?4, schedule_type = ?5, "
                "schedule_value = ?6, time_zone = ?7, image = ?8, timeout_secs = ?9, context_mode = ?10, "
                "catch_up = ?11, announce_jid = ?12, retry_max_attempts = ?13, retry_backoff_ms = ?14, "
                "status = ?15, anchor_at = ?16, next_run = ?17, run_requested_at = ?18, last_run = ?19, "
                "last_result = ?20, updated_at = ?21 WHERE id = ?1",
                {param(t.id),
                 param(t.name),
                 param(t.namespace_id),
                 param(t.prompt),
                 param(std::string(to_string(t.schedule.type))),
                 param(t.schedule.value),
                 param(t.time_zone),
                 text_or_null(t.container.image),
                 param(t.container.timeout_secs),
                 param(std::string(to_string(t.context_mode))),
                 param(std::string(to_string(t.catch_up))),
                 text_or_null(t.announce_jid),
                 param(t.retry.max_attempts),
                 param(t.retry.backoff_ms),
                 param(std::string(to_string(t.status))),
                 param(t.anchor_ms),
                 param(t.next_run_ms),
                 param(t.run_requested_ms),
                 param(t.last_run_ms),
                 t.last_run_ms ? param(t.last_result) : SqlParam::null(),
                 param(t.updated_at_ms)});
  if (!r) return r.error();
  if (*r == 0) return not_found(t.id);
  return {};
}

Result<bool> TaskStore::running_locked(const std::string& task_id) {
  auto n = rows<int64_t>(statements_, "SELECT count(*) FROM task_runs WHERE task_id = ?1 AND status = 'running'",
                         {param(task_id)}, [](storage::Statement& s) -> Result<int64_t> { return s.column_int64(0); });
  if (!n) return n.error();
  return !n->empty() && n->front() > 0;
}

Result<Task> TaskStore::create(const TaskPatch& p) {
  if (!p.name) return make_error("invalid_field", "name: required");
  if (!p.group) return make_error("invalid_field", "group: required (a namespace name or id)");
  if (!p.prompt) return make_error("invalid_field", "prompt: required");
  if (!p.schedule) return make_error("invalid_field", "schedule: required");
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  const int64_t at = now();
  Task t;
  t.id = uuid_v4();
  t.name = *p.name;
  t.prompt = *p.prompt;
  t.schedule = *p.schedule;
  t.time_zone = p.time_zone.value_or(options_.default_time_zone);
  t.container.timeout_secs = p.timeout_secs.value_or(kDefaultTimeoutSecs);
  t.container.image = p.image.value_or("");
  t.context_mode = p.context_mode.value_or(ContextMode::isolated);
  t.catch_up = p.catch_up.value_or(CatchUpPolicy::once);
  t.announce_jid = p.announce_jid.value_or("");
  t.retry = p.retry.value_or(RetryPolicy{});
  t.status = p.enabled.value_or(true) ? TaskStatus::active : TaskStatus::paused;
  t.anchor_ms = t.created_at_ms = t.updated_at_ms = at;
  // Validated even when paused: a stored schedule always compiles.
  auto next = next_for(t, at);
  if (!next) return next.error();
  if (!*next) return make_error("invalid_field", "schedule.value: has no fire time after now");
  if (t.status == TaskStatus::active) t.next_run_ms = *next;

  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto group = resolve_namespace_locked(*p.group);
  if (!group) return group.error();
  t.namespace_id = group->first;
  t.namespace_name = group->second;
  auto ins = exec(statements_, db_,
                  "INSERT INTO scheduled_tasks(id, name, namespace_id, prompt, schedule_type, schedule_value, "
                  "anchor_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)",
                  {param(t.id), param(t.name), param(t.namespace_id), param(t.prompt),
                   param(std::string(to_string(t.schedule.type))), param(t.schedule.value), param(at)});
  if (!ins) return ins.error();
  if (auto st = save_locked(t); !st) return st.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return t;
}

Result<std::vector<Task>> TaskStore::list(const TaskFilter& filter) {
  std::lock_guard lock(mutex_);
  std::string where = " WHERE 1 = 1";
  std::vector<SqlParam> params;
  if (filter.group) {
    auto group = resolve_namespace_locked(*filter.group);
    if (!group) return group.error();
    params.push_back(param(group->first));
    where += " AND t.namespace_id = ?" + std::to_string(params.size());
  }
  if (filter.status) {
    params.push_back(param(std::string(to_string(*filter.status))));
    where += " AND t.status = ?" + std::to_string(params.size());
  }
  return tasks(statements_, where + " ORDER BY t.created_at, t.id", params);
}

Result<Task> TaskStore::get(const std::string& id) {
  std::lock_guard lock(mutex_);
  return require_locked(id);
}

Result<Task> TaskStore::update(const std::string& id, const TaskPatch& p) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  const int64_t at = now();
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto found = require_locked(id);
  if (!found) return found.error();
  Task t = std::move(*found);
  bool replan = false;
  if (p.name) t.name = *p.name;
  if (p.prompt) t.prompt = *p.prompt;
  if (p.group) {
    auto group = resolve_namespace_locked(*p.group);
    if (!group) return group.error();
    t.namespace_id = group->first;
    t.namespace_name = group->second;
  }
  if (p.timeout_secs) t.container.timeout_secs = *p.timeout_secs;
  if (p.image) t.container.image = *p.image;
  if (p.context_mode) t.context_mode = *p.context_mode;
  if (p.catch_up) t.catch_up = *p.catch_up;
  if (p.announce_jid) t.announce_jid = *p.announce_jid;
  if (p.retry) t.retry = *p.retry;
  if (p.time_zone && *p.time_zone != t.time_zone) {
    t.time_zone = *p.time_zone;
    replan = true;
  }
  if (p.schedule) {
    t.schedule = *p.schedule;
    t.anchor_ms = at;  // a new schedule starts a new interval grid
    if (t.status == TaskStatus::completed || t.status == TaskStatus::failed) t.status = TaskStatus::active;
    replan = true;
  }
  if (p.enabled) {
    const TaskStatus wanted = *p.enabled ? TaskStatus::active : TaskStatus::paused;
    if (wanted != t.status) {
      t.status = wanted;
      replan = true;
    }
  }
  auto next = next_for(t, at);  // also checks a changed zone against a once value
  if (!next) return next.error();
  if (replan) {
    if (t.status == TaskStatus::active) {
      if (!*next) {
        if (p.schedule) return make_error("invalid_field", "schedule.value: has no fire time after now");
        return conflict("the schedule has no fire time after now: give the task a new schedule");
      }
      t.next_run_ms = *next;
    } else {
      t.next_run_ms.reset();
    }
  }
  t.updated_at_ms = std::max(at, t.updated_at_ms);
  if (auto st = save_locked(t); !st) return st.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return t;
}

Result<Task> TaskStore::remove(const std::string& id) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto found = require_locked(id);
  if (!found) return found.error();
  auto del = exec(statements_, db_, "DELETE FROM scheduled_tasks WHERE id = ?1", {param(id)});
  if (!del) return del.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return found;
}

Result<Task> TaskStore::pause(const std::string& id) {
  TaskPatch p;
  p.enabled = false;
  return update(id, p);
}

Result<Task> TaskStore::resume(const std::string& id) {
  TaskPatch p;
  p.enabled = true;
  return update(id, p);
}

Result<Task> TaskStore::request_run(const std::string& id) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto found = require_locked(id);
  if (!found) return found.error();
  Task t = std::move(*found);
  if (!t.run_requested_ms) t.run_requested_ms = now();  // a second request while one waits is the same run
  if (auto st = save_locked(t); !st) return st.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return t;
}

Result<TaskRun> TaskStore::start_run(const std::string& task_id, RunTrigger trigger, int64_t attempt) {
  auto started = start_runs({RunStart{task_id, trigger, attempt}});
  if (!started) return started.error();
  return std::move(started->front());
}

Result<std::vector<Result<TaskRun>>> TaskStore::start_runs(const std::vector<RunStart>& starts) {
  if (starts.empty()) return std::vector<Result<TaskRun>>{};
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  RunSync sync(db_, options_.run_synchronous);
  const int64_t at = now();
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  std::vector<Result<TaskRun>> out;
  out.reserve(starts.size());
  bool any = false;
  for (const auto& start : starts) {
    std::optional<Error> failed;
    out.push_back(start_one_locked(start, at, failed));
    if (failed) return std::move(*failed);  // the transaction rolls back
    any = any || out.back().ok();
  }
  if (!any) return out;  // nothing written: the transaction just ends
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return out;
}

Result<TaskRun> TaskStore::start_one_locked(const RunStart& start, int64_t at, std::optional<Error>& failed) {
  const std::string& task_id = start.task_id;
  // Refusals first, before anything is written.
  auto found = require_locked(task_id);
  if (!found) {
    if (found.error().code != "tasks.not_found") failed = found.error();
    return found.error();
  }
  Task t = std::move(*found);
  auto running = running_locked(task_id);
  if (!running) {
    failed = running.error();
    return running.error();
  }
  if (*running) return conflict("task " + task_id + " already has a run going");
  if (start.trigger == RunTrigger::manual) {
    t.run_requested_ms.reset();
  } else if (t.status == TaskStatus::active) {
    auto next = next_for(t, at);
    if (!next) return next.error();
    t.next_run_ms = *next;  // none left for a once task
  }
  t.last_run_ms = at;
  t.last_result.clear();
  t.updated_at_ms = std::max(at, t.updated_at_ms);
  if (auto st = save_locked(t); !st) {
    failed = st.error();
    return st.error();
  }
  auto ins = insert_returning_id(
      statements_,
      "INSERT INTO task_runs(task_id, trigger, attempt, run_at, status) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
      {param(task_id), param(std::string(to_string(start.trigger))), param(start.attempt), param(at),
       param(std::string(to_string(RunStatus::running)))});
  if (!ins) {
    failed = ins.error();
    return ins.error();
  }
  TaskRun run;
  run.id = *ins;
  run.task_id = task_id;
  run.trigger = start.trigger;
  run.attempt = start.attempt;
  run.started_at_ms = at;
  return run;
}

Result<Task> TaskStore::finish_run(int64_t run_id, const RunOutcome& outcome) {
  if (outcome.status == RunStatus::running)
    return make_error("invalid_field", "status: a finished run cannot be running");
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  RunSync sync(db_, options_.run_synchronous);
  const int64_t at = now();
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto found = rows<TaskRun>(statements_, std::string(kSelectRun) + " WHERE id = ?1", {param(run_id)},
                             [](storage::Statement& s) -> Result<TaskRun> { return read_run(s); });
  if (!found) return found.error();
  if (found->empty()) return make_error("tasks.not_found", "no task run " + std::to_string(run_id));
  const TaskRun run = found->front();
  if (run.status != RunStatus::running) return conflict("task run " + std::to_string(run_id) + " already ended");
  auto task = require_locked(run.task_id);
  if (!task) return task.error();
  Task t = std::move(*task);

  const std::string result = excerpt(outcome.result);
  const std::string error = excerpt(outcome.error);
  auto upd = exec(statements_, db_,
                  "UPDATE task_runs SET duration_ms = ?2, status = ?3, result = ?4, error = ?5 WHERE id = ?1",
                  {param(run_id), param(std::max<int64_t>(0, at - run.started_at_ms)),
                   param(std::string(to_string(outcome.status))), param(result), text_or_null(error)});
  if (!upd) return upd.error();

  const bool ok = outcome.status == RunStatus::success;
  t.last_result = ok ? result : excerpt(std::string(to_string(outcome.status)) + ": " + outcome.error);
  if (outcome.retry_at_ms && !ok) {
    if (t.status == TaskStatus::active) t.next_run_ms = *outcome.retry_at_ms;
  } else if (t.schedule.type == ScheduleType::once && t.status == TaskStatus::active && !t.next_run_ms) {
    // The planned run happened (a run-now of a once task still planned leaves it planned).
    t.status = ok ? TaskStatus::completed : TaskStatus::failed;
    t.next_run_ms.reset();
  }
  t.updated_at_ms = std::max(at, t.updated_at_ms);
  if (auto st = save_locked(t); !st) return st.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return t;
}

Result<int64_t> TaskStore::abandon_running(const std::string& reason) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  RunSync sync(db_, options_.run_synchronous);
  const int64_t at = now();
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  // A once task that was running has no fire left: it ends failed (not left active with
  // nothing planned). Before the runs change, while they still say 'running'.
  auto ended = exec(statements_, db_,
                    "UPDATE scheduled_tasks SET status = 'failed', last_result = ?1, "
                    "updated_at = CASE WHEN updated_at > ?2 THEN updated_at ELSE ?2 END "
                    "WHERE schedule_type = 'once' AND status = 'active' AND next_run IS NULL AND id IN "
                    "(SELECT task_id FROM task_runs WHERE status = 'running')",
                    {param(excerpt("error: " + reason)), param(at)});
  if (!ended) return ended.error();
  auto n = exec(statements_, db_,
                "UPDATE task_runs SET status = 'error', error = ?1, "
                "duration_ms = CASE WHEN ?2 > run_at THEN ?2 - run_at ELSE 0 END "
                "WHERE status = 'running'",
                {param(excerpt(reason)), param(at)});
  if (!n) return n.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = *n > 0;
  return n;
}

Result<std::vector<TaskRun>> TaskStore::runs(const std::string& task_id, std::size_t limit) {
  std::lock_guard lock(mutex_);
  if (auto found = require_locked(task_id); !found) return found.error();
  return rows<TaskRun>(statements_,
                       std::string(kSelectRun) + " WHERE task_id = ?1 ORDER BY run_at DESC, id DESC LIMIT ?2",
                       {param(task_id), param(static_cast<int64_t>(std::min<std::size_t>(limit, 100000)))},
                       [](storage::Statement& s) -> Result<TaskRun> { return read_run(s); });
}

Result<std::vector<Task>> TaskStore::due(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  return tasks(statements_,
               " WHERE ((t.status = 'active' AND t.next_run <= ?1) OR t.run_requested_at <= ?1)"
               " AND NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.status = 'running')"
               // The earlier of the two planned times (either may be NULL, not both).
               " ORDER BY CASE WHEN t.run_requested_at IS NULL OR t.next_run < t.run_requested_at"
               " THEN t.next_run ELSE t.run_requested_at END, t.id",
               {param(now_ms)});
}

Result<std::optional<int64_t>> TaskStore::earliest_next_run() {
  std::lock_guard lock(mutex_);
  // A task with a run going is left out (as in due()): its finish fires the change hook.
  auto s = db_.prepare(
      "SELECT min(CASE WHEN status = 'active' AND (run_requested_at IS NULL OR next_run < run_requested_at) "
      "THEN next_run ELSE run_requested_at END) FROM scheduled_tasks t "
      "WHERE NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.status = 'running')");
  if (!s) return s.error();
  auto row = s->step();
  if (!row) return row.error();
  if (!*row || s->column_is_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(s->column_int64(0));
}

Status TaskStore::checkpoint() {
  std::lock_guard lock(mutex_);
  return sqlite_passive_checkpoint(db_);
}

Result<std::vector<PlannedRun>> TaskStore::planned_runs() {
  std::lock_guard lock(mutex_);
  // The two OR terms use scheduled_tasks_due and scheduled_tasks_requested.
  return rows<PlannedRun>(
      statements_,
      "SELECT id, CASE WHEN status = 'active' AND next_run IS NOT NULL "
      "AND (run_requested_at IS NULL OR next_run < run_requested_at) THEN next_run ELSE run_requested_at END "
      "FROM scheduled_tasks t WHERE ((status = 'active' AND next_run IS NOT NULL) OR run_requested_at IS NOT NULL) "
      "AND NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.status = 'running')",
      {}, [](storage::Statement& s) -> Result<PlannedRun> {
        return PlannedRun{s.column_text(0), s.column_int64(1)};
      });
}

Result<Task> TaskStore::skip_missed(const std::string& id, int64_t planned_ms, std::optional<int64_t> next_ms) {
  ChangeNotifier notify{on_change_};
  std::lock_guard lock(mutex_);
  RunSync sync(db_, options_.run_synchronous);
  const int64_t at = now();
  auto tx = storage::Transaction::begin(db_, true);
  if (!tx) return tx.error();
  auto found = require_locked(id);
  if (!found) return found.error();
  Task t = std::move(*found);
  if (t.status != TaskStatus::active || t.next_run_ms != planned_ms)
    return conflict("task " + id + " changed since its missed fire was planned");
  if (next_ms) {
    t.next_run_ms = *next_ms;
  } else {
    t.next_run_ms.reset();
    t.status = TaskStatus::failed;
  }
  t.updated_at_ms = std::max(at, t.updated_at_ms);
  if (auto st = save_locked(t); !st) return st.error();
  if (auto st = tx->commit(); !st) return st.error();
  notify.fire = true;
  return t;
}

}  // namespace sb::storage
