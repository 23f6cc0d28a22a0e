// IPC permissions, the pure rules: one table row per rule, allowed and denied, for the
// main group and a non-main group; the group-name rule's edge cases; the audit detail.
#include "runtime/ipc/ipc_permissions.hpp"

#include <map>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace {

using namespace sb::ipc;

// tg:1 main's chat, tg:2 family's, tg:3 work's; tasks likewise; anything else unknown.
IpcOwnership ownership() {
  static const std::map<std::string, std::string> chats = {{"tg:1", "main"}, {"tg:2", "family"}, {"tg:3", "work"}};
  static const std::map<std::string, std::string> tasks = {{"t-main", "main"}, {"t-fam", "family"}, {"t-work", "work"}};
  auto in = [](const std::map<std::string, std::string>& m) {
    return [&m](const std::string& k) -> std::optional<std::string> {
      auto it = m.find(k);
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
  };
  return IpcOwnership{in(chats), in(tasks)};
}

const IpcIdentity kMain{"main", true};
const IpcIdentity kFamily{"family", false};

struct Row {
  const char* what;
  IpcIdentity sender;
  Payload payload;
  bool allowed;
  std::string_view rule;
};

OutboundMessage send_to(std::optional<std::string> jid) {
  return OutboundMessage{"hi", std::nullopt, std::move(jid)};
}
ScheduleTask schedule_for(std::optional<std::string> jid) {
  return ScheduleTask{"p", "cron", "0 9 * * *", "isolated", std::move(jid)};
}
UpdateTask update(std::string id) {
  return UpdateTask{std::move(id), std::string("new"), {}, {}, {}};
}

void check(const std::vector<Row>& rows) {
  const auto own = ownership();
  for (const auto& r : rows) {
    auto d = authorize(r.sender, own, r.payload);
    EXPECT_EQ(d.allowed, r.allowed) << r.what << ": " << d.rule << " " << d.reason;
    EXPECT_EQ(d.rule, r.rule) << r.what;
    EXPECT_FALSE(d.reason.empty()) << r.what;
  }
}

TEST(IpcPermissions, SendOnlyToOwnChatsUnlessMain) {
  check({
      {"non-main reply (no chatJid)", kFamily, send_to(std::nullopt), true, "ipc.send.reply"},
      {"non-main own chat", kFamily, send_to("tg:2"), true, "ipc.send.own_chat"},
      {"non-main foreign chat", kFamily, send_to("tg:3"), false, "ipc.send.foreign_chat"},
      {"non-main main's chat", kFamily, send_to("tg:1"), false, "ipc.send.foreign_chat"},
      {"non-main unknown chat", kFamily, send_to("tg:404"), false, "ipc.send.unknown_chat"},
      {"main reply", kMain, send_to(std::nullopt), true, "ipc.send.reply"},
      {"main own chat", kMain, send_to("tg:1"), true, "ipc.send.own_chat"},
      {"main other group's chat", kMain, send_to("tg:3"), true, "ipc.send.main"},
      {"main unknown chat", kMain, send_to("slack:C999"), true, "ipc.send.main"},
  });
}

TEST(IpcPermissions, ScheduleOnlyForItselfUnlessMain) {
  check({
      {"non-main, own chat by default", kFamily, schedule_for(std::nullopt), true, "ipc.schedule.own_chat"},
      {"non-main, own chat", kFamily, schedule_for("tg:2"), true, "ipc.schedule.own_chat"},
      {"non-main, foreign chat", kFamily, schedule_for("tg:3"), false, "ipc.schedule.foreign_chat"},
      {"non-main, unknown chat", kFamily, schedule_for("tg:404"), false, "ipc.schedule.unknown_chat"},
      {"main, default", kMain, schedule_for(std::nullopt), true, "ipc.schedule.own_chat"},
      {"main, other group's chat", kMain, schedule_for("tg:2"), true, "ipc.schedule.main"},
      {"main, unknown chat", kMain, schedule_for("tg:404"), true, "ipc.schedule.main"},
  });
}

TEST(IpcPermissions, TaskControlOnlyOwnTasksUnlessMain) {
  std::vector<Row> rows;
  for (auto op : {TaskControl::Op::pause, TaskControl::Op::resume, TaskControl::Op::cancel}) {
    rows.push_back({"non-main own task", kFamily, TaskControl{op, "t-fam"}, true, "ipc.task.own"});
    rows.push_back({"non-main foreign task", kFamily, TaskControl{op, "t-work"}, false, "ipc.task.foreign"});
    rows.push_back({"non-main main's task", kFamily, TaskControl{op, "t-main"}, false, "ipc.task.foreign"});
    rows.push_back({"non-main unknown task", kFamily, TaskControl{op, "t-404"}, false, "ipc.task.not_found"});
    rows.push_back({"main own task", kMain, TaskControl{op, "t-main"}, true, "ipc.task.own"});
    rows.push_back({"main other group's task", kMain, TaskControl{op, "t-work"}, true, "ipc.task.main"});
    rows.push_back({"main unknown task", kMain, TaskControl{op, "t-404"}, false, "ipc.task.not_found"});
  }
  check(rows);
}

TEST(IpcPermissions, UpdateTaskOnlyOwnTasksUnlessMain) {
  check({
      {"non-main own task", kFamily, update("t-fam"), true, "ipc.task.own"},
      {"non-main foreign task", kFamily, update("t-work"), false, "ipc.task.foreign"},
      {"non-main unknown task", kFamily, update("nope"), false, "ipc.task.not_found"},
      {"main other group's task", kMain, update("t-fam"), true, "ipc.task.main"},
      {"main unknown task", kMain, update("nope"), false, "ipc.task.not_found"},
  });
}

TEST(IpcPermissions, RegisterGroupMainOnlyWithAValidName) {
  check({
      {"main, valid name", kMain, RegisterGroup{"family-2", "tg:9", std::nullopt}, true, "ipc.register.main"},
      {"main, invalid name", kMain, RegisterGroup{"../etc", "tg:9", std::nullopt}, false, "ipc.register.invalid_name"},
      {"main, 65 chars", kMain, RegisterGroup{std::string(65, 'a'), "tg:9", std::nullopt}, false,
       "ipc.register.invalid_name"},
      {"non-main, valid name", kFamily, RegisterGroup{"sneaky", "tg:9", std::nullopt}, false, "ipc.register.main_only"},
      {"non-main, invalid name", kFamily, RegisterGroup{"-x", "tg:9", std::nullopt}, false, "ipc.register.main_only"},
  });
}

TEST(IpcPermissions, TurnDoneAlwaysPassesAnInputNever) {
  check({
      {"non-main turn_done", kFamily, TurnDone{"in-1", true, ""}, true, "ipc.turn_done"},
      {"main turn_done", kMain, TurnDone{"in-1", false, "boom"}, true, "ipc.turn_done"},
      {"input from a container", kMain, InputMessage{"i", "x", std::nullopt}, false, "ipc.wrong_direction"},
  });
}

TEST(IpcPermissions, ToolRefusedReportsAlwaysPass) {
  check({
      {"non-main tool_refused", kFamily, ToolRefused{"bash", std::string("in-1")}, true, "ipc.tool_refused"},
      {"main tool_refused", kMain, ToolRefused{"x", std::nullopt}, true, "ipc.tool_refused"},
  });
}

TEST(IpcPermissions, IdentityIsTheCallersNotANameLookalike) {
  const auto own = ownership();
  // A non-main group that happens to be called "main" is still not main, and owns
  // nothing of main's: ownership compares the exact group name.
  IpcIdentity fake_main{"main-2", false};
  EXPECT_FALSE(authorize(fake_main, own, send_to("tg:1")).allowed);
  EXPECT_FALSE(authorize(IpcIdentity{"Family", false}, own, send_to("tg:2")).allowed);
  EXPECT_FALSE(authorize(fake_main, own, RegisterGroup{"x", "tg:9", std::nullopt}).allowed);
}

TEST(IpcPermissions, UnsetOwnershipKnowsNothingSoDeniesByDefault) {
  IpcOwnership none;
  EXPECT_EQ(authorize(kFamily, none, send_to("tg:2")).rule, "ipc.send.unknown_chat");
  EXPECT_EQ(authorize(kFamily, none, schedule_for("tg:2")).rule, "ipc.schedule.unknown_chat");
  EXPECT_EQ(authorize(kFamily, none, TaskControl{TaskControl::Op::cancel, "t-fam"}).rule, "ipc.task.not_found");
  EXPECT_EQ(authorize(kMain, none, update("t-fam")).rule, "ipc.task.not_found");
  EXPECT_TRUE(authorize(kFamily, none, send_to(std::nullopt)).allowed);
  EXPECT_TRUE(authorize(kMain, none, send_to("tg:2")).allowed);
}

TEST(IpcPermissions, ReasonsNeverNameAnotherGroup) {
  // errors/ is readable by the container: a denial must not tell it who owns the chat.
  IpcOwnership own{[](const std::string&) -> std::optional<std::string> { return "secret-squad"; },
                   [](const std::string&) -> std::optional<std::string> { return "secret-squad"; }};
  for (const Payload& p : std::vector<Payload>{send_to("tg:3"), schedule_for("tg:3"),
                                               TaskControl{TaskControl::Op::cancel, "t-1"}, update("t-1")}) {
    auto d = authorize(kFamily, own, p);
    ASSERT_FALSE(d.allowed) << type_name(p);
    EXPECT_EQ(d.reason.find("secret-squad"), std::string::npos) << d.reason;
  }
}

TEST(IpcGroupName, MatchesTheReferenceRegex) {
  EXPECT_TRUE(is_valid_group_name("a"));
  EXPECT_TRUE(is_valid_group_name("Z"));
  EXPECT_TRUE(is_valid_group_name("0"));
  EXPECT_TRUE(is_valid_group_name("family_chat-2"));
  EXPECT_TRUE(is_valid_group_name("a-"));
  EXPECT_TRUE(is_valid_group_name("a_"));
  EXPECT_TRUE(is_valid_group_name(std::string(64, 'x')));
  EXPECT_TRUE(is_valid_group_name("9" + std::string(63, '-')));

  EXPECT_FALSE(is_valid_group_name(""));
  EXPECT_FALSE(is_valid_group_name(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_group_name("-a"));
  EXPECT_FALSE(is_valid_group_name("_a"));
  EXPECT_FALSE(is_valid_group_name(".."));
  EXPECT_FALSE(is_valid_group_name("."));
  EXPECT_FALSE(is_valid_group_name("a.b"));
  EXPECT_FALSE(is_valid_group_name("a/b"));
  EXPECT_FALSE(is_valid_group_name("../main"));
  EXPECT_FALSE(is_valid_group_name("a b"));
  EXPECT_FALSE(is_valid_group_name("a:b"));
  EXPECT_FALSE(is_valid_group_name("a\n"));
  EXPECT_FALSE(is_valid_group_name(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_group_name("caf\xc3\xa9"));        // "café"
  EXPECT_FALSE(is_valid_group_name("\xc3\xa9t\xc3\xa9"));  // "été": non-ASCII first byte
  EXPECT_FALSE(is_valid_group_name("\xef\xbc\xa1"));       // fullwidth 'A'
  EXPECT_FALSE(is_valid_group_name("m\xd0\xb0in"));        // Cyrillic 'а' look-alike
}

TEST(IpcPermissions, DenialDetailIsJsonWithTheNamespace) {
  IpcDecision d{false, rules::kSendForeignChat, "chat \"tg:3\" belongs to another group"};
  std::string json = denial_detail("fam\"ily", d, "message");
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["namespace"].GetString(), "fam\"ily");
  EXPECT_STREQ(doc["rule"].GetString(), "ipc.send.foreign_chat");
  EXPECT_STREQ(doc["type"].GetString(), "message");
  EXPECT_STREQ(doc["reason"].GetString(), "chat \"tg:3\" belongs to another group");
}

}  // namespace
