// The scheduler actor over a real TaskStore (temp SQLite file) with a fake namespace
// (the dispatch hook) that answers success, error, or not at all. The clock is the
// system clock plus an offset the tests move to play a node that was down. Waits are
// deadlines with polling. "Nothing more happens" is checked through the scheduler's own
// status: once it has nothing planned and nothing running (or the task is out of its
// queue while a run goes), no timer of it can start that task again.
#include "actors/schedule/scheduler.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "actors/supervision/supervisor.hpp"
#include "runtime/schedule/once.hpp"
#include "storage/namespace_store.hpp"
#include "storage/task_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::actors {
namespace {

using namespace std::chrono_literals;
using schedule::ContextMode;
using schedule::RunStatus;
using schedule::RunTrigger;
using schedule::TaskStatus;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 20s) {
  return test::wait_until(std::move(pred), limit);
}

// The namespace side: records every run it is handed and answers per `answer`.
class FakeNamespace {
 public:
  enum class Answer { success, error, none };
  struct Received {
    scheduled_run run;
    int64_t at_ms;  // the scheduler's clock when it was handed on
  };

  explicit FakeNamespace(std::function<int64_t()> clock) : clock_(std::move(clock)) {}

  bool dispatch(scheduled_run run) {
    std::lock_guard lock(mutex_);
    received_.push_back({run, clock_()});
    if (++open_ > max_open_) max_open_ = open_;
    if (answer_ != Answer::none)
      answer_locked(received_.back().run, answer_ == Answer::success ? RunStatus::success : RunStatus::error);
    return true;
  }

  // Answers the oldest unanswered run.
  void answer_next(RunStatus status) {
    std::lock_guard lock(mutex_);
    for (auto& r : received_)
      if (!answered_.count(r.run.run_id)) return answer_locked(r.run, status);
  }
  void set_answer(Answer a) {
    std::lock_guard lock(mutex_);
    answer_ = a;
  }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  int max_open() {
    std::lock_guard lock(mutex_);
    return max_open_;
  }

 private:
  void answer_locked(const scheduled_run& run, RunStatus status) {
    answered_.insert(run.run_id);
    --open_;
    caf::anon_send(run.reply_to, done_atom::value,
                   scheduled_run_result{run.task_id, run.run_id, status, status == RunStatus::success ? "all done" : "",
                                        status == RunStatus::success ? "" : "it broke"});
  }

  std::function<int64_t()> clock_;
  std::mutex mutex_;
  std::vector<Received> received_;
  std::set<int64_t> answered_;
  Answer answer_ = Answer::success;
  int open_ = 0;
  int max_open_ = 0;
};

caf::actor_system_config& configured(caf::actor_system_config& cfg) {
  add_message_types(cfg);
  return cfg;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : system_(configured(cfg_)), fake_([this] { return now(); }) {}

  void SetUp() override {
    auto ns = storage::NamespaceStore::open(dir_.file("squadbox.db"), dir_.path());
    ASSERT_TRUE(ns) << ns.error().message;
    namespaces::NamespacePatch p;
    p.name = "main";
    ASSERT_TRUE((*ns)->create(p));
    storage::TaskStoreOptions o;
    o.default_time_zone = "UTC";
    o.now_ms = [this] { return now(); };
    auto s = storage::TaskStore::open(dir_.file("squadbox.db"), o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    store_->set_on_change(scheduler_reload_hook(system_));
  }

  void TearDown() override { stop(); }

  int64_t now() const { return wall_ms() + offset_ms_.load(); }

  void start(int64_t grace_ms = 60'000) {
    SchedulerOptions o;
    o.store = store_;
    o.metrics = &metrics_;
    o.now_ms = [this] { return now(); };
    o.dispatch = [this](scheduled_run run) { return fake_.dispatch(std::move(run)); };
    o.answer_grace_ms = grace_ms;
    scheduler_ = spawn_scheduler(system_, std::move(o));
    system_.registry().put(caf::atom_from_string("scheduler"), caf::actor_cast<caf::strong_actor_ptr>(scheduler_));
  }

  void stop() {
    if (!scheduler_) return;
    system_.registry().erase(caf::atom_from_string("scheduler"));
    caf::scoped_actor self{system_};
    self->request(scheduler_, 10s, shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
    self->wait_for(scheduler_);
    scheduler_ = nullptr;
  }

  component_status status() {
    caf::scoped_actor self{system_};
    component_status out;
    self->request(scheduler_, 10s, status_atom::value)
        .receive([&](const component_status& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  schedule::Task create(const std::string& type, const std::string& value,
                        const std::function<void(schedule::TaskPatch&)>& edit = {}) {
    schedule::TaskPatch p;
    p.name = "task";
    p.group = "main";
    p.prompt = "do it";
    p.schedule = schedule::ScheduleSpec{*schedule::parse_schedule_type(type), value};
    if (edit) edit(p);
    auto t = store_->create(p);
    EXPECT_TRUE(t) << t.error().message;
    return t.ok() ? *t : schedule::Task{};
  }

  std::string iso_in(int64_t from_now_ms) const {
    return schedule::format_instant(schedule::Instant{std::chrono::milliseconds{now() + from_now_ms}},
                                    schedule::TimeZone::utc());
  }

  schedule::Task task(const std::string& id) {
    auto t = store_->get(id);
    EXPECT_TRUE(t) << t.error().message;
    return t.ok() ? *t : schedule::Task{};
  }
  std::vector<schedule::TaskRun> runs(const std::string& id) {
    auto r = store_->runs(id);
    EXPECT_TRUE(r) << r.error().message;
    return r.ok() ? *r : std::vector<schedule::TaskRun>{};
  }
  // The scheduler's queue and runs settled at `planned` tasks and `running` runs.
  bool settles_at(size_t planned, size_t running) {
    const std::string want = "tasks planned " + std::to_string(planned) + ", running " + std::to_string(running);
    return wait_for([&] { return status().detail.starts_with(want); });
  }
  bool no_run_going(const std::string& id) {
    for (auto& r : runs(id))
      if (r.status == RunStatus::running) return false;
    return true;
  }

  test::TempDir dir_;
  caf::actor_system_config cfg_;
  caf::actor_system system_;
  metrics::Registry metrics_;
  std::atomic<int64_t> offset_ms_{0};
  FakeNamespace fake_;
  std::shared_ptr<storage::TaskStore> store_;
  scheduler_actor scheduler_;
};

TEST_F(SchedulerTest, DueTaskIsDispatchedOnceAtItsTimeNotBefore) {
  auto t = create("once", iso_in(1500), [](auto& p) { p.announce_jid = "local:main"; });
  const int64_t planned = *t.next_run_ms;
  start();
  EXPECT_NE(status().detail.find("tasks planned 1, running 0, next in"), std::string::npos) << status().detail;
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  auto got = fake_.received().front();
  EXPECT_GE(got.at_ms, planned);  // never early
  EXPECT_EQ(got.run.task_id, t.id);
  EXPECT_EQ(got.run.attempt, 1);
  EXPECT_EQ(got.run.namespace_name, "main");
  EXPECT_EQ(got.run.prompt, "do it");
  EXPECT_EQ(got.run.context_mode, ContextMode::isolated);
  EXPECT_EQ(got.run.timeout_secs, 300);
  EXPECT_EQ(got.run.announce_jid, "local:main");
  ASSERT_TRUE(wait_for([&] { return task(t.id).status == TaskStatus::completed; }));
  auto log = runs(t.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].id, got.run.run_id);
  EXPECT_EQ(log[0].status, RunStatus::success);
  EXPECT_EQ(log[0].result, "all done");
  EXPECT_EQ(task(t.id).last_result, "all done");
  ASSERT_TRUE(settles_at(0, 0)) << status().detail;
  EXPECT_EQ(fake_.count(), 1u);
  EXPECT_EQ(status().detail, "tasks planned 0, running 0");

  const std::string m = metrics_.render();
  EXPECT_NE(m.find("squadbox_scheduler_lateness_seconds_count 1"), std::string::npos) << m;
  EXPECT_NE(m.find("squadbox_scheduler_runs_started_total{trigger=\"schedule\"} 1"), std::string::npos);
  EXPECT_NE(m.find("squadbox_scheduler_runs_finished_total{status=\"success\"} 1"), std::string::npos);
}

// Everything due at a tick starts in one store transaction (one clock reading: the
// same run_at for all) and is handed on in due order.
TEST_F(SchedulerTest, EverythingDueAtATickStartsTogetherInDueOrder) {
  std::vector<schedule::Task> tasks;
  for (int i = 5; i >= 1; --i) tasks.push_back(create("once", iso_in(1000 + 100 * i)));  // created latest-due first
  offset_ms_ += 3000;  // all five are due when the scheduler starts: its first tick takes them all
  start();
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 5; }));
  auto got = fake_.received();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].run.task_id, tasks[4 - i].id) << "dispatch " << i;
  std::set<int64_t> started_at;
  for (const auto& t : tasks) {
    auto log = runs(t.id);
    ASSERT_EQ(log.size(), 1u);
    started_at.insert(log[0].started_at_ms);
  }
  EXPECT_EQ(started_at.size(), 1u);
  for (const auto& t : tasks) ASSERT_TRUE(wait_for([&] { return task(t.id).status == TaskStatus::completed; }));
}

TEST_F(SchedulerTest, OnceTaskThatFailsEndsFailedAndRetryIsOffByDefault) {
  fake_.set_answer(FakeNamespace::Answer::error);
  auto t = create("once", iso_in(200));
  start();
  ASSERT_TRUE(wait_for([&] { return task(t.id).status == TaskStatus::failed; }));
  auto log = runs(t.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].status, RunStatus::error);
  EXPECT_EQ(log[0].error, "it broke");
  ASSERT_TRUE(settles_at(0, 0)) << status().detail;
  EXPECT_EQ(fake_.count(), 1u);  // a failure is final
  EXPECT_FALSE(task(t.id).next_run_ms);
}

TEST_F(SchedulerTest, RetriesWithBackoffThenFails) {
  fake_.set_answer(FakeNamespace::Answer::error);
  auto t = create("once", iso_in(200), [](auto& p) { p.retry = schedule::RetryPolicy{2, 150}; });
  start();
  ASSERT_TRUE(wait_for([&] { return task(t.id).status == TaskStatus::failed; }));
  auto got = fake_.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].run.attempt, 1);
  EXPECT_EQ(got[1].run.attempt, 2);
  EXPECT_EQ(got[2].run.attempt, 3);
  EXPECT_GE(got[1].at_ms - got[0].at_ms, 150);  // backoff 150 ms, then doubled
  EXPECT_GE(got[2].at_ms - got[1].at_ms, 300);
  auto log = runs(t.id);  // newest first
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2].trigger, RunTrigger::schedule);
  EXPECT_EQ(log[1].trigger, RunTrigger::retry);
  EXPECT_EQ(log[0].trigger, RunTrigger::retry);
  EXPECT_EQ(log[0].attempt, 3);
  ASSERT_TRUE(settles_at(0, 0)) << status().detail;
  EXPECT_EQ(fake_.count(), 3u);
}

TEST_F(SchedulerTest, RetrySucceedingCompletesTheTask) {
  fake_.set_answer(FakeNamespace::Answer::none);
  auto t = create("once", iso_in(100), [](auto& p) { p.retry = schedule::RetryPolicy{3, 100}; });
  start();
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  fake_.answer_next(RunStatus::timeout);
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 2; }));
  fake_.answer_next(RunStatus::success);
  ASSERT_TRUE(wait_for([&] { return task(t.id).status == TaskStatus::completed; }));
  EXPECT_EQ(runs(t.id)[1].status, RunStatus::timeout);
}

TEST_F(SchedulerTest, IntervalFiresKeepTheGrid) {
  auto t = create("interval", "400");
  start();
  ASSERT_TRUE(wait_for([&] { return fake_.count() >= 4; }));
  stop();
  auto got = fake_.received();
  for (size_t i = 1; i < got.size(); ++i) EXPECT_GT(got[i].at_ms, got[i - 1].at_ms);
  for (auto& r : got) EXPECT_GE(r.at_ms - t.anchor_ms, 400);  // none before the first fire
  auto now = task(t.id);
  ASSERT_TRUE(now.next_run_ms);
  EXPECT_EQ((*now.next_run_ms - t.anchor_ms) % 400, 0) << "next_run left the grid";
  EXPECT_EQ(now.anchor_ms, t.anchor_ms);
}

TEST_F(SchedulerTest, NeverTwoRunsOfOneTaskAtOnce) {
  fake_.set_answer(FakeNamespace::Answer::none);
  auto t = create("interval", "200");
  start();
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  // Fires come due while the run is slow; the task stays out of the queue meanwhile.
  ASSERT_TRUE(wait_for([&] { return *task(t.id).next_run_ms + 3 * 200 < now(); }));
  EXPECT_TRUE(settles_at(0, 1)) << status().detail;
  EXPECT_EQ(fake_.count(), 1u);
  fake_.answer_next(RunStatus::success);
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 2; }));  // the next fire after the slow run
  fake_.set_answer(FakeNamespace::Answer::success);
  fake_.answer_next(RunStatus::success);
  ASSERT_TRUE(wait_for([&] { return fake_.count() >= 4; }));
  EXPECT_EQ(fake_.max_open(), 1);
  auto log = runs(t.id);
  for (size_t i = 1; i < log.size(); ++i)  // newest first: each started after the previous ended
    if (log[i].duration_ms) {
      EXPECT_GE(log[i - 1].started_at_ms, log[i].started_at_ms + *log[i].duration_ms);
    }
}

TEST_F(SchedulerTest, RestartCatchUpOnceRunsExactlyOnce) {
  auto interval = create("interval", "60000");
  auto cron = create("cron", "* * * * *");
  offset_ms_ = 3600 * 1000;  // the node was down for an hour
  start();
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 2; }));
  ASSERT_TRUE(settles_at(2, 0)) << status().detail;  // both planned again, in the future
  EXPECT_EQ(fake_.count(), 2u);                      // 60 missed fires each, one run each
  for (auto& id : {interval.id, cron.id}) {
    ASSERT_TRUE(wait_for([&] { return no_run_going(id); }));
    EXPECT_EQ(runs(id).size(), 1u);
    EXPECT_GT(*task(id).next_run_ms, now() - 1000);
  }
  EXPECT_EQ((*task(interval.id).next_run_ms - interval.anchor_ms) % 60000, 0);
}

TEST_F(SchedulerTest, RestartCatchUpSkipRunsNoneAndMovesOn) {
  auto skip = [](auto& p) { p.catch_up = schedule::CatchUpPolicy::skip; };
  auto interval = create("interval", "60000", skip);
  auto cron = create("cron", "* * * * *", skip);
  auto once = create("once", iso_in(60000), skip);
  auto keep = create("interval", "60000");  // the default policy, for contrast
  offset_ms_ = 3600 * 1000;
  start();
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  ASSERT_TRUE(settles_at(3, 0)) << status().detail;  // interval, cron and keep; the once task ended
  ASSERT_EQ(fake_.count(), 1u);
  EXPECT_EQ(fake_.received()[0].run.task_id, keep.id);
  for (auto& id : {interval.id, cron.id}) {
    EXPECT_TRUE(runs(id).empty());
    EXPECT_GT(*task(id).next_run_ms, now());
  }
  EXPECT_EQ((*task(interval.id).next_run_ms - interval.anchor_ms) % 60000, 0);
  EXPECT_EQ(task(once.id).status, TaskStatus::failed);
  EXPECT_TRUE(runs(once.id).empty());
}

TEST_F(SchedulerTest, PauseResumeAndRunNow) {
  auto t = create("interval", "300");
  ASSERT_TRUE(store_->pause(t.id));
  start();
  ASSERT_TRUE(settles_at(0, 0)) << status().detail;  // paused: not planned
  EXPECT_EQ(fake_.count(), 0u);
  ASSERT_TRUE(store_->request_run(t.id));  // run-now runs even a paused task, once
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  ASSERT_TRUE(wait_for([&] { return no_run_going(t.id) && !task(t.id).run_requested_ms; }));
  ASSERT_TRUE(settles_at(0, 0)) << status().detail;  // still paused after its manual run
  EXPECT_EQ(fake_.count(), 1u);
  EXPECT_EQ(runs(t.id)[0].trigger, RunTrigger::manual);
  EXPECT_EQ(task(t.id).status, TaskStatus::paused);
  ASSERT_TRUE(store_->resume(t.id));
  ASSERT_TRUE(wait_for([&] { return fake_.count() >= 3; }));
  EXPECT_EQ(runs(t.id).front().trigger, RunTrigger::schedule);
}

TEST_F(SchedulerTest, AbandonedRunningRowsBecomeErrorsAtStart) {
  auto t = create("interval", "60000");
  auto run = store_->start_run(t.id, RunTrigger::manual);  // the node "dies" under it
  ASSERT_TRUE(run);
  start();
  ASSERT_TRUE(wait_for([&] { return no_run_going(t.id); }));
  auto log = runs(t.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].status, RunStatus::error);
  EXPECT_EQ(log[0].error, "node stopped during the run");
  // The task is planned again.
  ASSERT_TRUE(wait_for([&] { return status().detail.find("tasks planned 1") != std::string::npos; }));
}

TEST_F(SchedulerTest, ReloadPicksUpATaskCreatedAfterStart) {
  start();
  EXPECT_EQ(status().detail, "tasks planned 0, running 0");
  auto t = create("once", iso_in(300));
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  EXPECT_EQ(fake_.received()[0].run.task_id, t.id);
  // A burst of changes is one reload, and the task removed meanwhile never runs.
  auto later = create("interval", "1500");
  for (int i = 0; i < 20; ++i) {
    schedule::TaskPatch rename;
    rename.name = "n" + std::to_string(i);
    ASSERT_TRUE(store_->update(later.id, rename));
  }
  ASSERT_TRUE(store_->remove(later.id));
  ASSERT_TRUE(settles_at(0, 0)) << status().detail;  // the reload dropped it from the queue
  EXPECT_EQ(fake_.count(), 1u);
}

TEST_F(SchedulerTest, AnswersForUnknownRunsAndOddStatusesAreHarmless) {
  start();
  caf::anon_send(scheduler_, done_atom::value, scheduled_run_result{"nope", 987654, RunStatus::success, "", ""});
  caf::anon_send(scheduler_, done_atom::value, scheduled_run_result{"", -1, static_cast<RunStatus>(42), "", ""});
  caf::anon_send(scheduler_, tick_atom::value, uint64_t{123456});  // a stale timer
  EXPECT_EQ(status().state, "running");
  fake_.set_answer(FakeNamespace::Answer::none);
  auto t = create("once", iso_in(100));
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  auto run = fake_.received()[0].run;
  caf::anon_send(scheduler_, done_atom::value,
                 scheduled_run_result{t.id, run.run_id, static_cast<RunStatus>(42), "", ""});
  ASSERT_TRUE(wait_for([&] { return task(t.id).status == TaskStatus::failed; }));
  EXPECT_EQ(runs(t.id)[0].error, "the namespace answered with status \"#42\"");
  // A second answer for the same run is an unknown run now.
  caf::anon_send(scheduler_, done_atom::value, scheduled_run_result{t.id, run.run_id, RunStatus::success, "", ""});
  EXPECT_EQ(status().state, "running");
  EXPECT_EQ(task(t.id).status, TaskStatus::failed);
}

TEST_F(SchedulerTest, ARunWithoutAnAnswerIsRecordedAsAnError) {
  fake_.set_answer(FakeNamespace::Answer::none);
  auto t = create("interval", "500", [](auto& p) { p.timeout_secs = 1; });
  start(/*grace_ms=*/200);
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 1; }));
  ASSERT_TRUE(wait_for([&] { return fake_.count() == 2; }));  // not blocked forever
  auto log = runs(t.id);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].status, RunStatus::error);
  EXPECT_NE(log[1].error.find("no answer from the namespace"), std::string::npos) << log[1].error;
  EXPECT_GE(*log[1].duration_ms, 1200);
}

TEST_F(SchedulerTest, WithoutAStoreItIdles) {
  SchedulerOptions o;
  scheduler_ = spawn_scheduler(system_, o);
  system_.registry().put(caf::atom_from_string("scheduler"), caf::actor_cast<caf::strong_actor_ptr>(scheduler_));
  auto s = status();
  EXPECT_EQ(s.state, "idle");
  EXPECT_EQ(s.detail, "no task store");
  caf::anon_send(scheduler_, reload_atom::value);
  caf::anon_send(scheduler_, done_atom::value, scheduled_run_result{});
  EXPECT_EQ(status().state, "idle");
}

}  // namespace
}  // namespace sb::actors
