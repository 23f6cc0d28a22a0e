#pragma once
// The scheduler's decisions as pure functions over the store's answers (no I/O, no
// clock): whether a task taken from the deadline queue starts a run and as what, the
// catch-up of fires missed while the node was down, the retry after a failed run, the
// outcome a namespace's answer records, and how long a dispatched run may stay silent.
// The scheduler actor (actors/schedule/scheduler.cpp) applies them; docs/scheduling.md.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/schedule/task_model.hpp"

namespace sb::schedule {

// When the scheduler must next look at a task: its run request or, for an active task,
// its next_run, whichever is earlier. nullopt: nothing planned.
std::optional<int64_t> planned_time(const Task& task);

// A retry the scheduler planned for a task: attempt number and the time it was set to.
struct PendingRetry {
  int64_t attempt = 2;
  int64_t at_ms = 0;
};

struct StartDecision {
  bool start = false;
  RunTrigger trigger = RunTrigger::schedule;
  int64_t attempt = 1;
  int64_t planned_ms = 0;             // the time the run was due (lateness is measured from it)
  std::optional<int64_t> requeue_ms;  // not started: when to look again (nullopt: not at all)
};

// A task whose queue entry came due. `running`: it has a run going (never a second one;
// its finish plans it again). A run request due by now starts a manual run; else an
// active task whose next_run is due starts a scheduled run, or a retry when next_run is
// the time `retry` was planned for. Anything else was a stale entry: requeue at the
// task's planned time.
StartDecision decide_start(const Task& task, int64_t now_ms, bool running,
                           const std::optional<PendingRetry>& retry = std::nullopt);

// Fires missed while the node was down (next_run < now at start). run_now: policy
// `once`, leave next_run as it is and the first tick runs it once (start_run then moves
// next_run past now). skip: policy `skip`, move next_run to `next` without a run; no
// `next` (a once task whose time passed) ends the task.
struct CatchUpDecision {
  enum class Action { none, run_now, skip };
  Action action = Action::none;
  std::optional<int64_t> next_ms;
  uint64_t missed = 0;
};
CatchUpDecision decide_catch_up(const Task& task, int64_t now_ms);

// After a run that was not a success: the time of the next attempt, or nullopt (final).
// Only scheduled runs are retried (a manual run reports its result as it is): attempt
// n (1-based) is retried while n <= max_attempts, after backoff_ms * 2^(n-1), capped at
// kMaxRetryBackoffMs.
std::optional<int64_t> decide_retry(const RetryPolicy& policy, RunTrigger trigger, int64_t attempt, RunStatus status,
                                    int64_t now_ms);

// The namespace's answer as a run outcome. A status other than success, error or
// timeout is recorded as an error that says so.
RunOutcome outcome_from_answer(RunStatus status, std::string result, std::string error);

// A dispatched run without an answer by then is recorded as an error: the task's
// timeout plus `grace_ms` (the namespace's own kill and report), or `no_limit_bound_ms`
// after the start when the task has no timeout (0).
constexpr int64_t kDefaultAnswerGraceMs = 60'000;
constexpr int64_t kNoLimitAnswerBoundMs = 24LL * 3600 * 1000;
int64_t answer_deadline_ms(int64_t started_ms, int64_t timeout_secs, int64_t grace_ms = kDefaultAnswerGraceMs,
                           int64_t no_limit_bound_ms = kNoLimitAnswerBoundMs);

}  // namespace sb::schedule
