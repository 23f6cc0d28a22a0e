// Scheduling from inside containers: the pure payload -> TaskPatch mapping (every payload
// kind, bad schedules naming the field), then TaskIpc on a real TaskStore and chat
// mappings in a temp SQLite file: a non-main group schedules for itself and cannot touch
// another group's tasks (also through ipc::authorize with the store-backed ownership),
// main manages any, and current_tasks.json shows each sender what it may see.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "runtime/namespaces/namespace_store.hpp"
#include "runtime/scheduling/chat_directory.hpp"
#include "runtime/scheduling/ipc_tasks.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::schedule {
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

// ---- pure mapping -------------------------------------------------------------------

TEST(IpcTaskName, IsThePromptsFirstFortyCharacters) {
  EXPECT_EQ(ipc_task_name("water the plants"), "ipc: water the plants");
  EXPECT_EQ(ipc_task_name(std::string(50, 'a')), "ipc: " + std::string(40, 'a') + "\xE2\x80\xA6");
  EXPECT_EQ(ipc_task_name(std::string(40, 'b')), "ipc: " + std::string(40, 'b'));
  EXPECT_EQ(ipc_task_name("  line one\nline\ttwo  "), "ipc: line one line two");
  EXPECT_EQ(ipc_task_name(" \n "), "ipc: task");
  // 2-byte characters: 40 of them fit; 3-byte ones stop at 100 bytes, never mid-character.
  std::string umlauts;
  for (int i = 0; i < 50; ++i) umlauts += "\xC3\xA4";
  EXPECT_EQ(ipc_task_name(umlauts), "ipc: " + umlauts.substr(0, 80) + "\xE2\x80\xA6");
  std::string euros;
  for (int i = 0; i < 50; ++i) euros += "\xE2\x82\xAC";
  auto name = ipc_task_name(euros);
  EXPECT_EQ(name, "ipc: " + euros.substr(0, 99) + "\xE2\x80\xA6");
  EXPECT_LE(name.size(), kMaxTaskNameBytes);
}

TEST(ScheduleTarget, OwnGroupAndTheOnlyMappedChatByDefault) {
  auto one = schedule_target(kFamily, std::nullopt, std::nullopt, {"tg:2"});
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->group, "family");
  EXPECT_EQ(one->announce_jid, "tg:2");
  auto two = schedule_target(kFamily, std::nullopt, std::nullopt, {"tg:2", "tg:9"});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->announce_jid, "") << "ambiguous: not announced";
  auto none = schedule_target(kFamily, std::nullopt, std::nullopt, {});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->announce_jid, "");
}

TEST(ScheduleTarget, TargetJidOfTheSendersOwnChat) {
  auto t = schedule_target(kFamily, std::string("tg:2"), std::string("family"), {"tg:2", "tg:9"});
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->group, "family");
  EXPECT_EQ(t->announce_jid, "tg:2");
}

TEST(ScheduleTarget, NonMainNeverLandsInAnotherGroup) {
  auto foreign = schedule_target(kFamily, std::string("tg:3"), std::string("work"), {});
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ipc::rules::kScheduleForeignChat);
  auto unknown = schedule_target(kFamily, std::string("tg:404"), std::nullopt, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ipc::rules::kScheduleUnknownChat);
}

TEST(ScheduleTarget, MainSchedulesIntoTheChatsOwnerOrItself) {
  auto owned = schedule_target(kMain, std::string("tg:3"), std::string("work"), {});
  ASSERT_TRUE(owned);
  EXPECT_EQ(owned->group, "work");
  EXPECT_EQ(owned->announce_jid, "tg:3");
  auto unmapped = schedule_target(kMain, std::string("tg:404"), std::nullopt, {});
  ASSERT_TRUE(unmapped);
  EXPECT_EQ(unmapped->group, "main");
  EXPECT_EQ(unmapped->announce_jid, "tg:404");
}

TEST(ScheduleTarget, MalformedTargetJidNamesTheField) {
  auto bad = schedule_target(kMain, std::string("tg 3"), std::nullopt, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_field");
  EXPECT_TRUE(bad.error().message.starts_with("targetJid: ")) << bad.error().message;
}

TEST(SchedulePatch, MapsEveryField) {
  auto s = schedule_task("Summarise my inbox", "cron", "0 9 * * 1-5");
  s.context_mode = "group";
  auto p = schedule_patch(s, ScheduleTarget{"family", "tg:2"}, "Europe/Berlin");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->name, "ipc: Summarise my inbox");
  EXPECT_EQ(p->group, "family");
  EXPECT_EQ(p->prompt, "Summarise my inbox");
  ASSERT_TRUE(p->schedule);
  EXPECT_EQ(p->schedule->type, ScheduleType::cron);
  EXPECT_EQ(p->schedule->value, "0 9 * * 1-5");
  EXPECT_EQ(p->context_mode, ContextMode::group);
  EXPECT_EQ(p->announce_jid, "tg:2");
  EXPECT_FALSE(p->time_zone) << "the store's default zone applies";
  EXPECT_FALSE(p->enabled);

  auto isolated = schedule_patch(schedule_task("x"), ScheduleTarget{"family", ""}, "UTC");
  ASSERT_TRUE(isolated);
  EXPECT_EQ(isolated->context_mode, ContextMode::isolated);
  EXPECT_FALSE(isolated->announce_jid) << "no chat: not announced";
}

TEST(SchedulePatch, BadInputNamesTheFieldLikeTheApi) {
  const ScheduleTarget target{"family", ""};
  auto expect_error = [&](const ipc::ScheduleTask& s, const std::string& prefix) {
    auto p = schedule_patch(s, target, "UTC");
    ASSERT_FALSE(p) << prefix;
    EXPECT_EQ(p.error().code, "invalid_field");
    EXPECT_TRUE(p.error().message.starts_with(prefix)) << p.error().message;
  };
  expect_error(schedule_task("x", "cron", "61 * * * *"), "schedule.value: ");
  expect_error(schedule_task("x", "cron", "* * *"), "schedule.value: ");
  expect_error(schedule_task("x", "interval", "0"), "schedule.value: ");
  expect_error(schedule_task("x", "once", "tomorrow"), "schedule.value: ");
  expect_error(schedule_task("x", "hourly", "1"), "schedule.type: must be cron, interval or once");
  expect_error(schedule_task(""), "prompt: must not be empty");
  expect_error(schedule_task(std::string(kMaxPromptBytes + 1, 'p')), "prompt: longer than");
  auto mode = schedule_task("x");
  mode.context_mode = "shared";
  expect_error(mode, "contextMode: must be group or isolated");
}

TEST(UpdatePatch, PromptScheduleAndContextMode) {
  ipc::UpdateTask u;
  u.task_id = "t-1";
  u.prompt = "new prompt";
  auto p = update_patch(u, "UTC");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->prompt, "new prompt");
  EXPECT_FALSE(p->schedule);
  EXPECT_FALSE(p->name) << "the name stays";

  u.prompt.reset();
  u.schedule_type = "interval";
  u.schedule_value = "60000";
  u.context_mode = "group";
  p = update_patch(u, "UTC");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(p->schedule);
  EXPECT_EQ(p->schedule->type, ScheduleType::interval);
  EXPECT_EQ(p->schedule->value, "60000");
  EXPECT_EQ(p->context_mode, ContextMode::group);
}

TEST(UpdatePatch, BadInputNamesTheField) {
  ipc::UpdateTask u;
  u.task_id = "t-1";
  auto nothing = update_patch(u, "UTC");
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().message, "body: nothing to change");
  u.schedule_type = "cron";
  auto half = update_patch(u, "UTC");
  ASSERT_FALSE(half);
  EXPECT_TRUE(half.error().message.starts_with("schedule: ")) << half.error().message;
  u.schedule_value = "0 25 * * *";
  auto bad = update_patch(u, "UTC");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("schedule.value: cron")) << bad.error().message;
  u.schedule_type.reset();
  u.schedule_value.reset();
  u.prompt = "";
  auto empty = update_patch(u, "UTC");
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().message.starts_with("prompt: ")) << empty.error().message;
}

TEST(TaskAction, OfEveryPayloadKind) {
  using Op = ipc::TaskControl::Op;
  EXPECT_EQ(task_action_of(schedule_task("x")), TaskIpcAction::created);
  EXPECT_EQ(task_action_of(ipc::TaskControl{Op::pause, "t"}), TaskIpcAction::paused);
  EXPECT_EQ(task_action_of(ipc::TaskControl{Op::resume, "t"}), TaskIpcAction::resumed);
  EXPECT_EQ(task_action_of(ipc::TaskControl{Op::cancel, "t"}), TaskIpcAction::cancelled);
  EXPECT_EQ(task_action_of(ipc::UpdateTask{"t", std::string("p"), {}, {}, {}}), TaskIpcAction::updated);
  EXPECT_FALSE(task_action_of(ipc::RegisterGroup{"g", "tg:1", {}}));
  EXPECT_FALSE(task_action_of(ipc::OutboundMessage{"hi", {}, {}}));
  EXPECT_FALSE(task_action_of(ipc::TurnDone{"i", true, ""}));

  TaskIpcOutcome o{TaskIpcAction::cancelled, Task{}};
  o.task.name = "ipc: \"quoted\"";
  o.task.namespace_name = "work";
  EXPECT_EQ(audit_event(o), "task.cancelled");
  EXPECT_EQ(audit_detail(kMain, o, "1-2.json"),
            R"({"namespace":"main","task":"ipc: \"quoted\"","group":"work","status":"active","file":"1-2.json"})");
}

// ---- TaskIpc on a real store --------------------------------------------------------

class TaskIpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.file("squadbox.db");
    auto ns = namespaces::NamespaceStore::open(db, dir_.path());
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
  std::unique_ptr<namespaces::NamespaceStore> namespaces_;
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
  { std::ofstream stale(path + ".tmp"); stale << "left by a crash"; }
  ASSERT_TRUE(tasks_->write_snapshot(root, kFamily));
  EXPECT_EQ(prompts_of(read()), (std::set<std::string>{"family task"}));
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  auto missing = tasks_->write_snapshot(dir_.file("no/such/dir"), kFamily);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "tasks.snapshot_failed");
}

}  // namespace
}  // namespace sb::schedule
