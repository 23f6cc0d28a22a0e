#pragma once
// One run of a scheduled task as the scheduler hands it to the task's namespace, and the
// namespace's answer. The run-log row (task_runs) exists before the run is handed on;
// the answer finishes it.
#include <cstdint>
#include <string>

#include "runtime/schedule/task_model.hpp"

namespace sb::schedule {

struct ScheduledRun {
  std::string task_id;
  int64_t run_id = 0;  // task_runs.id
  int64_t attempt = 1;
  std::string namespace_id;
  std::string namespace_name;
  std::string prompt;
  ContextMode context_mode = ContextMode::isolated;  // group: the group's session; isolated: a fresh one
  std::string image;                                 // "" = the namespace's agent image
  int64_t timeout_secs = kDefaultTimeoutSecs;        // 0 = no limit; the container is killed at the limit
  std::string announce_jid;                          // "" = the result is not sent to any chat
};

struct ScheduledRunResult {
  std::string task_id;
  int64_t run_id = 0;
  RunStatus status = RunStatus::success;  // success | error | timeout
  std::string result;                     // what the agent said, in order, joined by newlines
  std::string error;                      // why it failed ("" on success)
};

}  // namespace sb::schedule
