#pragma once
// IPC permissions (security layer 5, docs/ipc.md "Permissions"): may the group whose
// run owns an IPC directory do what a payload asks? Pure: the caller supplies who the
// sender is (from the directory, never from the payload) and who owns chats and tasks.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/ipc/protocol.hpp"

namespace sb::ipc {

// The group whose run owns the IPC directory. Never read from a payload field.
struct IpcIdentity {
  std::string group;
  bool is_main = false;
};

// Ownership as the host knows it. Each function answers the owning group, or nullopt
// when the chat/task is unknown; an unset function knows nothing (deny by default).
// Called from the IPC thread: implementations must be thread-safe.
struct IpcOwnership {
  std::function<std::optional<std::string>(const std::string& jid)> chat_owner;
  std::function<std::optional<std::string>(const std::string& task_id)> task_owner;
};

// Stable rule names: log field, errors/*.reason prefix, metric label, audit detail.
namespace rules {
inline constexpr std::string_view kTurnDone = "ipc.turn_done";
inline constexpr std::string_view kSendReply = "ipc.send.reply";  // no chatJid: the origin chat
inline constexpr std::string_view kSendOwnChat = "ipc.send.own_chat";
inline constexpr std::string_view kSendMain = "ipc.send.main";
inline constexpr std::string_view kSendForeignChat = "ipc.send.foreign_chat";
inline constexpr std::string_view kSendUnknownChat = "ipc.send.unknown_chat";
inline constexpr std::string_view kScheduleOwnChat = "ipc.schedule.own_chat";
inline constexpr std::string_view kScheduleMain = "ipc.schedule.main";
inline constexpr std::string_view kScheduleForeignChat = "ipc.schedule.foreign_chat";
inline constexpr std::string_view kScheduleUnknownChat = "ipc.schedule.unknown_chat";
inline constexpr std::string_view kTaskOwn = "ipc.task.own";
inline constexpr std::string_view kTaskMain = "ipc.task.main";
inline constexpr std::string_view kTaskForeign = "ipc.task.foreign";
inline constexpr std::string_view kTaskNotFound = "ipc.task.not_found";
inline constexpr std::string_view kRegisterMain = "ipc.register.main";
inline constexpr std::string_view kRegisterMainOnly = "ipc.register.main_only";
inline constexpr std::string_view kRegisterInvalidName = "ipc.register.invalid_name";
inline constexpr std::string_view kWrongDirection = "ipc.wrong_direction";  // an input payload
inline constexpr std::string_view kToolRefused = "ipc.tool_refused";        // an audit report, asks nothing
inline constexpr std::string_view kProgress = "ipc.progress";               // a progress line, asks nothing
}  // namespace rules

struct IpcDecision {
  bool allowed = false;
  std::string_view rule;  // one of rules::*
  std::string reason;     // human-readable, for errors/*.reason and logs
};

// ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ on bytes: ASCII only, so no unicode look-alikes.
bool is_valid_group_name(std::string_view name);

IpcDecision authorize(const IpcIdentity& sender, const IpcOwnership& ownership, const Payload& payload);

// The audit detail of a denial, a JSON object:
// {"namespace":group,"rule":...,"type":...,"reason":...}.
std::string denial_detail(std::string_view group, const IpcDecision& decision, std::string_view type);

}  // namespace sb::ipc
