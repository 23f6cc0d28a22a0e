#pragma once
// ScheduledRuns: the FIFO of a Namespace actor's pending scheduled runs plus the one
// going, which answers every run exactly once, also when the actor ends (deleted
// namespace, crash, shutdown) with runs still held (docs/namespace-queue.md "Scheduled
// runs"). The rules themselves are pure: runtime/namespaces/scheduled_run_rules.hpp.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/protocol.hpp"
#include "runtime/core/result.hpp"
#include "runtime/namespaces/scheduled_run_rules.hpp"

namespace sb::actors {

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
  void finish(schedule::RunStatus status, std::string result, std::string error);

  // Answers `run` with an error at once (never held).
  static void reject(const scheduled_run& run, std::string error);

 private:
  std::deque<scheduled_run> waiting_;
  std::optional<scheduled_run> current_;
};

}  // namespace sb::actors
