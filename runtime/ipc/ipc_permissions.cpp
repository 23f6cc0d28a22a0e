#include "runtime/ipc/ipc_permissions.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::ipc {
namespace {

IpcDecision allow(std::string_view rule, std::string reason) {
  return {true, rule, std::move(reason)};
}
IpcDecision deny(std::string_view rule, std::string reason) {
  return {false, rule, std::move(reason)};
}

std::optional<std::string> owner_of(const decltype(IpcOwnership::chat_owner)& lookup, const std::string& key) {
  if (!lookup) return std::nullopt;
  return lookup(key);
}

// Reasons land in errors/, which the container can read: they never name another group.
struct ChatRules {
  std::string_view absent, own, main, foreign, unknown;  // absent: no chat named
  const char* verb;
};

IpcDecision check_chat(const IpcIdentity& sender, const IpcOwnership& ownership, const std::optional<std::string>& jid,
                       const ChatRules& r) {
  if (!jid) return allow(r.absent, std::string(r.verb) + " the group's own chat");
  auto owner = owner_of(ownership.chat_owner, *jid);
  if (owner && *owner == sender.group) return allow(r.own, std::string(r.verb) + " own chat " + *jid);
  if (sender.is_main) return allow(r.main, std::string("main group may ") + r.verb + " any chat");
  if (!owner) return deny(r.unknown, "chat " + *jid + " is not mapped to this group");
  return deny(r.foreign, "chat " + *jid + " belongs to another group");
}

IpcDecision check_task(const IpcIdentity& sender, const IpcOwnership& ownership, const std::string& task_id) {
  auto owner = owner_of(ownership.task_owner, task_id);
  // Also for main: there is nothing to pause, resume, cancel or update.
  if (!owner) return deny(rules::kTaskNotFound, "task " + task_id + " not found");
  if (*owner == sender.group) return allow(rules::kTaskOwn, "own task " + task_id);
  if (sender.is_main) return allow(rules::kTaskMain, "main group may manage any task");
  return deny(rules::kTaskForeign, "task " + task_id + " belongs to another group");
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

bool is_valid_group_name(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 64 || !alnum(name.front())) return false;
  for (char c : name.substr(1))
    if (!alnum(c) && c != '_' && c != '-') return false;
  return true;
}

IpcDecision authorize(const IpcIdentity& sender, const IpcOwnership& ownership, const Payload& payload) {
  return std::visit(
      overloaded{
          [](const InputMessage&) {
            return deny(rules::kWrongDirection, "input messages flow from the host, never from a container");
          },
          [&](const OutboundMessage& m) {
            return check_chat(sender, ownership, m.chat_jid,
                              {rules::kSendReply, rules::kSendOwnChat, rules::kSendMain, rules::kSendForeignChat,
                               rules::kSendUnknownChat, "send to"});
          },
          [](const TurnDone&) { return allow(rules::kTurnDone, "turn markers concern the sender's own run"); },
          [](const ToolRefused&) {
            return allow(rules::kToolRefused, "a refusal report concerns the sender's own run and changes nothing");
          },
          [](const Progress&) {
            return allow(rules::kProgress, "a progress line concerns the sender's own run and changes nothing");
          },
          [&](const ScheduleTask& s) {
            return check_chat(sender, ownership, s.target_jid,
                              {rules::kScheduleOwnChat, rules::kScheduleOwnChat, rules::kScheduleMain,
                               rules::kScheduleForeignChat, rules::kScheduleUnknownChat, "schedule for"});
          },
          [&](const TaskControl& c) { return check_task(sender, ownership, c.task_id); },
          [&](const UpdateTask& u) { return check_task(sender, ownership, u.task_id); },
          [&](const RegisterGroup& g) {
            if (!sender.is_main) return deny(rules::kRegisterMainOnly, "only the main group may register groups");
            if (!is_valid_group_name(g.name))
              return deny(rules::kRegisterInvalidName, "group name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
            return allow(rules::kRegisterMain, "main group registers " + g.name);
          },
      },
      payload);
}

std::string denial_detail(std::string_view group, const IpcDecision& decision, std::string_view type) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto field = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  field("namespace", group);
  field("rule", decision.rule);
  field("type", type);
  field("reason", decision.reason);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace sb::ipc
