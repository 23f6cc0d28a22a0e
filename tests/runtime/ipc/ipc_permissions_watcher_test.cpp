// IPC permissions enforced by the IpcWatcher on a real IPC directory (inotify): denied
// files land in errors/ with the rule in their .reason, are counted and audited; the
// allowed ones are delivered unchanged; a forged identity inside a payload changes nothing.
#include <filesystem>
#include <map>
#include <mutex>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "runtime/ipc/ipc_directory.hpp"
#include "runtime/ipc/ipc_fs.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/ipc/ipc_watcher.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::ipc;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

IpcOwnership watcher_ownership() {
  static const std::map<std::string, std::string> chats = {{"tg:1", "main"}, {"tg:2", "family"}, {"tg:3", "work"}};
  static const std::map<std::string, std::string> tasks = {{"t-fam", "family"}, {"t-work", "work"}};
  auto in = [](const std::map<std::string, std::string>& m) {
    return [&m](const std::string& k) -> std::optional<std::string> {
      auto it = m.find(k);
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
  };
  return IpcOwnership{in(chats), in(tasks)};
}

struct AuditLog {
  std::mutex mutex;
  std::vector<sb::AuditRecord> records;
  sb::AuditSink sink() {
    return [this](sb::AuditRecord r) {
      std::lock_guard lock(mutex);
      records.push_back(std::move(r));
    };
  }
};

// One run's IPC directory with a watcher enforcing the permissions of `sender`.
struct GuardedRun {
  explicit GuardedRun(IpcIdentity sender) {
    IpcWatcherOptions o;
    o.metrics = &metrics;
    o.group = sender.group;
    o.audit = audit.sink();
    o.authorize = [sender, own = watcher_ownership()](const Payload& p) { return authorize(sender, own, p); };
    watcher.emplace(IpcWatcher::open(dir.root(), std::move(o)).value());
  }
  void put(Box box, const std::string& name, const std::string& json) {
    ASSERT_TRUE(write_atomic(dir.path(box), name, json).ok());
  }
  // Deliveries until `n` arrived or the deadline passed; then the directories are empty.
  std::vector<Delivery> collect(size_t n) {
    std::vector<Delivery> all;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (all.size() < n || !empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      for (auto& d : watcher->wait_for(std::min(left, std::chrono::milliseconds(200)))) all.push_back(std::move(d));
    }
    return all;
  }
  bool empty() const { return fs::is_empty(dir.path(Box::messages)) && fs::is_empty(dir.path(Box::tasks)); }
  std::string reason(const std::string& errors_name) const {
    auto r = read_bounded(dir.errors_path() + "/" + errors_name + ".reason", 4096);
    return r ? r.value() : std::string("<missing>");
  }

  sb::test::TempDir tmp{"squadbox-ipcperm"};
  IpcDirectory dir = IpcDirectory::create(tmp.path() + "/run", {std::nullopt, std::nullopt}).value();
  sb::metrics::Registry metrics;
  AuditLog audit;
  std::optional<IpcWatcher> watcher;
};

std::string name(int seq) {
  return make_name(1700000000000, static_cast<uint64_t>(seq));
}

TEST(IpcPermissionsWatcher, NonMainDeniedFilesGoToErrorsAllowedOnesAreDelivered) {
  GuardedRun run(IpcIdentity{"family", false});
  run.put(Box::messages, name(1), encode(OutboundMessage{"reply", std::string("in-1"), std::nullopt}));
  run.put(Box::messages, name(2), encode(OutboundMessage{"to own chat", std::nullopt, std::string("tg:2")}));
  run.put(Box::messages, name(3), encode(OutboundMessage{"to work", std::nullopt, std::string("tg:3")}));
  run.put(Box::messages, name(4), encode(OutboundMessage{"to nowhere", std::nullopt, std::string("tg:404")}));
  run.put(Box::tasks, name(5), encode(ScheduleTask{"p", "interval", "60000", "isolated", std::string("tg:3")}));
  run.put(Box::tasks, name(6), encode(TaskControl{TaskControl::Op::cancel, "t-work"}));
  run.put(Box::tasks, name(7), encode(TaskControl{TaskControl::Op::pause, "t-fam"}));
  run.put(Box::tasks, name(8), encode(RegisterGroup{"mine", "tg:77", std::nullopt}));
  run.put(Box::messages, name(9), encode(TurnDone{"in-1", true, ""}));

  auto got = run.collect(4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(std::get<OutboundMessage>(got[0].payload).text, "reply");
  EXPECT_EQ(std::get<OutboundMessage>(got[1].payload).text, "to own chat");
  EXPECT_EQ(std::get<TaskControl>(got[2].payload).task_id, "t-fam");
  EXPECT_TRUE(std::holds_alternative<TurnDone>(got[3].payload));

  std::map<std::string, std::string> denied = {{"messages-" + name(3), "ipc.send.foreign_chat"},
                                               {"messages-" + name(4), "ipc.send.unknown_chat"},
                                               {"tasks-" + name(5), "ipc.schedule.foreign_chat"},
                                               {"tasks-" + name(6), "ipc.task.foreign"},
                                               {"tasks-" + name(8), "ipc.register.main_only"}};
  for (const auto& [file, rule] : denied) {
    EXPECT_TRUE(fs::exists(run.dir.errors_path() + "/" + file)) << file;
    EXPECT_EQ(run.reason(file).rfind(rule + ": ", 0), 0u) << file << ": " << run.reason(file);
  }
  EXPECT_TRUE(run.empty());

  std::string m = run.metrics.render();
  for (auto rule : {"ipc.send.foreign_chat", "ipc.send.unknown_chat", "ipc.schedule.foreign_chat", "ipc.task.foreign",
                    "ipc.register.main_only"})
    EXPECT_NE(m.find("squadbox_ipc_denied_total{rule=\"" + std::string(rule) + "\"} 1"), std::string::npos)
        << rule << "\n"
        << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_files_total{kind="messages"} 3)"), std::string::npos) << m;
  EXPECT_EQ(m.find("squadbox_ipc_rejected_total"), std::string::npos) << "a denial is not a rejection\n" << m;

  std::lock_guard lock(run.audit.mutex);
  ASSERT_EQ(run.audit.records.size(), denied.size());
  for (const auto& r : run.audit.records) {
    EXPECT_EQ(r.actor, "ipc:family");
    EXPECT_EQ(r.event, "ipc.denied");
    rapidjson::Document doc;
    doc.Parse(r.detail.c_str());
    ASSERT_FALSE(doc.HasParseError()) << r.detail;
    EXPECT_STREQ(doc["namespace"].GetString(), "family");
    std::string box = doc["type"].GetString() == std::string("message") ? "messages-" : "tasks-";
    auto it = denied.find(box + r.subject);
    ASSERT_NE(it, denied.end()) << r.subject;
    EXPECT_EQ(doc["rule"].GetString(), it->second);
  }
}

TEST(IpcPermissionsWatcher, ForgedIdentityFieldsInThePayloadHaveNoEffect) {
  GuardedRun run(IpcIdentity{"family", false});
  // A non-main container claims to be main in every way a payload could.
  run.put(Box::messages, name(1),
          R"({"type":"message","text":"x","chatJid":"tg:3","groupFolder":"main","group":"work",)"
          R"("isMain":true,"identity":"main","namespace":"work","sender":"ipc:main"})");
  run.put(Box::tasks, name(2),
          R"({"type":"register_group","name":"evil","jid":"tg:9","isMain":true,"groupFolder":"main"})");
  run.put(Box::tasks, name(3), R"({"type":"cancel_task","taskId":"t-work","group":"work","isMain":true})");
  run.put(Box::messages, name(4), encode(OutboundMessage{"ok", std::nullopt, std::nullopt}));

  auto got = run.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::get<OutboundMessage>(got[0].payload).text, "ok");
  EXPECT_EQ(run.reason("messages-" + name(1)).rfind("ipc.send.foreign_chat: ", 0), 0u);
  EXPECT_EQ(run.reason("tasks-" + name(2)).rfind("ipc.register.main_only: ", 0), 0u);
  EXPECT_EQ(run.reason("tasks-" + name(3)).rfind("ipc.task.foreign: ", 0), 0u);
  std::lock_guard lock(run.audit.mutex);
  ASSERT_EQ(run.audit.records.size(), 3u);
  for (const auto& r : run.audit.records) EXPECT_EQ(r.actor, "ipc:family");
}

TEST(IpcPermissionsWatcher, MainMayDoMoreButNotRegisterABadName) {
  GuardedRun run(IpcIdentity{"main", true});
  run.put(Box::messages, name(1), encode(OutboundMessage{"to work", std::nullopt, std::string("tg:3")}));
  run.put(Box::tasks, name(2), encode(TaskControl{TaskControl::Op::resume, "t-work"}));
  run.put(Box::tasks, name(3), encode(RegisterGroup{"new-group", "tg:77", std::string("d")}));
  run.put(Box::tasks, name(4), encode(RegisterGroup{std::string(65, 'a'), "tg:78", std::nullopt}));
  run.put(Box::tasks, name(5), encode(RegisterGroup{"_hidden", "tg:79", std::nullopt}));
  run.put(Box::tasks, name(6), encode(UpdateTask{"t-gone", std::string("p"), {}, {}, {}}));

  auto got = run.collect(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(std::get<OutboundMessage>(got[0].payload).chat_jid, "tg:3");
  EXPECT_EQ(std::get<TaskControl>(got[1].payload).task_id, "t-work");
  EXPECT_EQ(std::get<RegisterGroup>(got[2].payload), (RegisterGroup{"new-group", "tg:77", std::string("d")}));
  EXPECT_EQ(run.reason("tasks-" + name(4)).rfind("ipc.register.invalid_name: ", 0), 0u);
  EXPECT_EQ(run.reason("tasks-" + name(5)).rfind("ipc.register.invalid_name: ", 0), 0u);
  EXPECT_EQ(run.reason("tasks-" + name(6)).rfind("ipc.task.not_found: ", 0), 0u);
  std::string m = run.metrics.render();
  EXPECT_NE(m.find(R"(squadbox_ipc_denied_total{rule="ipc.register.invalid_name"} 2)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_denied_total{rule="ipc.task.not_found"} 1)"), std::string::npos) << m;
  std::lock_guard lock(run.audit.mutex);
  ASSERT_EQ(run.audit.records.size(), 3u);
  for (const auto& r : run.audit.records) EXPECT_EQ(r.actor, "ipc:main");
}

TEST(IpcPermissionsWatcher, InvalidFilesAreStillRejectedBeforeAnyPermissionCheck) {
  GuardedRun run(IpcIdentity{"family", false});
  run.put(Box::messages, name(1), "{broken");
  run.put(Box::tasks, name(2), R"({"type":"register_group","name":"x"})");  // no jid
  run.put(Box::messages, name(3), encode(OutboundMessage{"ok", std::nullopt, std::nullopt}));
  auto got = run.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(run.reason("messages-" + name(1)).rfind("ipc.malformed", 0), 0u);
  EXPECT_EQ(run.reason("tasks-" + name(2)).rfind("ipc.invalid_field", 0), 0u);
  std::string m = run.metrics.render();
  EXPECT_EQ(m.find("squadbox_ipc_denied_total"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_rejected_total{reason="invalid_field"} 1)"), std::string::npos) << m;
  std::lock_guard lock(run.audit.mutex);
  EXPECT_TRUE(run.audit.records.empty());
}

TEST(IpcPermissionsWatcher, WithoutAnAuthorizerEveryValidPayloadPasses) {
  sb::test::TempDir tmp{"squadbox-ipcperm"};
  auto dir = IpcDirectory::create(tmp.path() + "/run", {std::nullopt, std::nullopt}).value();
  auto w = IpcWatcher::open(dir.root()).value();
  ASSERT_TRUE(
      write_atomic(dir.path(Box::messages), name(1), encode(OutboundMessage{"x", std::nullopt, std::string("tg:3")}))
          .ok());
  ASSERT_TRUE(write_atomic(dir.path(Box::tasks), name(2), encode(RegisterGroup{"g", "tg:1", std::nullopt})).ok());
  std::vector<Delivery> got;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline)
    for (auto& d : w.wait_for(200ms)) got.push_back(std::move(d));
  EXPECT_EQ(got.size(), 2u);
}

}  // namespace
