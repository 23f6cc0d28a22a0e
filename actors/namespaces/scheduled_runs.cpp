#include "actors/namespaces/scheduled_runs.hpp"

namespace sb::actors {
namespace {

void answer(const scheduled_run& run, std::string status, std::string result, std::string error) {
  if (!run.reply_to) return;
  caf::anon_send(run.reply_to, done_atom::value,
                 scheduled_run_result{run.task_id, run.run_id, std::move(status), std::move(result),
                                      std::move(error)});
}

}  // namespace

Status validate_scheduled_run(const scheduled_run& run) {
  if (run.namespace_id.empty()) return make_error("task.invalid", "scheduled run without a namespace id");
  if (run.context_mode != "group" && run.context_mode != "isolated")
    return make_error("task.invalid",
                      "context_mode must be \"group\" or \"isolated\", got \"" + run.context_mode + "\"");
  if (run.timeout_secs < 0)
    return make_error("task.invalid",
                      "timeout_secs must be >= 0 (0 = no limit), got " + std::to_string(run.timeout_secs));
  if (run.prompt.empty()) return make_error("task.invalid", "the prompt is empty");
  return {};
}

std::string task_run_id(std::string_view namespace_name, std::string_view random_hex) {
  return "task-" + std::string(namespace_name) + "-" + std::string(random_hex);
}

std::string task_announce_key(int64_t run_id, std::size_t n) {
  return "task:" + std::to_string(run_id) + ":" + std::to_string(n);
}

TaskOutcome classify_task_run(const run_result& r, bool turn_done, std::string_view turn_error) {
  if (!turn_error.empty()) return {"error", std::string(turn_error)};
  if (turn_done) return {"success", ""};
  if (r.reason == "hard_timeout") return {"timeout", "the run exceeded its timeout and was killed"};
  std::string why = r.reason.empty() ? r.final_state : r.reason;
  if (why.empty()) why = "unknown";
  return {"error", "the agent container ended before the run finished: " + why};
}

std::string join_task_result(const std::vector<std::string>& texts) {
  std::string out;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) out += '\n';
    out += texts[i];
  }
  return out;
}

ScheduledRuns::~ScheduledRuns() {
  const std::string why = "namespace stopped before the run ended";
  if (current_) answer(*current_, "error", "", why);
  for (const auto& run : waiting_) answer(run, "error", "", why);
}

const scheduled_run& ScheduledRuns::start_next() {
  current_.emplace(std::move(waiting_.front()));
  waiting_.pop_front();
  return *current_;
}

void ScheduledRuns::finish(const std::string& status, std::string result, std::string error) {
  if (!current_) return;
  answer(*current_, status, std::move(result), std::move(error));
  current_.reset();
}

void ScheduledRuns::reject(const scheduled_run& run, std::string error) { answer(run, "error", "", std::move(error)); }

}  // namespace sb::actors
