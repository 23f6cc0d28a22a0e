#include "actors/containers/ipc_task_desk.hpp"

#include "runtime/core/fs.hpp"
#include "runtime/core/log.hpp"

namespace sb::actors {
using namespace schedule;

std::optional<std::string> TaskIpc::task_owner(const std::string& task_id) const {
  auto t = store_->get(task_id);
  if (!t) return std::nullopt;
  return t->namespace_name;
}

std::optional<std::string> TaskIpc::chat_owner(const std::string& jid) const {
  if (!chats_.owner) return std::nullopt;
  return chats_.owner(jid);
}

std::shared_ptr<const ipc::IpcOwnership> ipc_ownership(std::shared_ptr<const TaskIpc> tasks) {
  auto o = std::make_shared<ipc::IpcOwnership>();
  o->chat_owner = [tasks](const std::string& jid) { return tasks->chat_owner(jid); };
  o->task_owner = [tasks](const std::string& id) { return tasks->task_owner(id); };
  return o;
}

Result<TaskIpcOutcome> TaskIpc::apply(const ipc::IpcIdentity& sender, const ipc::Payload& payload) const {
  auto action = task_action_of(payload);
  if (!action) return make_error("ipc.not_a_task", std::string(ipc::type_name(payload)) + " is not a task action");
  ipc::IpcOwnership ownership;  // lives for this call only
  ownership.chat_owner = [this](const std::string& jid) { return chat_owner(jid); };
  ownership.task_owner = [this](const std::string& id) { return task_owner(id); };
  auto decision = ipc::authorize(sender, ownership, payload);
  if (!decision.allowed) return make_error(std::string(decision.rule), decision.reason);

  auto done = [&](Result<Task> t) -> Result<TaskIpcOutcome> {
    if (!t) return t.error();
    return TaskIpcOutcome{*action, std::move(*t)};
  };
  if (auto* s = std::get_if<ipc::ScheduleTask>(&payload)) {
    std::optional<std::string> target_owner;
    std::vector<std::string> own_chats;
    if (s->target_jid)
      target_owner = chat_owner(*s->target_jid);
    else if (chats_.chats_of)
      own_chats = chats_.chats_of(sender.group);
    auto target = schedule_target(sender, s->target_jid, target_owner, own_chats);
    if (!target) return target.error();
    auto patch = schedule_patch(*s, *target, store_->default_time_zone());
    if (!patch) return patch.error();
    return done(store_->create(*patch));
  }
  if (auto* u = std::get_if<ipc::UpdateTask>(&payload)) {
    auto patch = update_patch(*u, store_->default_time_zone());
    if (!patch) return patch.error();
    return done(store_->update(u->task_id, *patch));
  }
  const auto& c = std::get<ipc::TaskControl>(payload);
  switch (c.op) {
    case ipc::TaskControl::Op::pause: return done(store_->pause(c.task_id));
    case ipc::TaskControl::Op::resume: return done(store_->resume(c.task_id));
    case ipc::TaskControl::Op::cancel: return done(store_->remove(c.task_id));
  }
  return make_error("ipc.not_a_task", "unknown task operation");
}

Result<std::string> TaskIpc::snapshot_json(const ipc::IpcIdentity& sender) const {
  auto tasks = store_->list(visible_tasks(sender));
  if (!tasks) {
    // A group without a namespace row owns no tasks.
    if (tasks.error().code == "tasks.no_group") return std::string("[]");
    return tasks.error();
  }
  return tasks_json(*tasks);
}

Status TaskIpc::write_snapshot(const std::string& ipc_root, const ipc::IpcIdentity& sender, std::optional<uid_t> uid,
                               std::optional<gid_t> gid) const {
  auto json = snapshot_json(sender);
  if (!json) return json.error();
  // The root belongs to the host (the agent cannot create entries in it), so a leftover
  // tmp is ours from a crash; the write never follows anything planted there. Readable
  // by the agent's uid only: prompts are none of another local user's business.
  AtomicWriteOptions options;
  options.mode = 0400;
  options.durable = false;  // refreshed while the run lives; the agent reads it at once
  options.uid = uid;
  options.gid = gid;
  if (auto st = write_file_atomic(ipc_root + "/" + std::string(kTasksSnapshotFile), *json, options); !st)
    return make_error("tasks.snapshot_failed", st.error().message);
  return {};
}

void TaskDesk::refresh_snapshot() const {
  if (!tasks) return;
  if (auto s = tasks->write_snapshot(root, sender, uid, gid); !s)
    log::warn("ipc.snapshot_failed", {{"run", run_id}, {"error", s.error().message}});
}

void TaskDesk::count(std::string_view action, std::string_view result) const {
  if (metrics)
    metrics
        ->counter("squadbox_ipc_task_actions_total", "Task actions from inside containers, by action and result.",
                  {{"action", std::string(action)}, {"result", std::string(result)}})
        .inc();
}

void TaskDesk::reject(const ipc::Delivery& d, const std::string& reason) const {
  const std::string errors = root + "/" + std::string(ipc::kErrorsDir);
  const std::string name = std::string(ipc::kTasksDir) + "-" + d.name;
  auto st = ipc::write_atomic(errors, name, ipc::encode(d.payload));
  if (st) st = ipc::write_atomic(errors, name + std::string(ipc::kReasonSuffix), reason + "\n", /*replace=*/true);
  if (!st) log::error("ipc.reject_failed", {{"run", run_id}, {"file", d.name}, {"error", st.error().message}});
}

void TaskDesk::apply(const ipc::Delivery& d) const {
  auto action = task_action_of(d.payload);
  std::string action_name(action ? to_string(*action) : ipc::type_name(d.payload));
  if (!tasks) {
    log::warn("ipc.task", {{"run", run_id},
                           {"group", sender.group},
                           {"file", d.name},
                           {"action", action_name},
                           {"result", "error"},
                           {"error", "scheduling not available"}});
    count(action_name, "unavailable");
    return reject(d, "ipc.scheduling_unavailable: scheduling not available");
  }
  auto done = tasks->apply(sender, d.payload);
  if (!done) {
    log::warn("ipc.task", {{"run", run_id},
                           {"group", sender.group},
                           {"file", d.name},
                           {"action", action_name},
                           {"result", "error"},
                           {"error", done.error().message}});
    count(action_name, "error");
    return reject(d, done.error().code + ": " + done.error().message);
  }
  log::info("ipc.task", {{"run", run_id},
                         {"group", sender.group},
                         {"file", d.name},
                         {"action", action_name},
                         {"result", "ok"},
                         {"task", done->task.id},
                         {"task_group", done->task.namespace_name}});
  count(action_name, "ok");
  if (audit)
    audit(AuditRecord{"ipc:" + sender.group, audit_event(*done), done->task.id, audit_detail(sender, *done, d.name)});
}

}  // namespace sb::actors
