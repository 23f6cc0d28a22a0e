#pragma once
// Scheduled tasks as plain values (REFERENCE §1 "Task scheduling"): the task, the
// partial task a POST or PATCH body sets, the run-log row, their JSON in the product
// shape (camelCase), and the pure decisions the store applies (next run, excerpts).
// No I/O. Errors are "invalid_field" with a message that starts with the field's name.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/schedule/schedule.hpp"

namespace sb::schedule {

inline constexpr std::size_t kMaxTaskNameBytes = 128;
inline constexpr std::size_t kMaxPromptBytes = 64 * 1024;
inline constexpr std::size_t kMaxImageBytes = 256;
inline constexpr int64_t kDefaultTimeoutSecs = 300;
inline constexpr int64_t kMaxTimeoutSecs = 7 * 24 * 3600;
inline constexpr int64_t kMaxRetryAttempts = 20;
inline constexpr int64_t kDefaultRetryBackoffMs = 5000;
inline constexpr int64_t kMaxRetryBackoffMs = 24LL * 3600 * 1000;
inline constexpr std::size_t kMaxResultExcerptBytes = 1024;

enum class ContextMode { group, isolated };
enum class TaskStatus { active, paused, completed, failed };
std::string_view to_string(ContextMode mode);
std::string_view to_string(TaskStatus status);
std::optional<TaskStatus> parse_task_status(std::string_view text);

struct TaskContainerConfig {
  int64_t timeout_secs = kDefaultTimeoutSecs;  // 0 = no limit
  std::string image;                           // "" = the namespace's agent image
};

// Retries after a failed run; off (max_attempts 0) by default.
struct RetryPolicy {
  int64_t max_attempts = 0;                     // extra attempts after the first failure
  int64_t backoff_ms = kDefaultRetryBackoffMs;  // doubled per attempt
};

struct Task {
  std::string id;  // UUID v4
  std::string name;
  std::string namespace_id;
  std::string namespace_name;  // filled on read, for display
  std::string prompt;
  ScheduleSpec schedule;
  TaskContainerConfig container;
  ContextMode context_mode = ContextMode::isolated;
  CatchUpPolicy catch_up = CatchUpPolicy::once;
  std::string time_zone = "UTC";
  std::string announce_jid;  // "" = results are not announced
  RetryPolicy retry;
  TaskStatus status = TaskStatus::active;
  int64_t anchor_ms = 0;  // interval grid origin: creation or the last schedule change
  std::optional<int64_t> next_run_ms;
  std::optional<int64_t> run_requested_ms;  // a run-now request not started yet
  std::optional<int64_t> last_run_ms;
  std::string last_result;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;

  bool enabled() const { return status == TaskStatus::active; }
};

// What a POST or PATCH body sets. Absent = unchanged (PATCH) / default (POST).
struct TaskPatch {
  std::optional<std::string> name;
  std::optional<std::string> group;  // a namespace name or id
  std::optional<std::string> prompt;
  std::optional<ScheduleSpec> schedule;
  std::optional<int64_t> timeout_secs;
  std::optional<std::string> image;
  std::optional<ContextMode> context_mode;
  std::optional<CatchUpPolicy> catch_up;
  std::optional<std::string> time_zone;
  std::optional<std::string> announce_jid;  // "" (from null) clears it
  std::optional<RetryPolicy> retry;
  // From "enabled" or "status" (active | paused); both given must agree.
  std::optional<bool> enabled;
};

// Parses and validates a body. `create`: POST needs name, group, prompt and schedule.
// Unknown members are refused. The schedule's value is checked by the store once the
// task's time zone is known (compile_task_schedule).
Result<TaskPatch> parse_task_patch(std::string_view body, bool create);

// Compiles a schedule in a zone; errors name the field ("schedule.value: cron: ...",
// "timeZone: ...").
Result<TimeZone> resolve_time_zone(std::string_view name);
Result<Schedule> compile_task_schedule(const ScheduleSpec& spec, const TimeZone& tz);

// The first planned fire strictly after `now_ms` on the task's grid (anchor_ms), or
// nullopt when the schedule has none left (a once time that is past).
std::optional<int64_t> plan_next_run(const Schedule& schedule, const TimeZone& tz, int64_t anchor_ms, int64_t now_ms);

enum class RunTrigger { schedule, manual, retry };
enum class RunStatus { running, success, error, timeout };
std::string_view to_string(RunTrigger trigger);
std::string_view to_string(RunStatus status);
std::optional<RunTrigger> parse_run_trigger(std::string_view text);
std::optional<RunStatus> parse_run_status(std::string_view text);

// One run-log row.
struct TaskRun {
  int64_t id = 0;
  std::string task_id;
  RunTrigger trigger = RunTrigger::schedule;
  int64_t attempt = 1;
  int64_t started_at_ms = 0;
  std::optional<int64_t> duration_ms;  // nullopt while running
  RunStatus status = RunStatus::running;
  std::string result;  // excerpt, at most kMaxResultExcerptBytes
  std::string error;
};

// At most `max_bytes`, cut on a UTF-8 character boundary, "…" marking a cut.
std::string excerpt(std::string_view text, std::size_t max_bytes = kMaxResultExcerptBytes);

// JSON in the product shape; times ISO-8601 UTC, absent ones null.
std::string task_json(const Task& task);
std::string tasks_json(const std::vector<Task>& tasks);
std::string run_json(const TaskRun& run);
std::string runs_json(const std::vector<TaskRun>& runs);

// What the task store is asked for and told (storage/task_store.hpp); the scheduler
// core decides on these values without the store.
struct TaskFilter {
  std::optional<std::string> group;  // a namespace name or id
  std::optional<TaskStatus> status;
};

struct RunOutcome {
  RunStatus status = RunStatus::success;  // success | error | timeout
  std::string result;                     // cut to an excerpt when stored
  std::string error;
  // The scheduler's retry decision: the run is tried again then. Unset: the outcome is final.
  std::optional<int64_t> retry_at_ms;
};

// One run to start in a batch (TaskStore::start_runs).
struct RunStart {
  std::string task_id;
  RunTrigger trigger = RunTrigger::schedule;
  int64_t attempt = 1;
};

// What the scheduler keeps per task: when to look at it next (the earlier of an active
// task's next_run and a run request).
struct PlannedRun {
  std::string task_id;
  int64_t at_ms = 0;
};

}  // namespace sb::schedule
