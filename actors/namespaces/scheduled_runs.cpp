#include "actors/namespaces/scheduled_runs.hpp"

namespace sb::actors {
namespace {

void answer(const scheduled_run& run, schedule::RunStatus status, std::string result, std::string error) {
  if (!run.reply_to) return;
  caf::anon_send(run.reply_to, done_atom::value,
                 scheduled_run_result{run.task_id, run.run_id, status, std::move(result), std::move(error)});
}

}  // namespace

ScheduledRuns::~ScheduledRuns() {
  const std::string why = "namespace stopped before the run ended";
  if (current_) answer(*current_, schedule::RunStatus::error, "", why);
  for (const auto& run : waiting_) answer(run, schedule::RunStatus::error, "", why);
}

const scheduled_run& ScheduledRuns::start_next() {
  current_.emplace(std::move(waiting_.front()));
  waiting_.pop_front();
  return *current_;
}

void ScheduledRuns::finish(schedule::RunStatus status, std::string result, std::string error) {
  if (!current_) return;
  answer(*current_, status, std::move(result), std::move(error));
  current_.reset();
}

void ScheduledRuns::reject(const scheduled_run& run, std::string error) {
  answer(run, schedule::RunStatus::error, "", std::move(error));
}

}  // namespace sb::actors
