#pragma once
// Scheduling from inside a container (docs/ipc.md "tasks/"): one task payload of a run's
// IPC directory applied to the TaskStore for the group that owns the run, and the
// `current_tasks.json` snapshot the agent reads. The sender's identity comes from the
// run (ipc::IpcIdentity), never from the payload. The payload -> TaskPatch mapping is
// pure (free functions below); TaskIpc (actors/containers/ipc_task_desk.hpp) is the thin,
// thread-safe shell the container supervisor's IPC thread calls.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/ipc/protocol.hpp"
#include "runtime/schedule/task_model.hpp"

namespace sb::schedule {

inline constexpr std::string_view kTasksSnapshotFile = "current_tasks.json";
inline constexpr std::string_view kIpcTaskNamePrefix = "ipc: ";
inline constexpr std::size_t kIpcTaskNameChars = 40;   // of the prompt
inline constexpr std::size_t kIpcTaskNameBytes = 100;  // bound for multi-byte prompts

// What the host knows about chats. Both functions must be thread-safe (IPC threads).
struct ChatDirectory {
  // The namespace NAME a chat JID is mapped to; nullopt: unknown.
  std::function<std::optional<std::string>(const std::string& jid)> owner;
  // The chat JIDs mapped to a namespace (by name).
  std::function<std::vector<std::string>(const std::string& group)> chats_of;
};

// ---- pure mapping -------------------------------------------------------------------

// "ipc: " + the prompt's first 40 characters (at most 100 bytes, cut on a UTF-8
// boundary, "…" when cut), control characters as spaces, surrounding spaces trimmed.
std::string ipc_task_name(std::string_view prompt);

// Where a schedule_task lands. `target_owner`: the namespace owning targetJid (if one is
// given and known); `own_chats`: the sender's mapped chats. Group: the sender's, or for
// the main group with a targetJid, the namespace that owns that chat (the sender's own
// when the chat is unmapped). Announce: targetJid if given, else the sender's only
// mapped chat when it has exactly one, else none.
struct ScheduleTarget {
  std::string group;
  std::string announce_jid;  // "" = not announced
};
Result<ScheduleTarget> schedule_target(const ipc::IpcIdentity& sender, const std::optional<std::string>& target_jid,
                                       const std::optional<std::string>& target_owner,
                                       const std::vector<std::string>& own_chats);

// schedule_task -> a create patch (name, group, prompt, schedule, contextMode, announce).
// The schedule is compiled in `time_zone` (the store's default zone, which a new task
// gets), so a bad value fails here with the API's message ("schedule.value: cron: ...").
// Errors are "invalid_field", the message starting with the field.
Result<TaskPatch> schedule_patch(const ipc::ScheduleTask& payload, const ScheduleTarget& target,
                                 std::string_view time_zone);

// update_task -> an update patch (prompt, schedule, contextMode); same validation.
Result<TaskPatch> update_patch(const ipc::UpdateTask& payload, std::string_view time_zone);

enum class TaskIpcAction { created, paused, resumed, cancelled, updated };
std::string_view to_string(TaskIpcAction action);  // "created", ...

// The action a payload asks for; nullopt for payloads that are not task actions.
std::optional<TaskIpcAction> task_action_of(const ipc::Payload& payload);

struct TaskIpcOutcome {
  TaskIpcAction action = TaskIpcAction::created;
  Task task;  // after the action (cancelled: as it was removed)
};

// "task.created", "task.paused", ...: the audit event of a successful action.
std::string audit_event(const TaskIpcOutcome& outcome);
// {"namespace":sender,"task":name,"group":task's namespace,"status":...,"file":file}
std::string audit_detail(const ipc::IpcIdentity& sender, const TaskIpcOutcome& outcome, std::string_view file);

// The tasks a sender may see: main all of them, others those of their own namespace.
TaskFilter visible_tasks(const ipc::IpcIdentity& sender);

}  // namespace sb::schedule
