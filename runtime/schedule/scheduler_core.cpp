#include "runtime/schedule/scheduler_core.hpp"

#include <algorithm>

#include "runtime/core/backoff.hpp"

namespace sb::schedule {

std::optional<int64_t> planned_time(const Task& task) {
  std::optional<int64_t> at = task.run_requested_ms;
  if (task.enabled() && task.next_run_ms && (!at || *task.next_run_ms < *at)) at = task.next_run_ms;
  return at;
}

StartDecision decide_start(const Task& task, int64_t now_ms, bool running, const std::optional<PendingRetry>& retry) {
  StartDecision d;
  if (running) return d;  // its finish plans it again
  if (task.run_requested_ms && *task.run_requested_ms <= now_ms) {
    d.start = true;
    d.trigger = RunTrigger::manual;
    d.planned_ms = *task.run_requested_ms;
    return d;
  }
  if (task.enabled() && task.next_run_ms && *task.next_run_ms <= now_ms) {
    d.start = true;
    d.planned_ms = *task.next_run_ms;
    if (retry && retry->at_ms == *task.next_run_ms) {
      d.trigger = RunTrigger::retry;
      d.attempt = retry->attempt;
    }
    return d;
  }
  d.requeue_ms = planned_time(task);
  return d;
}

CatchUpDecision decide_catch_up(const Task& task, int64_t now_ms) {
  CatchUpDecision d;
  if (!task.enabled() || !task.next_run_ms || *task.next_run_ms >= now_ms) return d;
  auto tz = resolve_time_zone(task.time_zone);
  if (!tz) return d;  // a stored schedule always compiles; if not, the run reports it
  auto schedule = compile_task_schedule(task.schedule, *tz);
  if (!schedule) return d;
  const Instant planned{std::chrono::milliseconds{*task.next_run_ms}};
  const Instant now{std::chrono::milliseconds{now_ms}};
  const CatchUpPlan plan = plan_catch_up(*schedule, *tz, task.catch_up, planned, now);
  d.missed = plan.missed;
  if (plan.run_now) {
    d.action = CatchUpDecision::Action::run_now;
    return d;
  }
  d.action = CatchUpDecision::Action::skip;
  if (plan.next) d.next_ms = plan.next->time_since_epoch().count();
  return d;
}

std::optional<int64_t> decide_retry(const RetryPolicy& policy, RunTrigger trigger, int64_t attempt, RunStatus status,
                                    int64_t now_ms) {
  if (status == RunStatus::success || status == RunStatus::running) return std::nullopt;
  if (trigger == RunTrigger::manual) return std::nullopt;
  if (attempt < 1 || attempt > policy.max_attempts) return std::nullopt;
  using std::chrono::milliseconds;
  return now_ms + backoff_delay(milliseconds(policy.backoff_ms), attempt, milliseconds(kMaxRetryBackoffMs)).count();
}

RunOutcome outcome_from_answer(RunStatus status, std::string result, std::string error) {
  RunOutcome out;
  out.result = std::move(result);
  out.error = std::move(error);
  const bool final_status = status == RunStatus::success || status == RunStatus::error || status == RunStatus::timeout;
  if (!final_status) {
    // "running" (or a value from a newer peer) is no answer to a finished run.
    const auto named =
        status == RunStatus::running ? std::string("running") : "#" + std::to_string(static_cast<int>(status));
    out.status = RunStatus::error;
    out.error = "the namespace answered with status \"" + named + "\"" + (out.error.empty() ? "" : ": " + out.error);
    return out;
  }
  out.status = status;
  return out;
}

int64_t answer_deadline_ms(int64_t started_ms, int64_t timeout_secs, int64_t grace_ms, int64_t no_limit_bound_ms) {
  if (timeout_secs <= 0) return started_ms + no_limit_bound_ms;
  return started_ms + timeout_secs * 1000 + grace_ms;
}

}  // namespace sb::schedule
