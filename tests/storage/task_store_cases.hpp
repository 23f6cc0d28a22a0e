#pragma once
// The task store on both engines (tests/support/store_engines.hpp), with an injected clock: next runs computed at
// create/update/resume, the run log, once tasks ending completed or failed, due() and
// earliest_next_run() for the scheduler, and the group rule.
#include <atomic>
#include <map>

#include <gtest/gtest.h>

#include "runtime/schedule/once.hpp"
#include "storage/namespace_store.hpp"
#include "storage/task_store.hpp"
#include "tests/support/store_engines.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::schedule {
using namespace storage;
namespace {

int64_t ms(const std::string& iso) {
  auto t = parse_once(iso, TimeZone::utc());
  EXPECT_TRUE(t.ok()) << iso;
  return t.ok() ? t->time_since_epoch().count() : 0;
}

class TaskStoreTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    SB_STORE_TARGET(path_, dir_);
    auto ns = storage::NamespaceStore::open(path_, dir_.path());
    ASSERT_TRUE(ns) << ns.error().message;
    namespaces_ = std::move(*ns);
    for (const char* name : {"main", "ops"}) {
      namespaces::NamespacePatch p;
      p.name = name;
      auto created = namespaces_->create(p);
      ASSERT_TRUE(created) << created.error().message;
      ns_ids_.push_back(created->id);
    }
    open_store("Europe/Berlin");
  }

  void open_store(const std::string& zone) {
    store_.reset();
    TaskStoreOptions o;
    o.default_time_zone = zone;
    o.now_ms = [this] { return now_.load(); };
    auto s = TaskStore::open(path_, o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    store_->set_on_change([this] { ++changes_; });
  }

  static TaskPatch patch(const std::string& type, const std::string& value, const std::string& group = "main") {
    TaskPatch p;
    p.name = "task";
    p.group = group;
    p.prompt = "do it";
    p.schedule = ScheduleSpec{*parse_schedule_type(type), value};
    return p;
  }

  Task create(const TaskPatch& p) {
    auto t = store_->create(p);
    EXPECT_TRUE(t) << t.error().message;
    return t.ok() ? *t : Task{};
  }

  sb::test::TempDir dir_;
  std::string path_;
  std::unique_ptr<storage::NamespaceStore> namespaces_;
  std::vector<std::string> ns_ids_;
  std::unique_ptr<TaskStore> store_;
  std::atomic<int64_t> now_{ms("2026-03-01T10:00:00Z")};
  std::atomic<int> changes_{0};
};

TEST_P(TaskStoreTest, CreateComputesNextRunInTheDefaultZone) {
  Task t = create(patch("cron", "0 9 * * *"));
  EXPECT_EQ(t.id.size(), 36u);
  EXPECT_EQ(t.namespace_id, ns_ids_[0]);
  EXPECT_EQ(t.namespace_name, "main");
  EXPECT_EQ(t.time_zone, "Europe/Berlin");
  EXPECT_EQ(t.status, TaskStatus::active);
  EXPECT_EQ(t.container.timeout_secs, 300);
  EXPECT_EQ(t.context_mode, ContextMode::isolated);
  EXPECT_EQ(t.catch_up, CatchUpPolicy::once);
  EXPECT_EQ(t.retry.max_attempts, 0);
  EXPECT_EQ(t.next_run_ms, ms("2026-03-02T08:00:00Z"));
  EXPECT_EQ(changes_.load(), 1);

  // Read back from the database, by a fresh store too.
  open_store("UTC");
  auto again = store_->get(t.id);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->next_run_ms, t.next_run_ms);
  EXPECT_EQ(again->time_zone, "Europe/Berlin");
  EXPECT_EQ(again->schedule.value, "0 9 * * *");
  EXPECT_EQ(again->created_at_ms, now_.load());
}

TEST_P(TaskStoreTest, GroupIsANamespaceNameOrId) {
  Task by_id = create(patch("interval", "60000", ns_ids_[1]));
  EXPECT_EQ(by_id.namespace_name, "ops");
  auto missing = store_->create(patch("interval", "60000", "nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "tasks.no_group");
  EXPECT_EQ(missing.error().message, "group: no namespace nope");
  auto list = store_->list({std::string("nope"), std::nullopt});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, "tasks.no_group");
}

TEST_P(TaskStoreTest, ScheduleWithoutAFutureFireIsRefused) {
  auto past = store_->create(patch("once", "2026-03-01T09:00:00Z"));
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, "invalid_field");
  EXPECT_EQ(past.error().message, "schedule.value: has no fire time after now");
  auto never = store_->create(patch("cron", "0 0 30 2 *"));  // Feb 30
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().message, "schedule.value: has no fire time after now");
  auto bad = store_->create(patch("cron", "0 25 * * *"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("schedule.value: cron: field 2 (hour)", 0), 0u) << bad.error().message;
  EXPECT_EQ(changes_.load(), 0);
  auto all = store_->list();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_P(TaskStoreTest, ListFiltersByGroupAndStatus) {
  Task a = create(patch("interval", "60000"));
  Task b = create(patch("interval", "60000", "ops"));
  ASSERT_TRUE(store_->pause(b.id));
  auto main_only = store_->list({std::string("main"), std::nullopt});
  ASSERT_TRUE(main_only);
  ASSERT_EQ(main_only->size(), 1u);
  EXPECT_EQ(main_only->front().id, a.id);
  auto paused = store_->list({std::nullopt, TaskStatus::paused});
  ASSERT_TRUE(paused);
  ASSERT_EQ(paused->size(), 1u);
  EXPECT_EQ(paused->front().id, b.id);
  auto all = store_->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST_P(TaskStoreTest, PauseAndResumeKeepTheIntervalGrid) {
  const int64_t created = now_.load();
  Task t = create(patch("interval", "60000"));
  EXPECT_EQ(t.next_run_ms, created + 60'000);
  auto paused = store_->pause(t.id);
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->status, TaskStatus::paused);
  EXPECT_FALSE(paused->next_run_ms);
  EXPECT_FALSE(paused->enabled());
  now_ += 150'000;
  auto resumed = store_->resume(t.id);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->status, TaskStatus::active);
  EXPECT_EQ(resumed->next_run_ms, created + 180'000);  // still on created + k*60 s
}

TEST_P(TaskStoreTest, UpdateRecomputesOnScheduleAndZone) {
  Task t = create(patch("cron", "0 9 * * *"));
  TaskPatch zone;
  zone.time_zone = "America/New_York";
  auto moved = store_->update(t.id, zone);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->next_run_ms, ms("2026-03-01T14:00:00Z"));  // 09:00 EST, later today

  TaskPatch rename;
  rename.name = "renamed";
  rename.prompt = "other";
  auto renamed = store_->update(t.id, rename);
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->name, "renamed");
  EXPECT_EQ(renamed->next_run_ms, moved->next_run_ms);

  TaskPatch bad;
  bad.schedule = ScheduleSpec{ScheduleType::cron, "0 9 * * mon-xyz"};
  auto refused = store_->update(t.id, bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "invalid_field");
  auto unchanged = store_->get(t.id);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->schedule.value, "0 9 * * *");

  auto missing = store_->update("no-such-id", rename);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "tasks.not_found");
}

TEST_P(TaskStoreTest, OnceTaskEndsCompletedOrFailed) {
  Task ok = create(patch("once", "2026-03-01T10:05:00Z"));
  Task bad = create(patch("once", "2026-03-01T10:05:00Z"));
  EXPECT_EQ(ok.next_run_ms, ms("2026-03-01T10:05:00Z"));
  now_ = ms("2026-03-01T10:05:00.004Z");
  auto due = store_->due(now_.load());
  ASSERT_TRUE(due);
  EXPECT_EQ(due->size(), 2u);

  auto run = store_->start_run(ok.id, RunTrigger::schedule);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->status, RunStatus::running);
  // Never twice at once: it is no longer due, and a second start is refused.
  auto again = store_->start_run(ok.id, RunTrigger::manual);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "tasks.conflict");
  now_ += 1500;
  auto done = store_->finish_run(run->id, RunOutcome{RunStatus::success, "all good", "", std::nullopt});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->status, TaskStatus::completed);
  EXPECT_FALSE(done->next_run_ms);
  EXPECT_EQ(done->last_run_ms, ms("2026-03-01T10:05:00.004Z"));
  EXPECT_EQ(done->last_result, "all good");

  auto run2 = store_->start_run(bad.id, RunTrigger::schedule);
  ASSERT_TRUE(run2);
  auto failed = store_->finish_run(run2->id, RunOutcome{RunStatus::timeout, "", "killed after 300 s", std::nullopt});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, TaskStatus::failed);
  EXPECT_EQ(failed->last_result, "timeout: killed after 300 s");

  auto runs = store_->runs(ok.id);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().duration_ms, 1500);
  EXPECT_EQ(runs->front().status, RunStatus::success);
  EXPECT_EQ(runs->front().result, "all good");
  auto twice = store_->finish_run(run->id, RunOutcome{});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, "tasks.conflict");
  auto none_due = store_->due(now_.load());
  ASSERT_TRUE(none_due);
  EXPECT_TRUE(none_due->empty());
  auto earliest = store_->earliest_next_run();
  ASSERT_TRUE(earliest);
  EXPECT_FALSE(*earliest);
}

TEST_P(TaskStoreTest, RetryKeepsAOnceTaskActive) {
  TaskPatch p = patch("once", "2026-03-01T10:01:00Z");
  p.retry = RetryPolicy{2, 1000};
  Task t = create(p);
  now_ = ms("2026-03-01T10:01:00Z");
  auto run = store_->start_run(t.id, RunTrigger::schedule);
  ASSERT_TRUE(run);
  const int64_t retry_at = now_.load() + 1000;
  auto retried = store_->finish_run(run->id, RunOutcome{RunStatus::error, "", "exit 2", retry_at});
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->status, TaskStatus::active);
  EXPECT_EQ(retried->next_run_ms, retry_at);
  auto earliest = store_->earliest_next_run();
  ASSERT_TRUE(earliest);
  EXPECT_EQ(*earliest, retry_at);
  now_ = retry_at;
  auto second = store_->start_run(t.id, RunTrigger::retry, 2);
  ASSERT_TRUE(second);
  auto ended = store_->finish_run(second->id, RunOutcome{RunStatus::success, "ok", "", std::nullopt});
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, TaskStatus::completed);
  auto runs = store_->runs(t.id);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ(runs->front().attempt, 2);  // newest first
  EXPECT_EQ(runs->front().trigger, RunTrigger::retry);
  EXPECT_EQ(runs->back().error, "exit 2");
}

TEST_P(TaskStoreTest, RunRequestIsDueAndClearedByTheManualRun) {
  Task t = create(patch("cron", "0 9 * * *"));
  ASSERT_TRUE(store_->pause(t.id));
  auto requested = store_->request_run(t.id);
  ASSERT_TRUE(requested);
  EXPECT_EQ(requested->run_requested_ms, now_.load());
  auto earliest = store_->earliest_next_run();
  ASSERT_TRUE(earliest);
  EXPECT_EQ(*earliest, now_.load());
  auto due = store_->due(now_.load());
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);  // a paused task still runs when asked to
  auto run = store_->start_run(t.id, RunTrigger::manual);
  ASSERT_TRUE(run);
  // A request arriving while the run goes waits for it: nothing to wake up for meanwhile.
  ASSERT_TRUE(store_->request_run(t.id));
  auto while_running = store_->earliest_next_run();
  ASSERT_TRUE(while_running);
  EXPECT_FALSE(*while_running);
  auto none = store_->due(now_.load());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(store_->finish_run(run->id, RunOutcome{}));
  auto waiting = store_->earliest_next_run();
  ASSERT_TRUE(waiting);
  EXPECT_EQ(*waiting, now_.load());
  ASSERT_TRUE(store_->start_run(t.id, RunTrigger::manual));
  auto after = store_->get(t.id);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->run_requested_ms);
  EXPECT_EQ(after->status, TaskStatus::paused);
  auto missing = store_->request_run("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "tasks.not_found");
}

TEST_P(TaskStoreTest, ScheduledRunAdvancesARepeatingTask) {
  Task t = create(patch("interval", "60000"));
  now_ += 60'000;
  auto run = store_->start_run(t.id, RunTrigger::schedule);
  ASSERT_TRUE(run);
  auto after = store_->get(t.id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->next_run_ms, t.created_at_ms + 120'000);
  EXPECT_EQ(after->last_run_ms, now_.load());
  const std::string big(4000, 'r');
  auto ended = store_->finish_run(run->id, RunOutcome{RunStatus::success, big, "", std::nullopt});
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, TaskStatus::active);
  EXPECT_LE(ended->last_result.size(), kMaxResultExcerptBytes);
  auto runs = store_->runs(t.id, 1);
  ASSERT_TRUE(runs);
  EXPECT_LE(runs->front().result.size(), kMaxResultExcerptBytes);
}

TEST_P(TaskStoreTest, StartRunsGivesEachItemItsOwnOutcomeInOneChange) {
  Task busy = create(patch("interval", "60000"));
  Task scheduled = create(patch("interval", "60000"));
  Task requested = create(patch("cron", "0 9 * * *", "ops"));
  ASSERT_TRUE(store_->request_run(requested.id));
  ASSERT_TRUE(store_->start_run(busy.id, RunTrigger::manual));  // a run going: a conflict below
  now_ += 60'000;
  const int before = changes_.load();
  auto started = store_->start_runs(
      {RunStart{scheduled.id, RunTrigger::schedule, 1}, RunStart{busy.id, RunTrigger::schedule, 1},
       RunStart{"no-such-task", RunTrigger::schedule, 1}, RunStart{requested.id, RunTrigger::manual, 1},
       RunStart{scheduled.id, RunTrigger::retry, 2}});  // twice: the second conflicts
  ASSERT_TRUE(started) << started.error().message;
  ASSERT_EQ(started->size(), 5u);
  ASSERT_TRUE((*started)[0]) << (*started)[0].error().message;
  EXPECT_EQ((*started)[0]->task_id, scheduled.id);
  EXPECT_EQ((*started)[0]->started_at_ms, now_.load());
  ASSERT_FALSE((*started)[1]);
  EXPECT_EQ((*started)[1].error().code, "tasks.conflict");
  ASSERT_FALSE((*started)[2]);
  EXPECT_EQ((*started)[2].error().code, "tasks.not_found");
  ASSERT_TRUE((*started)[3]) << (*started)[3].error().message;
  EXPECT_EQ((*started)[3]->trigger, RunTrigger::manual);
  EXPECT_NE((*started)[3]->id, (*started)[0]->id);
  ASSERT_FALSE((*started)[4]);
  EXPECT_EQ((*started)[4].error().code, "tasks.conflict");
  EXPECT_EQ(changes_.load(), before + 1);  // one change-hook call for the batch

  // The started ones follow start_run's rules; the refused ones are untouched.
  auto after = store_->get(scheduled.id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->next_run_ms, scheduled.created_at_ms + 120'000);
  EXPECT_EQ(after->last_run_ms, now_.load());
  auto req = store_->get(requested.id);
  ASSERT_TRUE(req);
  EXPECT_FALSE(req->run_requested_ms);
  auto untouched = store_->get(busy.id);
  ASSERT_TRUE(untouched);
  EXPECT_EQ(untouched->next_run_ms, busy.next_run_ms);
  auto busy_runs = store_->runs(busy.id);
  ASSERT_TRUE(busy_runs);
  EXPECT_EQ(busy_runs->size(), 1u);
  auto scheduled_runs = store_->runs(scheduled.id);
  ASSERT_TRUE(scheduled_runs);
  ASSERT_EQ(scheduled_runs->size(), 1u);
  EXPECT_EQ(scheduled_runs->front().status, RunStatus::running);
}

TEST_P(TaskStoreTest, StartRunsWithNothingStartedChangesNothing) {
  Task busy = create(patch("interval", "60000"));
  ASSERT_TRUE(store_->start_run(busy.id, RunTrigger::manual));
  const int before = changes_.load();
  auto empty = store_->start_runs({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto refused = store_->start_runs({RunStart{busy.id, RunTrigger::manual, 1}, RunStart{"", RunTrigger::manual, 1}});
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->size(), 2u);
  EXPECT_EQ((*refused)[0].error().code, "tasks.conflict");
  EXPECT_EQ((*refused)[1].error().code, "tasks.not_found");
  EXPECT_EQ(changes_.load(), before);  // no commit, no change hook
}

TEST_P(TaskStoreTest, AbandonedRunsBecomeErrors) {
  Task t = create(patch("interval", "60000"));
  auto run = store_->start_run(t.id, RunTrigger::manual);
  ASSERT_TRUE(run);
  open_store("UTC");  // a restart
  auto n = store_->abandon_running();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  auto runs = store_->runs(t.id);
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->front().status, RunStatus::error);
  EXPECT_EQ(runs->front().error, "node stopped during the run");
  EXPECT_TRUE(store_->start_run(t.id, RunTrigger::manual));
}

TEST_P(TaskStoreTest, RemoveTakesTheRunLogAndNamespaceRemovalTakesTasks) {
  Task t = create(patch("interval", "60000"));
  auto run = store_->start_run(t.id, RunTrigger::manual);
  ASSERT_TRUE(run);
  ASSERT_TRUE(store_->remove(t.id));
  auto gone = store_->get(t.id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, "tasks.not_found");
  auto runs = store_->runs(t.id);
  ASSERT_FALSE(runs);
  EXPECT_EQ(runs.error().code, "tasks.not_found");

  Task ops = create(patch("interval", "60000", "ops"));
  ASSERT_TRUE(namespaces_->remove("ops"));
  EXPECT_FALSE(store_->get(ops.id));
}

TEST_P(TaskStoreTest, PlannedRunsListsWhatTheSchedulerQueues) {
  Task active = create(patch("interval", "60000"));
  Task paused = create(patch("interval", "60000"));
  ASSERT_TRUE(store_->pause(paused.id));
  Task busy = create(patch("interval", "60000"));
  ASSERT_TRUE(store_->start_run(busy.id, RunTrigger::manual));  // a run going: left out
  Task requested = create(patch("interval", "60000"));
  now_ += 1000;
  ASSERT_TRUE(store_->request_run(requested.id));  // earlier than its next_run
  ASSERT_TRUE(store_->request_run(paused.id));     // paused, but a run-now counts

  auto planned = store_->planned_runs();
  ASSERT_TRUE(planned) << planned.error().message;
  std::map<std::string, int64_t> got;
  for (auto& p : *planned) got[p.task_id] = p.at_ms;
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(got[active.id], *active.next_run_ms);
  EXPECT_EQ(got[requested.id], now_.load());
  EXPECT_EQ(got[paused.id], now_.load());
  EXPECT_EQ(got.count(busy.id), 0u);

  // A once task that ran has nothing planned.
  Task once = create(patch("once", "2026-03-01T10:05:00Z"));
  now_ = ms("2026-03-01T10:05:00Z");
  auto run = store_->start_run(once.id, RunTrigger::schedule);
  ASSERT_TRUE(run);
  ASSERT_TRUE(store_->finish_run(run->id, RunOutcome{}));
  planned = store_->planned_runs();
  ASSERT_TRUE(planned);
  for (auto& p : *planned) EXPECT_NE(p.task_id, once.id);
}

TEST_P(TaskStoreTest, SkipMissedMovesOnOrEndsAOnceTask) {
  Task interval = create(patch("interval", "60000"));
  Task once = create(patch("once", "2026-03-01T10:05:00Z"));
  now_ = ms("2026-03-01T11:00:30Z");
  const int changes = changes_.load();
  auto moved = store_->skip_missed(interval.id, *interval.next_run_ms, ms("2026-03-01T11:01:00Z"));
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->next_run_ms, ms("2026-03-01T11:01:00Z"));
  EXPECT_EQ(moved->status, TaskStatus::active);
  EXPECT_EQ(changes_.load(), changes + 1);
  EXPECT_TRUE(store_->runs(interval.id)->empty());  // skipped, not run

  auto ended = store_->skip_missed(once.id, *once.next_run_ms, std::nullopt);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, TaskStatus::failed);
  EXPECT_FALSE(ended->next_run_ms);
  EXPECT_EQ(store_->get(once.id)->status, TaskStatus::failed);

  // Changed since (planned elsewhere now, or not active): refused, nothing changes.
  auto stale = store_->skip_missed(interval.id, *interval.next_run_ms, 1);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, "tasks.conflict");
  EXPECT_EQ(store_->get(interval.id)->next_run_ms, ms("2026-03-01T11:01:00Z"));
  auto gone = store_->skip_missed("no-such-task", 0, std::nullopt);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, "tasks.not_found");
}

TEST_P(TaskStoreTest, AbandonedOnceRunEndsTheTaskFailed) {
  Task once = create(patch("once", "2026-03-01T10:05:00Z"));
  Task requested = create(patch("once", "2026-03-01T11:00:00Z"));  // a run-now of a still planned once task
  now_ = ms("2026-03-01T10:05:00Z");
  ASSERT_TRUE(store_->start_run(once.id, RunTrigger::schedule));
  ASSERT_TRUE(store_->start_run(requested.id, RunTrigger::manual));
  open_store("UTC");
  auto n = store_->abandon_running();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2);
  auto ended = store_->get(once.id);
  EXPECT_EQ(ended->status, TaskStatus::failed);
  EXPECT_EQ(ended->last_result, "error: node stopped during the run");
  EXPECT_EQ(store_->get(requested.id)->status, TaskStatus::active);  // its planned run is still ahead
  EXPECT_EQ(store_->get(requested.id)->next_run_ms, ms("2026-03-01T11:00:00Z"));
}

TEST_P(TaskStoreTest, RunSynchronousMustBeFullOrNormal) {
  for (const char* mode : {"FULL", "NORMAL"}) {
    TaskStoreOptions o;
    o.run_synchronous = mode;
    EXPECT_TRUE(TaskStore::open(path_, o)) << mode;
  }
  TaskStoreOptions o;
  o.run_synchronous = "OFF";
  auto s = TaskStore::open(path_, o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "tasks.config");
}

TEST_P(TaskStoreTest, UnknownDefaultZoneIsRefused) {
  TaskStoreOptions o;
  o.default_time_zone = "Nowhere/Special";
  auto s = TaskStore::open(path_, o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "tasks.config");
}

}  // namespace
}  // namespace sb::schedule
