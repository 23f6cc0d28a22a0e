// Scheduling from inside containers: the pure payload -> TaskPatch mapping (every payload
// kind, bad schedules naming the field), then TaskIpc on a real TaskStore and chat
// mappings in a temp SQLite file: a non-main group schedules for itself and cannot touch
// another group's tasks (also through ipc::authorize with the store-backed ownership),
// main manages any, and current_tasks.json shows each sender what it may see.
#include "runtime/schedule/ipc_tasks.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

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

}  // namespace
}  // namespace sb::schedule
