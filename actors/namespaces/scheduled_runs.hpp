#pragma once
// Scheduled runs in a Namespace actor (issue 7; docs/namespace-queue.md "Scheduled
// runs"): the rules that turn a scheduled container's run into the scheduler's
// scheduled_run_result (pure), and ScheduledRuns, the FIFO of a namespace's pending
// runs plus the one going, which answers every run exactly once — also when the actor
// ends (deleted namespace, crash, shutdown) with runs still held.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/protocol.hpp"
#include "runtime/core/result.hpp"

namespace sb::actors {

// Bad input from the scheduler: context_mode not "group"/"isolated", a negative
// timeout, an empty prompt or namespace id. Error code "task.invalid".
Status validate_scheduled_run(const scheduled_run& run);

// "task-{name}-{random_hex}": the container run id of a scheduled run.
std::string task_run_id(std::string_view namespace_name, std::string_view random_hex);

// "task:{run_id}:{n}": the outbox idempotency key of the n-th announced message.
std::string task_announce_key(int64_t run_id, std::size_t n);

// What the scheduler learns about a finished scheduled container.
struct TaskOutcome {
  std::string status;  // "success" | "error" | "timeout"
  std::string error;   // "" on success
};

// `turn_done`: the agent finished its one turn (the run went running -> idle);
// `turn_error`: the agent reported that turn as failed. A finished turn wins over how
// the container ended afterwards (it is closed then); an unfinished one is a timeout
// when the hard limit killed it, else an error (crash, dead run, failed start).
TaskOutcome classify_task_run(const run_result& result, bool turn_done, std::string_view turn_error);

// The agent's messages of the run, in order, joined by "\n".
std::string join_task_result(const std::vector<std::string>& texts);

// A namespace's scheduled runs: waiting ones (FIFO) and at most one going. Each run is
// answered once to its reply_to: by finish()/reject(), or by the destructor (error
// "namespace stopped before the run ended") for whatever is still held.
class ScheduledRuns {
 public:
  ScheduledRuns() = default;
  ScheduledRuns(const ScheduledRuns&) = delete;
  ScheduledRuns& operator=(const ScheduledRuns&) = delete;
  ~ScheduledRuns();

  void push(scheduled_run run) { waiting_.push_back(std::move(run)); }
  std::size_t waiting() const { return waiting_.size(); }
  bool going() const { return current_.has_value(); }
  // Moves the oldest waiting run to "going" and returns it (waiting() > 0, !going()).
  const scheduled_run& start_next();
  const scheduled_run& current() const { return *current_; }
  // Answers the going run and forgets it.
  void finish(const std::string& status, std::string result, std::string error);

  // Answers `run` with an error at once (never held).
  static void reject(const scheduled_run& run, std::string error);

 private:
  std::deque<scheduled_run> waiting_;
  std::optional<scheduled_run> current_;
};

}  // namespace sb::actors
