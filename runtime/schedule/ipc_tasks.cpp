#include "runtime/schedule/ipc_tasks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/ipc/ipc_fs.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::schedule {
namespace {

Error field_error(std::string_view field, std::string_view message) {
  return make_error("invalid_field", std::string(field) + ": " + std::string(message));
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

Status check_prompt(const std::string& prompt) {
  if (prompt.empty()) return field_error("prompt", "must not be empty");
  if (prompt.size() > kMaxPromptBytes)
    return field_error("prompt", "longer than " + std::to_string(kMaxPromptBytes) + " bytes");
  return {};
}

Result<ContextMode> context_mode_of(std::string_view text) {
  if (text == "group") return ContextMode::group;
  if (text == "isolated") return ContextMode::isolated;
  return field_error("contextMode", "must be group or isolated");
}

// Same checks and messages as a POST body's "schedule" (task_model.cpp).
Result<ScheduleSpec> schedule_of(std::string_view type, const std::string& value, std::string_view time_zone) {
  auto parsed = parse_schedule_type(type);
  if (!parsed) return field_error("schedule.type", "must be cron, interval or once");
  ScheduleSpec spec{*parsed, value};
  auto tz = resolve_time_zone(time_zone);
  if (!tz) return tz.error();
  if (auto compiled = compile_task_schedule(spec, *tz); !compiled) return compiled.error();
  return spec;
}

std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;  // a stray byte counts as one character
}

}  // namespace

std::string ipc_task_name(std::string_view prompt) {
  std::string out;
  std::size_t chars = 0, i = 0;
  bool cut = false;
  while (i < prompt.size()) {
    std::size_t len = std::min(utf8_length(static_cast<unsigned char>(prompt[i])), prompt.size() - i);
    if (chars == kIpcTaskNameChars || out.size() + len > kIpcTaskNameBytes) {
      cut = true;
      break;
    }
    unsigned char c = static_cast<unsigned char>(prompt[i]);
    if (len == 1 && (c < 0x20 || c == 0x7f))
      out += ' ';
    else
      out.append(prompt.substr(i, len));
    i += len;
    ++chars;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  std::size_t start = out.find_first_not_of(' ');
  out.erase(0, start == std::string::npos ? out.size() : start);
  if (out.empty()) out = "task";
  if (cut) out += "\xE2\x80\xA6";  // U+2026
  return std::string(kIpcTaskNamePrefix) + out;
}

Result<ScheduleTarget> schedule_target(const ipc::IpcIdentity& sender, const std::optional<std::string>& target_jid,
                                       const std::optional<std::string>& target_owner,
                                       const std::vector<std::string>& own_chats) {
  ScheduleTarget out{sender.group, ""};
  if (!target_jid) {
    // Announcing needs a chat: without a targetJid only an unambiguous one is chosen.
    if (own_chats.size() == 1) out.announce_jid = own_chats.front();
    return out;
  }
  if (auto st = messaging::validate_jid(*target_jid); !st) {
    std::string why = st.error().message;
    if (why.starts_with("jid: ")) why.erase(0, 5);
    return field_error("targetJid", why);
  }
  if (target_owner && *target_owner != sender.group) {
    // ipc::authorize already refuses this for non-main senders; kept so the mapping
    // never puts a task into another group on its own.
    if (!sender.is_main)
      return make_error(std::string(ipc::rules::kScheduleForeignChat),
                        "chat " + *target_jid + " belongs to another group");
    out.group = *target_owner;
  } else if (!target_owner && !sender.is_main) {
    return make_error(std::string(ipc::rules::kScheduleUnknownChat),
                      "chat " + *target_jid + " is not mapped to this group");
  }
  out.announce_jid = *target_jid;
  return out;
}

Result<TaskPatch> schedule_patch(const ipc::ScheduleTask& s, const ScheduleTarget& target, std::string_view time_zone) {
  TaskPatch p;
  if (auto st = check_prompt(s.prompt); !st) return st.error();
  auto spec = schedule_of(s.schedule_type, s.schedule_value, time_zone);
  if (!spec) return spec.error();
  auto mode = context_mode_of(s.context_mode);
  if (!mode) return mode.error();
  if (target.group.empty()) return field_error("group", "the sender has no namespace");
  p.name = ipc_task_name(s.prompt);
  p.group = target.group;
  p.prompt = s.prompt;
  p.schedule = std::move(*spec);
  p.context_mode = *mode;
  if (!target.announce_jid.empty()) p.announce_jid = target.announce_jid;
  return p;
}

Result<TaskPatch> update_patch(const ipc::UpdateTask& u, std::string_view time_zone) {
  TaskPatch p;
  if (u.prompt) {
    if (auto st = check_prompt(*u.prompt); !st) return st.error();
    p.prompt = *u.prompt;
  }
  if (u.schedule_type.has_value() != u.schedule_value.has_value())
    return field_error("schedule", "schedule_type and schedule_value must be updated together");
  if (u.schedule_type) {
    // The task's own zone may differ; the store compiles it again in that zone.
    auto spec = schedule_of(*u.schedule_type, *u.schedule_value, time_zone);
    if (!spec) return spec.error();
    p.schedule = std::move(*spec);
  }
  if (u.context_mode) {
    auto mode = context_mode_of(*u.context_mode);
    if (!mode) return mode.error();
    p.context_mode = *mode;
  }
  if (!p.prompt && !p.schedule && !p.context_mode) return field_error("body", "nothing to change");
  return p;
}

std::string_view to_string(TaskIpcAction action) {
  switch (action) {
    case TaskIpcAction::created: return "created";
    case TaskIpcAction::paused: return "paused";
    case TaskIpcAction::resumed: return "resumed";
    case TaskIpcAction::cancelled: return "cancelled";
    case TaskIpcAction::updated: return "updated";
  }
  return "created";
}

std::optional<TaskIpcAction> task_action_of(const ipc::Payload& payload) {
  return std::visit(overloaded{
                        [](const ipc::ScheduleTask&) -> std::optional<TaskIpcAction> { return TaskIpcAction::created; },
                        [](const ipc::TaskControl& c) -> std::optional<TaskIpcAction> {
                          switch (c.op) {
                            case ipc::TaskControl::Op::pause: return TaskIpcAction::paused;
                            case ipc::TaskControl::Op::resume: return TaskIpcAction::resumed;
                            case ipc::TaskControl::Op::cancel: return TaskIpcAction::cancelled;
                          }
                          return std::nullopt;
                        },
                        [](const ipc::UpdateTask&) -> std::optional<TaskIpcAction> { return TaskIpcAction::updated; },
                        [](const auto&) -> std::optional<TaskIpcAction> { return std::nullopt; },
                    },
                    payload);
}

std::string audit_event(const TaskIpcOutcome& outcome) {
  return "task." + std::string(to_string(outcome.action));
}

std::string audit_detail(const ipc::IpcIdentity& sender, const TaskIpcOutcome& outcome, std::string_view file) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto field = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  field("namespace", sender.group);
  field("task", outcome.task.name);
  field("group", outcome.task.namespace_name);
  field("status", to_string(outcome.task.status));
  field("file", file);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

TaskFilter visible_tasks(const ipc::IpcIdentity& sender) {
  TaskFilter f;
  if (!sender.is_main) f.group = sender.group;
  return f;
}

}  // namespace sb::schedule
