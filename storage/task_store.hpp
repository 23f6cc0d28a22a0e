#pragma once
// Scheduled tasks and their run log, persisted over the store's own SQLite connection
// (WAL lets it sit next to the node's writer). Thread-safe: one mutex serialises every
// call (admin traffic and one scheduler are light). The scheduler actor reads `due`
// and `earliest_next_run` and records runs; the admin API does the rest.
//
// Error codes: "invalid_field" (message names the field), "tasks.not_found" (unknown
// task id), "tasks.no_group" (the group names no namespace), "tasks.conflict" (a run
// already going, a resume with no fire time left), "sqlite.*".
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/schedule/task_model.hpp"
#include "storage/sqlite.hpp"
#include "storage/statement_cache.hpp"

namespace sb::storage {

struct TaskStoreOptions {
  // The zone of a task created without "timeZone" (the node's zone).
  std::string default_time_zone = "UTC";
  // Unix epoch milliseconds; the system clock when empty. Tests inject their own.
  std::function<int64_t()> now_ms;
  // Durability of the scheduler's run bookkeeping (start_run, finish_run, skip_missed,
  // abandon_running): "NORMAL" (WAL, no fsync per commit; the next FULL commit or
  // checkpoint makes it durable) or "FULL". A power loss under NORMAL may lose the last
  // run records: a run may then happen again (catch-up), a task or an API change is
  // never lost (those commits are always FULL). NORMAL keeps a fire's dispatch off the
  // disk's fsync latency (docs/scheduling.md, "Durability").
  std::string run_synchronous = "NORMAL";
};

class TaskStore {
 public:
  // Opens (and migrates) the database. Fails on an unknown default zone.
  static Result<std::unique_ptr<TaskStore>> open(const std::string& db_path, TaskStoreOptions options = {});

  // Runs after every committed change, outside the store's lock (the scheduler re-arms
  // its timer from here). Set it before sharing the store between threads.
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }
  const std::string& default_time_zone() const { return options_.default_time_zone; }

  // Needs name, group, prompt, schedule; computes next_run from the schedule, the zone
  // and now. A schedule with no fire time after now is an invalid_field.
  Result<schedule::Task> create(const schedule::TaskPatch& patch);
  // Oldest first. An unknown group is "tasks.no_group".
  Result<std::vector<schedule::Task>> list(const schedule::TaskFilter& filter = {});
  Result<schedule::Task> get(const std::string& id);
  // Recomputes next_run when the schedule, the zone or enabled changes. A new schedule
  // restarts an interval's grid at now and reactivates a completed or failed task.
  Result<schedule::Task> update(const std::string& id, const schedule::TaskPatch& patch);
  // The run log goes with it.
  Result<schedule::Task> remove(const std::string& id);
  Result<schedule::Task> pause(const std::string& id);
  Result<schedule::Task> resume(const std::string& id);

  // A run-now request, kept until the scheduler starts it (any status; paused too).
  Result<schedule::Task> request_run(const std::string& id);

  // A run starts: a run-log row "running", last_run = now. A manual run clears the
  // request; a scheduled or retry run moves next_run to the first planned fire after
  // now (none for a once task). Refused ("tasks.conflict") while the task has a run going.
  Result<schedule::TaskRun> start_run(const std::string& task_id, schedule::RunTrigger trigger, int64_t attempt = 1);
  // start_run for many tasks in ONE transaction: a scheduler tick's due runs share one
  // commit. One outcome per item, in order, by start_run's rules; a refused item
  // (tasks.not_found, tasks.conflict, a schedule error) changes nothing and does not
  // fail the others (a task twice in a batch: the second is a conflict). The outer error
  // (a failed statement) rolls the whole batch back. One change-hook call for the batch.
  Result<std::vector<Result<schedule::TaskRun>>> start_runs(const std::vector<schedule::RunStart>& starts);
  // The run ends: duration, status, result excerpt, error; last_result. A once task
  // ends completed (success) or failed, unless a retry is planned (next_run = retry_at).
  Result<schedule::Task> finish_run(int64_t run_id, const schedule::RunOutcome& outcome);
  // Runs still "running" (the node stopped under them) become errors; returns how many.
  // A once task whose run that was ends failed (its time is gone).
  Result<int64_t> abandon_running(const std::string& reason = "node stopped during the run");
  // Newest first, at most `limit`.
  Result<std::vector<schedule::TaskRun>> runs(const std::string& task_id, std::size_t limit = 50);

  // Active tasks whose next_run <= now, and requested runs, without a run going;
  // earliest first.
  Result<std::vector<schedule::Task>> due(int64_t now_ms);
  // When the scheduler must next look: the earliest next_run of an active task or the
  // earliest run request, of tasks without a run going. nullopt: nothing planned.
  Result<std::optional<int64_t>> earliest_next_run();
  // Every task with something planned (active with a next_run, or a run request) and
  // no run going, as (id, earliest planned time): the scheduler's whole queue in one
  // query, without reading the tasks themselves. Unordered.
  Result<std::vector<schedule::PlannedRun>> planned_runs();
  // Catch-up policy skip: fires missed while the node was down do not run. An active
  // task still planned at `planned_ms` moves to `next_ms`; without one (a once task
  // whose time passed) it ends failed (and is logged: it never ran). "tasks.conflict"
  // when the task changed since (not active, or planned at another time).
  Result<schedule::Task> skip_missed(const std::string& id, int64_t planned_ms, std::optional<int64_t> next_ms);
  // Copies the WAL into the database (PASSIVE: never waits for readers). The scheduler
  // calls it when no fire is near, so the checkpoint's fsync stays off the firing path.
  Status checkpoint();

 private:
  TaskStore(storage::Database db, TaskStoreOptions options) : db_(std::move(db)), options_(std::move(options)) {}

  int64_t now() const;
  Result<schedule::Task> require_locked(const std::string& id);
  Result<std::pair<std::string, std::string>> resolve_namespace_locked(const std::string& ref);
  Status save_locked(const schedule::Task& t);
  Result<bool> running_locked(const std::string& task_id);
  // One run's start inside the caller's transaction. The return value is the item's
  // outcome (a refusal writes nothing); `failed` is set when a statement failed (the
  // caller rolls back).
  Result<schedule::TaskRun> start_one_locked(const schedule::RunStart& start, int64_t at, std::optional<Error>& failed);
  // PRAGMA synchronous for the scheduler's bookkeeping, back to FULL on destruction.
  class RunSync;

  std::mutex mutex_;
  storage::Database db_;
  StatementCache statements_{db_};  // after db_: finalized before it closes
  TaskStoreOptions options_;
  std::function<void()> on_change_;
};

}  // namespace sb::storage
