#pragma once
// Scheduling from inside a container (docs/ipc.md "tasks/"): one task payload of a run's
// IPC directory applied to the TaskStore for the group that owns the run, and the
// `current_tasks.json` snapshot the agent reads. The sender's identity comes from the
// run (ipc::IpcIdentity), never from the payload. The payload -> TaskPatch mapping is
// pure (free functions below); TaskIpc is the thin, thread-safe shell the container
// supervisor's IPC thread calls.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/protocol.hpp"
#include "runtime/core/result.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/scheduling/task_store.hpp"

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

// ---- the shell ----------------------------------------------------------------------

class TaskIpc {
 public:
  TaskIpc(std::shared_ptr<TaskStore> store, ChatDirectory chats) : store_(std::move(store)), chats_(std::move(chats)) {}

  // Checks the payload with ipc::authorize against the store-backed ownership (the
  // watcher did too; this keeps TaskIpc safe on its own), then applies it. Errors: the
  // permission rule as the code ("ipc.task.foreign": reason), "ipc.not_a_task", or the
  // store's ("invalid_field" naming the field, "tasks.not_found", "tasks.conflict", ...).
  Result<TaskIpcOutcome> apply(const ipc::IpcIdentity& sender, const ipc::Payload& payload) const;

  // The namespace NAME owning a task; nullopt when unknown (or unreadable: deny).
  std::optional<std::string> task_owner(const std::string& task_id) const;
  std::optional<std::string> chat_owner(const std::string& jid) const;

  // tasks_json of what the sender may see.
  Result<std::string> snapshot_json(const ipc::IpcIdentity& sender) const;
  // Writes <ipc_root>/current_tasks.json atomically (tmp + rename, never following a
  // link), mode 0400, owned by uid:gid when given (the container's user; needs root).
  Status write_snapshot(const std::string& ipc_root, const ipc::IpcIdentity& sender,
                        std::optional<uid_t> uid = std::nullopt, std::optional<gid_t> gid = std::nullopt) const;

  const std::shared_ptr<TaskStore>& store() const { return store_; }

 private:
  std::shared_ptr<TaskStore> store_;
  ChatDirectory chats_;
};

// chat_owner + task_owner of `tasks`, for ipc::authorize (the IPC watcher's check).
std::shared_ptr<const ipc::IpcOwnership> ipc_ownership(std::shared_ptr<const TaskIpc> tasks);

}  // namespace sb::schedule
