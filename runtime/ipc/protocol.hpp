#pragma once
// File IPC protocol shared by the in-container agent and the host (docs/ipc.md).
// Pure code only: file naming, payload types, JSON encode/decode and validation.
// No I/O here, so both sides and the tests use exactly the same rules.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::ipc {

// Directory layout under the IPC root. The directory a file sits in is the sender's
// identity and decides which payload types are legal there.
enum class Box { input, messages, tasks };
inline constexpr std::string_view kInputDir = "input";
inline constexpr std::string_view kMessagesDir = "messages";
inline constexpr std::string_view kTasksDir = "tasks";
inline constexpr std::string_view kErrorsDir = "errors";
inline constexpr std::string_view kCloseSentinel = "_close";  // lives in input/
inline constexpr std::string_view kPayloadSuffix = ".json";
inline constexpr std::string_view kTmpSuffix = ".tmp";        // NAME.json.tmp
inline constexpr std::string_view kReasonSuffix = ".reason";  // errors/NAME.json.reason
inline constexpr std::size_t kDefaultMaxBytes = 256 * 1024;
inline constexpr std::size_t kMaxIdBytes = 128;
inline constexpr std::size_t kMaxDescriptionBytes = 1024;  // register_group description
inline constexpr std::size_t kMaxToolNameBytes = 64;       // tool_refused tool
inline constexpr std::size_t kMaxProgressBytes = 512;      // progress text

std::string_view box_dir(Box box);

// ---- file names ---------------------------------------------------------------------
// `<unix-ms:13 digits>-<seq:9 digits>.json`: fixed width, so byte order == write order
// for one writer as long as ms never goes backwards (Namer clamps it) and seq only grows.
std::string make_name(uint64_t unix_ms, uint64_t seq);

class Namer {
 public:
  // Next name given the wall clock now; monotonic even if the clock steps back.
  std::string next(uint64_t now_unix_ms);

 private:
  uint64_t last_ms_ = 0;
  uint64_t seq_ = 0;
};

// True for names a reader may pick up: `*.json`, not hidden, no '/'. `.tmp` files,
// `_close` and `*.reason` are never payloads.
bool is_payload_name(std::string_view name);

// ---- payloads -----------------------------------------------------------------------
// host -> agent (input/)
struct InputMessage {
  std::string id;  // opaque; echoed back as inReplyTo
  std::string text;
  std::optional<std::string> chat_jid;  // where the message came from (informational)
  bool operator==(const InputMessage&) const = default;
};

// agent -> host (messages/)
struct OutboundMessage {
  std::string text;
  std::optional<std::string> in_reply_to;
  std::optional<std::string> chat_jid;  // absent: the chat the input came from
  bool operator==(const OutboundMessage&) const = default;
};

struct TurnDone {
  std::string in_reply_to;
  bool ok = true;
  std::string error;  // set iff !ok (may be empty)
  // A failed turn the host may run again (a crash, a command that failed); false: the
  // agent already retried what made sense and `error` is the one line for the chat
  // (wire: "retry": false, only written when false).
  bool retry = true;
  bool operator==(const TurnDone&) const = default;
};

// The agent refused a tool call because the tool is not enabled for the group: reported
// for the host's audit log (the model only got an error result). Informational; it
// asks the host to do nothing.
struct ToolRefused {
  std::string tool;  // the name the model asked for, 1-64 bytes
  std::optional<std::string> in_reply_to;
  bool operator==(const ToolRefused&) const = default;
};

// One line of what the agent is doing during a turn ("bash: exit code 0 (16 ms)"): a
// terminal shows it (cowork), a chat does not. Informational; it asks nothing.
struct Progress {
  std::string text;  // 1 line, at most kMaxProgressBytes
  std::optional<std::string> in_reply_to;
  bool operator==(const Progress&) const = default;
};

// agent -> host (tasks/)
struct ScheduleTask {
  std::string prompt;
  std::string schedule_type;              // "cron" | "interval" | "once"
  std::string schedule_value;             // cron expr | interval in ms | ISO-8601 time
  std::string context_mode = "isolated";  // "group" | "isolated"
  std::optional<std::string> target_jid;  // absent: the group's own chat
  bool operator==(const ScheduleTask&) const = default;
};

struct TaskControl {
  enum class Op { pause, resume, cancel };
  Op op = Op::pause;
  std::string task_id;
  bool operator==(const TaskControl&) const = default;
};

struct UpdateTask {
  std::string task_id;
  std::optional<std::string> prompt, schedule_type, schedule_value, context_mode;
  bool operator==(const UpdateTask&) const = default;
};

// Asks the host to map a chat to a new group (namespace). Only the main group may; the
// name rule (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$) is the host's permission check, not here.
struct RegisterGroup {
  std::string name;
  std::string jid;
  std::optional<std::string> description;
  bool operator==(const RegisterGroup&) const = default;
};

using Payload = std::variant<InputMessage, OutboundMessage, TurnDone, ScheduleTask, TaskControl, UpdateTask,
                             RegisterGroup, ToolRefused, Progress>;

// The `type` field value, and the only directory the payload may be written to.
std::string_view type_name(const Payload& p);
Box box_of(const Payload& p);

std::string encode(const Payload& p);

// Parses and validates one file's bytes found in `box`. Error codes (stable, also the
// `reason` label of squadbox_ipc_rejected_total without the "ipc." prefix):
//   ipc.oversized, ipc.malformed (not UTF-8 JSON / not an object), ipc.unknown_type,
//   ipc.wrong_directory, ipc.invalid_field.
Result<Payload> decode(Box box, std::string_view bytes, std::size_t max_bytes = kDefaultMaxBytes);

// "ipc.oversized" -> "oversized"; anything else -> "other".
std::string_view reason_label(const Error& e);

}  // namespace sb::ipc
