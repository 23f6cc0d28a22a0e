// TaskIpc, the IPC task desk, on a real TaskStore and chat directory: a group's
// actions land in the store for its own namespace, another group's tasks and chats are
// refused, and the current_tasks.json snapshot shows what the sender may see.
#include "actors/containers/ipc_task_desk.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "storage/chat_directory.hpp"
#include "storage/namespace_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::actors {
using namespace schedule;
using namespace storage;
namespace {

using ipc::IpcIdentity;
namespace fs = std::filesystem;

const IpcIdentity kFamily{"family", false};
const IpcIdentity kMain{"main", true};

ipc::ScheduleTask schedule_task(std::string prompt, std::string type = "interval", std::string value = "3600000") {
  ipc::ScheduleTask s;
  s.prompt = std::move(prompt);
  s.schedule_type = std::move(type);
  s.schedule_value = std::move(value);
  return s;
}

class TaskIpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.file("squadbox.db");
    auto ns = storage::NamespaceStore::open(db, dir_.path());
    ASSERT_TRUE(ns) << ns.error().message;
    namespaces_ = std::move(*ns);
    for (const char* name : {"main", "family", "work"}) {
      namespaces::NamespacePatch p;
      p.name = name;
      ASSERT_TRUE(namespaces_->create(p));
    }
    const std::pair<const char*, const char*> mappings[] = {{"tg:2", "family"}, {"tg:3", "work"}, {"tg:5", "work"}};
    for (auto [jid, group] : mappings) {
      namespaces::MappingRequest m;
      m.jid = jid;
      m.namespace_ref = group;
      ASSERT_TRUE(namespaces_->map(m));
    }
    TaskStoreOptions o;
    o.default_time_zone = "Europe/Berlin";
    auto s = TaskStore::open(db, o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    tasks_ = std::make_shared<TaskIpc>(store_, open_chat_directory(db));
  }

  Task store_task(const std::string& group, const std::string& prompt) {
    TaskPatch p;
    p.name = prompt;
    p.group = group;
    p.prompt = prompt;
    p.schedule = ScheduleSpec{ScheduleType::interval, "60000"};
    auto t = store_->create(p);
    EXPECT_TRUE(t) << t.error().message;
    return t.ok() ? *t : Task{};
  }

  static std::set<std::string> prompts_of(const std::string& json) {
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    EXPECT_TRUE(doc.IsArray()) << json;
    std::set<std::string> out;
    if (!doc.IsArray()) return out;
    for (const auto& t : doc.GetArray()) out.insert(t["prompt"].GetString());
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<storage::NamespaceStore> namespaces_;
  std::shared_ptr<TaskStore> store_;
  std::shared_ptr<TaskIpc> tasks_;
};

TEST_F(TaskIpcTest, ChatDirectoryReadsTheMappings) {
  auto chats = open_chat_directory(dir_.file("squadbox.db"));
  EXPECT_EQ(chats.owner("tg:3"), "work");
  EXPECT_EQ(chats.owner("local:family"), "family");
  EXPECT_FALSE(chats.owner("tg:404"));
  EXPECT_EQ(chats.chats_of("work"), (std::vector<std::string>{"tg:3", "tg:5"}));
  EXPECT_TRUE(chats.chats_of("main").empty());
  auto missing = open_chat_directory(dir_.file("no-such.db"));
  EXPECT_FALSE(missing.owner("tg:3")) << "an unreadable database knows nothing";
}

TEST_F(TaskIpcTest, NonMainSchedulesForItself) {
  auto s = schedule_task("water the plants");
  s.context_mode = "group";
  auto done = tasks_->apply(kFamily, s);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->action, TaskIpcAction::created);
  EXPECT_EQ(done->task.namespace_name, "family");
  EXPECT_EQ(done->task.name, "ipc: water the plants");
  EXPECT_EQ(done->task.announce_jid, "tg:2") << "family's only chat";
  EXPECT_EQ(done->task.context_mode, ContextMode::group);
  EXPECT_EQ(done->task.time_zone, "Europe/Berlin");
  EXPECT_EQ(done->task.status, TaskStatus::active);
  EXPECT_TRUE(done->task.next_run_ms);
  auto stored = store_->get(done->task.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->namespace_name, "family");

  // Work has two chats: without a targetJid nothing is announced.
  auto work = tasks_->apply(IpcIdentity{"work", false}, schedule_task("report"));
  ASSERT_TRUE(work) << work.error().message;
  EXPECT_EQ(work->task.announce_jid, "");
}

TEST_F(TaskIpcTest, NonMainCannotScheduleForAnotherGroupsChat) {
  auto s = schedule_task("spy");
  s.target_jid = "tg:3";
  auto denied = tasks_->apply(kFamily, s);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ipc::rules::kScheduleForeignChat);
  EXPECT_TRUE(store_->list()->empty());
}

TEST_F(TaskIpcTest, NonMainCannotManageAnotherGroupsTask) {
  auto theirs = store_task("work", "work task");
  auto mine = store_task("family", "family task");
  using Op = ipc::TaskControl::Op;

  // The watcher's check, with the store-backed ownership.
  auto ownership = ipc_ownership(tasks_);
  auto decision = ipc::authorize(kFamily, *ownership, ipc::TaskControl{Op::pause, theirs.id});
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, ipc::rules::kTaskForeign);
  EXPECT_EQ(decision.reason.find("work"), std::string::npos) << "reasons never name another group";
  EXPECT_TRUE(ipc::authorize(kFamily, *ownership, ipc::TaskControl{Op::pause, mine.id}).allowed);

  // And TaskIpc's own.
  for (auto op : {Op::pause, Op::resume, Op::cancel}) {
    auto r = tasks_->apply(kFamily, ipc::TaskControl{op, theirs.id});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ipc::rules::kTaskForeign);
  }
  auto upd = tasks_->apply(kFamily, ipc::UpdateTask{theirs.id, std::string("hijack"), {}, {}, {}});
  ASSERT_FALSE(upd);
  EXPECT_EQ(upd.error().code, ipc::rules::kTaskForeign);
  auto after = store_->get(theirs.id);
  ASSERT_TRUE(after) << "still there";
  EXPECT_EQ(after->status, TaskStatus::active);
  EXPECT_EQ(after->prompt, "work task");

  // Its own task: pause, resume, update, cancel.
  auto paused = tasks_->apply(kFamily, ipc::TaskControl{Op::pause, mine.id});
  ASSERT_TRUE(paused) << paused.error().message;
  EXPECT_EQ(paused->action, TaskIpcAction::paused);
  EXPECT_EQ(paused->task.status, TaskStatus::paused);
  auto resumed = tasks_->apply(kFamily, ipc::TaskControl{Op::resume, mine.id});
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->task.status, TaskStatus::active);
  auto updated = tasks_->apply(kFamily, ipc::UpdateTask{mine.id, std::string("new"), std::string("cron"),
                                                        std::string("0 8 * * *"), std::string("group")});
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->task.prompt, "new");
  EXPECT_EQ(updated->task.schedule.value, "0 8 * * *");
  EXPECT_EQ(updated->task.context_mode, ContextMode::group);
  auto cancelled = tasks_->apply(kFamily, ipc::TaskControl{Op::cancel, mine.id});
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->action, TaskIpcAction::cancelled);
  EXPECT_EQ(store_->get(mine.id).error().code, "tasks.not_found");
}

TEST_F(TaskIpcTest, MainManagesAnyTaskAndSchedulesIntoTheChatsGroup) {
  auto theirs = store_task("work", "work task");
  using Op = ipc::TaskControl::Op;
  auto paused = tasks_->apply(kMain, ipc::TaskControl{Op::pause, theirs.id});
  ASSERT_TRUE(paused) << paused.error().message;
  EXPECT_EQ(paused->task.status, TaskStatus::paused);
  auto updated = tasks_->apply(kMain, ipc::UpdateTask{theirs.id, std::string("by main"), {}, {}, {}});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->task.namespace_name, "work") << "an update never moves a task";
  ASSERT_TRUE(tasks_->apply(kMain, ipc::TaskControl{Op::cancel, theirs.id}));
  EXPECT_EQ(store_->get(theirs.id).error().code, "tasks.not_found");

  auto s = schedule_task("for work");
  s.target_jid = "tg:5";
  auto created = tasks_->apply(kMain, s);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->task.namespace_name, "work");
  EXPECT_EQ(created->task.announce_jid, "tg:5");
}

TEST_F(TaskIpcTest, UnknownTaskAndNonTaskPayloadsAreErrors) {
  using Op = ipc::TaskControl::Op;
  for (const auto& who : {kFamily, kMain}) {
    auto r = tasks_->apply(who, ipc::TaskControl{Op::cancel, "no-such-task"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ipc::rules::kTaskNotFound);
  }
  auto reg = tasks_->apply(kMain, ipc::RegisterGroup{"g", "tg:7", {}});
  ASSERT_FALSE(reg);
  EXPECT_EQ(reg.error().code, "ipc.not_a_task");
}

TEST_F(TaskIpcTest, BadScheduleCreatesNothing) {
  auto r = tasks_->apply(kFamily, schedule_task("x", "cron", "0 9 * * mon-xyz"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_field");
  EXPECT_TRUE(r.error().message.starts_with("schedule.value: cron")) << r.error().message;
  auto past = tasks_->apply(kFamily, schedule_task("x", "once", "2001-01-01T00:00:00Z"));
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().message, "schedule.value: has no fire time after now");
  EXPECT_TRUE(store_->list()->empty());
}

TEST_F(TaskIpcTest, SnapshotShowsWhatTheSenderMaySee) {
  store_task("work", "work task");
  store_task("family", "family task");
  store_task("main", "main task");
  auto family = tasks_->snapshot_json(kFamily);
  ASSERT_TRUE(family) << family.error().message;
  EXPECT_EQ(prompts_of(*family), (std::set<std::string>{"family task"}));
  auto main = tasks_->snapshot_json(kMain);
  ASSERT_TRUE(main);
  EXPECT_EQ(prompts_of(*main), (std::set<std::string>{"work task", "family task", "main task"}));
  auto nobody = tasks_->snapshot_json(IpcIdentity{"ghost", false});
  ASSERT_TRUE(nobody) << nobody.error().message;
  EXPECT_EQ(*nobody, "[]");
}

TEST_F(TaskIpcTest, SnapshotFileIsReplacedAtomically) {
  const std::string root = dir_.file("ipc");
  fs::create_directories(root);
  const std::string path = root + "/current_tasks.json";
  auto read = [&] {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  ASSERT_TRUE(tasks_->write_snapshot(root, kFamily));
  EXPECT_EQ(read(), "[]");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);

  store_task("family", "family task");
  {
    std::ofstream stale(path + ".tmp");
    stale << "left by a crash";
  }
  ASSERT_TRUE(tasks_->write_snapshot(root, kFamily));
  EXPECT_EQ(prompts_of(read()), (std::set<std::string>{"family task"}));
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  auto missing = tasks_->write_snapshot(dir_.file("no/such/dir"), kFamily);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "tasks.snapshot_failed");
}

}  // namespace
}  // namespace sb::actors
