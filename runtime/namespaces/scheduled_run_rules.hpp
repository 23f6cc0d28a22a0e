#pragma once
// Scheduled runs in a namespace (docs/namespace-queue.md "Scheduled runs"), the pure
// rules: which runs are acceptable, the ids and keys a run uses, and how a scheduled
// container's end becomes the scheduler's answer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container/run_events.hpp"
#include "runtime/core/result.hpp"
#include "runtime/schedule/scheduled_run.hpp"

namespace sb::namespaces {

// Bad input from the scheduler: a context mode outside the enum, a negative timeout, an
// empty prompt or namespace id. Error code "task.invalid".
Status validate_scheduled_run(const schedule::ScheduledRun& run);

// "task-{name}-{random_hex}": the container run id of a scheduled run.
std::string task_run_id(std::string_view namespace_name, std::string_view random_hex);
// "task:{run_id}:{n}": the outbox idempotency key of the n-th announced message.
std::string task_announce_key(int64_t run_id, std::size_t n);

// What the scheduler learns about a finished scheduled container.
struct TaskOutcome {
  schedule::RunStatus status = schedule::RunStatus::success;  // success | error | timeout
  std::string error;                                          // "" on success
};

// `turn_done`: the agent finished its one turn (the run went running -> idle);
// `turn_error`: the agent reported that turn as failed. A finished turn wins over how
// the container ended afterwards (it is closed then); an unfinished one is a timeout
// when the hard limit killed it, else an error (crash, dead run, failed start).
TaskOutcome classify_task_run(const container::RunResult& result, bool turn_done, std::string_view turn_error);

// The agent's messages of the run, in order, joined by "\n".
std::string join_task_result(const std::vector<std::string>& texts);

}  // namespace sb::namespaces
