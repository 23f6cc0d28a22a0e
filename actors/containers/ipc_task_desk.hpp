#pragma once
// Scheduling from inside a container (docs/ipc.md "tasks/"): TaskIpc applies one task
// payload of a run's IPC directory to the TaskStore for the group that owns the run and
// writes the `current_tasks.json` snapshot the agent reads. The payload -> TaskPatch
// mapping is pure (runtime/schedule/ipc_tasks.hpp); this is the thin, thread-safe shell
// the container supervisor's IPC thread calls.
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/ipc/ipc_watcher.hpp"
#include "runtime/schedule/ipc_tasks.hpp"
#include "storage/task_store.hpp"

namespace sb::actors {

using schedule::ChatDirectory;
using schedule::TaskIpcOutcome;

class TaskIpc {
 public:
  TaskIpc(std::shared_ptr<storage::TaskStore> store, ChatDirectory chats)
      : store_(std::move(store)), chats_(std::move(chats)) {}

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

  const std::shared_ptr<storage::TaskStore>& store() const { return store_; }

 private:
  std::shared_ptr<storage::TaskStore> store_;
  ChatDirectory chats_;
};

// chat_owner + task_owner of `tasks`, for ipc::authorize (the IPC watcher's check).
std::shared_ptr<const ipc::IpcOwnership> ipc_ownership(std::shared_ptr<const TaskIpc> tasks);

// One run's desk on its IPC thread: applies the run's task files through TaskIpc for the
// run's group, audits and counts each action, moves a refused file to errors/ with its
// reason, and keeps the run's current_tasks.json fresh.
struct TaskDesk {
  std::shared_ptr<TaskIpc> tasks;  // null: scheduling not available
  ipc::IpcIdentity sender;
  std::string run_id;
  std::string root;  // the run's IPC directory
  uid_t uid = 65534;
  gid_t gid = 65534;
  AuditSink audit;
  metrics::Registry* metrics = nullptr;

  void refresh_snapshot() const;
  void apply(const ipc::Delivery& d) const;

 private:
  void count(std::string_view action, std::string_view result) const;
  // The watcher already removed the file: its payload (as decoded) goes to errors/.
  void reject(const ipc::Delivery& d, const std::string& reason) const;
};

}  // namespace sb::actors
