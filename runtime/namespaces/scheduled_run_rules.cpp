#include "runtime/namespaces/scheduled_run_rules.hpp"

namespace sb::namespaces {

using schedule::ContextMode;
using schedule::RunStatus;

Status validate_scheduled_run(const schedule::ScheduledRun& run) {
  if (run.namespace_id.empty()) return make_error("task.invalid", "scheduled run without a namespace id");
  if (run.context_mode != ContextMode::group && run.context_mode != ContextMode::isolated)
    return make_error("task.invalid", "context_mode must be \"group\" or \"isolated\", got " +
                                          std::to_string(static_cast<int>(run.context_mode)));
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

TaskOutcome classify_task_run(const container::RunResult& r, bool turn_done, std::string_view turn_error) {
  if (!turn_error.empty()) return {RunStatus::error, std::string(turn_error)};
  if (turn_done) return {RunStatus::success, ""};
  if (r.reason == container::EndReason::hard_timeout)
    return {RunStatus::timeout, "the run exceeded its timeout and was killed"};
  return {RunStatus::error, "the agent container ended before the run finished: " + container::describe(r)};
}

std::string join_task_result(const std::vector<std::string>& texts) {
  std::string out;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) out += '\n';
    out += texts[i];
  }
  return out;
}

}  // namespace sb::namespaces
