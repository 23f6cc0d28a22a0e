// What the host reads from a container's IPC directory (docs/ipc.md): one file's bytes as
// the agent (or anything in the container) wrote them to messages/ or tasks/. They go
// through the host's own steps: decode() (size, UTF-8 JSON, type, directory, fields),
// the IPC permission rules, and for task payloads the pure mapping to a TaskPatch
// (schedule compilation included). With bit 2 of byte 0 the same bytes also take the real
// reader path: written as a file into a scratch IPC directory and collected by
// IpcWatcher::drain() (bounded read, decode, unlink or move to errors/ with a .reason).
// Properties checked: a decoded payload encodes to bytes that decode to the same payload;
// denial details and reject reasons are what the container may read back (valid JSON /
// one line).
// Byte 0: bit 0 = box (messages | tasks), bit 1 = the sender is the main group,
// bit 2 = also through IpcWatcher. The rest: the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "runtime/core/log.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/ipc/ipc_fs.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/ipc/ipc_watcher.hpp"
#include "runtime/ipc/protocol.hpp"
#include "runtime/schedule/ipc_tasks.hpp"

namespace {

using namespace sb;

bool valid_json_object(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return !doc.HasParseError() && doc.IsObject();
}

const ipc::IpcOwnership& ownership() {
  static const ipc::IpcOwnership o{[](const std::string& jid) -> std::optional<std::string> {
                                     if (jid == "tg:42" || jid == "slack:C1") return std::string("team");
                                     if (jid == "tg:1") return std::string("main");
                                     return std::nullopt;
                                   },
                                   [](const std::string& task) -> std::optional<std::string> {
                                     if (task == "t-team") return std::string("team");
                                     if (task == "t-main") return std::string("main");
                                     return std::nullopt;
                                   }};
  return o;
}

void host_task_mapping(const ipc::IpcIdentity& sender, const ipc::Payload& payload) {
  if (!schedule::task_action_of(payload)) return;
  if (const auto* t = std::get_if<ipc::ScheduleTask>(&payload)) {
    const std::string name = schedule::ipc_task_name(t->prompt);
    if (utf8::is_valid(t->prompt) && !utf8::is_valid(name)) std::abort();
    std::optional<std::string> owner;
    if (t->target_jid) owner = ownership().chat_owner(*t->target_jid);
    auto target = schedule::schedule_target(sender, t->target_jid, owner, {"tg:42"});
    if (!target) return;
    (void)schedule::schedule_patch(*t, *target, "Europe/Berlin");
  } else if (const auto* u = std::get_if<ipc::UpdateTask>(&payload)) {
    (void)schedule::update_patch(*u, "UTC");
  }
}

// A scratch IPC directory with a watcher on it, made once.
struct Scratch {
  std::string root;
  std::optional<ipc::IpcWatcher> watcher;
  ipc::Namer namer;
};
Scratch* g_scratch = nullptr;  // made once, never destroyed (a global: LeakSanitizer sees it reachable)
char g_scratch_root[64];       // for the exit handler, which may run after static destructors

Scratch& scratch() {
  if (g_scratch) return *g_scratch;
  std::snprintf(g_scratch_root, sizeof g_scratch_root, "/tmp/sb-ipc-fuzz-XXXXXX");
  if (!::mkdtemp(g_scratch_root)) std::abort();
  g_scratch = new Scratch;
  g_scratch->root = g_scratch_root;
  for (auto d : {ipc::kInputDir, ipc::kMessagesDir, ipc::kTasksDir, ipc::kErrorsDir})
    std::filesystem::create_directory(g_scratch->root + "/" + std::string(d));
  auto w = ipc::IpcWatcher::open(g_scratch->root);
  if (!w) std::abort();
  g_scratch->watcher.emplace(std::move(*w));
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(g_scratch_root, ec);
  });
  return *g_scratch;
}

void through_watcher(ipc::Box box, std::string_view bytes) {
  Scratch& s = scratch();
  const std::string dir = s.root + "/" + std::string(ipc::box_dir(box));
  auto written = ipc::write_payload(dir, s.namer, bytes);
  if (!written) std::abort();
  const auto deliveries = s.watcher->drain();
  const bool accepted = ipc::decode(box, bytes).ok();
  if (accepted != (deliveries.size() == 1)) std::abort();  // the watcher decides as decode() does
  // A rejected file sits in errors/ with its reason, one line the container may read.
  const std::string errors = s.root + "/" + std::string(ipc::kErrorsDir);
  for (const auto& entry : std::filesystem::directory_iterator(errors)) {
    if (entry.path().extension() == ".reason") {
      auto text = ipc::read_bounded(entry.path().string(), 1 << 20);
      if (!text || text->empty() || text->back() != '\n' || text->find('\n') != text->size() - 1) std::abort();
    }
  }
  std::filesystem::remove_all(errors);
  std::filesystem::create_directory(errors);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const bool quiet = [] {
    log::configure(log::Level::off, log::Format::logfmt);
    return true;
  }();
  (void)quiet;
  const std::uint8_t flags = data[0];
  const ipc::Box box = (flags & 1) ? ipc::Box::tasks : ipc::Box::messages;
  const ipc::IpcIdentity sender{(flags & 2) ? "main" : "team", (flags & 2) != 0};
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  auto payload = ipc::decode(box, bytes);
  if (payload) {
    const std::string encoded = ipc::encode(*payload);
    auto again = ipc::decode(ipc::box_of(*payload), encoded, encoded.size() + 1);
    if (!again || !(*again == *payload)) std::abort();  // encode/decode must round-trip
    if (ipc::box_of(*payload) != box) std::abort();     // decode checked the directory
    const ipc::IpcDecision decision = ipc::authorize(sender, ownership(), *payload);
    if (!decision.allowed) {
      if (decision.reason.find('\n') != std::string::npos) std::abort();
      if (!valid_json_object(ipc::denial_detail(sender.group, decision, ipc::type_name(*payload)))) std::abort();
    }
    host_task_mapping(sender, *payload);
  } else {
    const Error& e = payload.error();
    if (e.code.rfind("ipc.", 0) != 0) std::abort();  // only the documented codes
  }
  if (flags & 4) through_watcher(box, bytes);
  return 0;
}
