// The scheduler's pure decisions: what a due queue entry starts, catch-up for both
// policies, the retry schedule, the recorded outcome of a namespace's answer and the
// bound on a silent run.
#include "runtime/schedule/scheduler_core.hpp"

#include <gtest/gtest.h>

#include "runtime/schedule/once.hpp"

namespace sb::schedule {
namespace {

int64_t ms(const std::string& iso) {
  return parse_once(iso, TimeZone::utc())->time_since_epoch().count();
}

Task task(ScheduleType type, const std::string& value) {
  Task t;
  t.id = "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3";
  t.schedule = ScheduleSpec{type, value};
  t.anchor_ms = ms("2026-03-01T10:00:00Z");
  return t;
}

TEST(SchedulerCore, PlannedTimeIsTheEarlierOfRequestAndActiveNextRun) {
  Task t = task(ScheduleType::interval, "60000");
  EXPECT_FALSE(planned_time(t));
  t.next_run_ms = 500;
  EXPECT_EQ(planned_time(t), 500);
  t.run_requested_ms = 200;
  EXPECT_EQ(planned_time(t), 200);
  t.run_requested_ms = 900;
  EXPECT_EQ(planned_time(t), 500);
  t.status = TaskStatus::paused;  // a paused task's next_run does not count, its request does
  EXPECT_EQ(planned_time(t), 900);
}

TEST(SchedulerCore, StartDecisions) {
  Task t = task(ScheduleType::interval, "60000");
  t.next_run_ms = 1000;
  auto d = decide_start(t, 999, false);
  EXPECT_FALSE(d.start);  // not before its time
  EXPECT_EQ(d.requeue_ms, 1000);
  d = decide_start(t, 1000, false);
  EXPECT_TRUE(d.start);
  EXPECT_EQ(d.trigger, RunTrigger::schedule);
  EXPECT_EQ(d.attempt, 1);
  EXPECT_EQ(d.planned_ms, 1000);
  d = decide_start(t, 5000, true);  // a run going: never a second one, not requeued
  EXPECT_FALSE(d.start);
  EXPECT_FALSE(d.requeue_ms);
  d = decide_start(t, 1000, false, PendingRetry{3, 1000});
  EXPECT_EQ(d.trigger, RunTrigger::retry);
  EXPECT_EQ(d.attempt, 3);
  d = decide_start(t, 1000, false, PendingRetry{3, 800});  // next_run changed since: a plain run
  EXPECT_EQ(d.trigger, RunTrigger::schedule);
  EXPECT_EQ(d.attempt, 1);

  t.status = TaskStatus::paused;
  d = decide_start(t, 5000, false);
  EXPECT_FALSE(d.start);
  EXPECT_FALSE(d.requeue_ms);
  t.run_requested_ms = 4000;  // run-now runs a paused task
  d = decide_start(t, 5000, false);
  EXPECT_TRUE(d.start);
  EXPECT_EQ(d.trigger, RunTrigger::manual);
  EXPECT_EQ(d.planned_ms, 4000);
}

TEST(SchedulerCore, CatchUpOnceRunsNowSkipMovesOn) {
  Task t = task(ScheduleType::interval, "60000");
  t.next_run_ms = ms("2026-03-01T10:01:00Z");
  const int64_t now = ms("2026-03-01T11:00:30Z");
  auto d = decide_catch_up(t, now);
  EXPECT_EQ(d.action, CatchUpDecision::Action::run_now);
  EXPECT_EQ(d.missed, 60u);
  t.catch_up = CatchUpPolicy::skip;
  d = decide_catch_up(t, now);
  EXPECT_EQ(d.action, CatchUpDecision::Action::skip);
  EXPECT_EQ(d.next_ms, ms("2026-03-01T11:01:00Z"));  // on the grid, after now

  Task once = task(ScheduleType::once, "2026-03-01T10:30:00Z");
  once.catch_up = CatchUpPolicy::skip;
  once.next_run_ms = ms("2026-03-01T10:30:00Z");
  d = decide_catch_up(once, now);
  EXPECT_EQ(d.action, CatchUpDecision::Action::skip);
  EXPECT_FALSE(d.next_ms);  // the task ends

  // Nothing missed, paused, or nothing planned: nothing to do.
  EXPECT_EQ(decide_catch_up(t, ms("2026-03-01T10:00:30Z")).action, CatchUpDecision::Action::none);
  t.status = TaskStatus::paused;
  EXPECT_EQ(decide_catch_up(t, now).action, CatchUpDecision::Action::none);
  t.status = TaskStatus::active;
  t.next_run_ms.reset();
  EXPECT_EQ(decide_catch_up(t, now).action, CatchUpDecision::Action::none);
  // A corrupt stored schedule is left to the run to report.
  Task bad = task(ScheduleType::cron, "not cron");
  bad.next_run_ms = 1;
  EXPECT_EQ(decide_catch_up(bad, now).action, CatchUpDecision::Action::none);
}

TEST(SchedulerCore, RetryIsOffByDefaultAndDoublesItsBackoff) {
  const RetryPolicy off;
  EXPECT_FALSE(decide_retry(off, RunTrigger::schedule, 1, RunStatus::error, 0));
  const RetryPolicy two{2, 1000};
  EXPECT_EQ(decide_retry(two, RunTrigger::schedule, 1, RunStatus::error, 10), 1010);
  EXPECT_EQ(decide_retry(two, RunTrigger::retry, 2, RunStatus::timeout, 10), 2010);
  EXPECT_FALSE(decide_retry(two, RunTrigger::retry, 3, RunStatus::error, 10));  // two extra attempts were made
  EXPECT_FALSE(decide_retry(two, RunTrigger::schedule, 1, RunStatus::success, 10));
  EXPECT_FALSE(decide_retry(two, RunTrigger::manual, 1, RunStatus::error, 10));
  EXPECT_FALSE(decide_retry(two, RunTrigger::schedule, 0, RunStatus::error, 10));
  const RetryPolicy many{20, kMaxRetryBackoffMs / 2};
  EXPECT_EQ(decide_retry(many, RunTrigger::retry, 20, RunStatus::error, 0), kMaxRetryBackoffMs);  // capped
}

TEST(SchedulerCore, OutcomeFromAnswer) {
  auto ok = outcome_from_answer(RunStatus::success, "done", "");
  EXPECT_EQ(ok.status, RunStatus::success);
  EXPECT_EQ(ok.result, "done");
  EXPECT_EQ(outcome_from_answer(RunStatus::timeout, "", "killed").status, RunStatus::timeout);
  auto odd = outcome_from_answer(RunStatus::running, "", "");
  EXPECT_EQ(odd.status, RunStatus::error);
  EXPECT_EQ(odd.error, "the namespace answered with status \"running\"");
  auto bad = outcome_from_answer(static_cast<RunStatus>(42), "", "why");  // a value this node does not know
  EXPECT_EQ(bad.status, RunStatus::error);
  EXPECT_EQ(bad.error, "the namespace answered with status \"#42\": why");
  EXPECT_FALSE(bad.retry_at_ms);
}

TEST(SchedulerCore, AnswerDeadline) {
  EXPECT_EQ(answer_deadline_ms(1000, 300, 60000), 1000 + 300000 + 60000);
  EXPECT_EQ(answer_deadline_ms(1000, 0, 60000, 5000), 6000);  // no limit: the fixed bound
  EXPECT_EQ(answer_deadline_ms(1000, 0), 1000 + kNoLimitAnswerBoundMs);
}

}  // namespace
}  // namespace sb::schedule
