#include "runtime/routing/route_decision.hpp"

#include <string>

#include <gtest/gtest.h>

#include "tests/runtime/routing/routing_fixture.hpp"

namespace sb::routing {
namespace {

using test::kMainId;
using test::kQuietId;
using test::kTeamId;

struct Case {
  const char* name;
  MessageView message;
  bool deliver;
  const char* namespace_id;  // deliver
  bool trigger_present;      // deliver
  DropReason reason;         // !deliver
};

void check(const RoutingTable& table, const Case& c) {
  SCOPED_TRACE(c.name);
  auto d = decide(table, c.message);
  ASSERT_EQ(d.deliver, c.deliver) << (d.deliver ? d.namespace_id : std::string(reason_code(d.reason)));
  if (c.deliver) {
    EXPECT_EQ(d.namespace_id, c.namespace_id);
    EXPECT_EQ(d.trigger_present, c.trigger_present);
  } else {
    EXPECT_EQ(reason_code(d.reason), reason_code(c.reason));
  }
}

MessageView dm(const char* channel, const char* bot, const char* jid, const char* sender, const char* text) {
  return MessageView{channel, bot, jid, sender, text, false, false};
}
MessageView group(const char* channel, const char* bot, const char* jid, const char* sender, const char* text,
                  bool mentions = false) {
  return MessageView{channel, bot, jid, sender, text, true, mentions};
}

constexpr auto kNone = DropReason::unmapped_ignored;  // placeholder for delivered cases

TEST(RouteDecision, RulesInOrderWithTheIgnorePolicy) {
  auto table = test::sample_table();
  const Case cases[] = {
      // Sender allowlist first: a blocked sender is dropped whatever the chat.
      {"allowed sender, DM", dm("slack", "main", "slack:CMAIN", "U1", "hi"), true, kMainId, false, kNone},
      {"blocked sender, mapped chat", dm("slack", "main", "slack:CMAIN", "U9", "@Andy hi"), false, "", false,
       DropReason::blocked_sender},
      {"blocked sender, unmapped chat", dm("slack", "main", "slack:CNONE", "U9", "hi"), false, "", false,
       DropReason::blocked_sender},
      {"blocked sender, dangling mapping", dm("slack", "main", "wa:999", "U9", "hi"), false, "", false,
       DropReason::blocked_sender},
      {"blocked: empty sender id", dm("slack", "main", "slack:CMAIN", "", "hi"), false, "", false,
       DropReason::blocked_sender},
      {"other bot has no allowlist", dm("slack", "other", "slack:CTEAM", "U9", "hi"), true, kTeamId, false, kNone},
      // JID -> namespace, else the default policy.
      {"unmapped, ignore policy", dm("telegram", "bot", "tg:555", "7", "hi"), false, "", false,
       DropReason::unmapped_ignored},
      {"empty JID", dm("telegram", "bot", "", "7", "hi"), false, "", false, DropReason::unmapped_ignored},
      {"JID case matters", dm("slack", "x", "slack:cteam", "U1", "hi"), false, "", false, DropReason::unmapped_ignored},
      {"mapping to a vanished namespace", dm("whatsapp", "w", "wa:999", "999", "hi"), false, "", false,
       DropReason::unknown_namespace},
      // Trigger rule: DMs never need it.
      {"DM, no trigger", dm("telegram", "bot", "tg:-100", "7", "do it"), true, kTeamId, false, kNone},
      {"DM, trigger present", dm("telegram", "bot", "tg:-100", "7", "!team do it"), true, kTeamId, true, kNone},
      // Groups of namespaces that require it need a mention or the trigger text.
      {"group, no trigger", group("slack", "x", "slack:CMAIN", "U1", "hello all"), false, "", false,
       DropReason::no_trigger},
      {"group, default trigger", group("slack", "x", "slack:CMAIN", "U1", "hey @andy, help"), true, kMainId, true,
       kNone},
      {"group, trigger glued to a word", group("slack", "x", "slack:CMAIN", "U1", "hey @andyx"), false, "", false,
       DropReason::no_trigger},
      {"group, mention flag", group("slack", "x", "slack:CMAIN", "U1", "<@B1> help", true), true, kMainId, true, kNone},
      {"group, custom trigger", group("telegram", "bot", "tg:-100", "7", "!TEAM status"), true, kTeamId, true, kNone},
      {"group, default trigger on a custom-trigger namespace", group("telegram", "bot", "tg:-100", "7", "@Andy status"),
       false, "", false, DropReason::no_trigger},
      {"group, namespace that needs no trigger", group("discord", "d", "dc:42", "1", "anything"), true, kQuietId, false,
       kNone},
      {"group, empty text", group("slack", "x", "slack:CMAIN", "U1", ""), false, "", false, DropReason::no_trigger},
      // The local chat names its namespace.
      {"local chat", dm("local", "", "local:team", "admin", "hi"), true, kTeamId, false, kNone},
      {"local chat, unknown namespace", dm("local", "", "local:nope", "admin", "hi"), false, "", false,
       DropReason::unknown_namespace},
      {"local chat, empty name", dm("local", "", "local:", "admin", "hi"), false, "", false,
       DropReason::unknown_namespace},
  };
  for (const auto& c : cases) check(table, c);
}

TEST(RouteDecision, DefaultPolicyRoutesUnmappedChats) {
  auto rows = test::sample_rows();
  rows.default_policy = {DefaultPolicy::Kind::route_to_namespace, kQuietId};
  auto table = test::sample_table(rows);
  auto d = decide(table, dm("telegram", "bot", "tg:555", "7", "hi"));
  ASSERT_TRUE(d.deliver);
  EXPECT_EQ(d.namespace_id, kQuietId);
  EXPECT_TRUE(d.via_default);
  // Mapped chats are not affected.
  d = decide(table, dm("telegram", "bot", "tg:-100", "7", "hi"));
  ASSERT_TRUE(d.deliver);
  EXPECT_EQ(d.namespace_id, kTeamId);
  EXPECT_FALSE(d.via_default);
  // The allowlist still comes first.
  d = decide(table, dm("slack", "main", "slack:CNEW", "U9", "hi"));
  EXPECT_FALSE(d.deliver);
  EXPECT_EQ(d.reason, DropReason::blocked_sender);

  // The default namespace's own trigger rule applies to groups.
  rows.default_policy = {DefaultPolicy::Kind::route_to_namespace, kMainId};
  table = test::sample_table(rows);
  d = decide(table, group("telegram", "bot", "tg:555", "7", "hi all"));
  EXPECT_FALSE(d.deliver);
  EXPECT_EQ(d.reason, DropReason::no_trigger);
  d = decide(table, group("telegram", "bot", "tg:555", "7", "hi @Andy"));
  ASSERT_TRUE(d.deliver);
  EXPECT_EQ(d.namespace_id, kMainId);
  EXPECT_TRUE(d.via_default);
}

TEST(RouteDecision, DefaultPolicyToAVanishedNamespace) {
  auto rows = test::sample_rows();
  rows.default_policy = {DefaultPolicy::Kind::route_to_namespace, test::kGoneId};
  auto table = test::sample_table(rows);
  auto d = decide(table, dm("telegram", "bot", "tg:555", "7", "hi"));
  EXPECT_FALSE(d.deliver);
  EXPECT_EQ(d.reason, DropReason::unknown_namespace);
}

TEST(RouteDecision, EmptyTableIgnoresEverything) {
  RoutingTable table;
  auto d = decide(table, group("slack", "main", "slack:C1", "U1", "@Andy hi", true));
  EXPECT_FALSE(d.deliver);
  EXPECT_EQ(d.reason, DropReason::unmapped_ignored);
}

TEST(RouteDecision, FromAnInboundMessage) {
  auto table = test::sample_table();
  messaging::InboundMessage m;
  m.channel = messaging::ChannelKind::slack;
  m.bot = "main";
  m.chat_jid = "slack:CTEAM";
  m.sender_id = "U2";
  m.text = "!team go";
  m.is_group = true;
  auto d = decide(table, m);
  ASSERT_TRUE(d.deliver);
  EXPECT_EQ(d.namespace_id, kTeamId);
  EXPECT_TRUE(d.trigger_present);
  m.sender_id = "U3";
  d = decide(table, m);
  EXPECT_FALSE(d.deliver);
  EXPECT_EQ(d.reason, DropReason::blocked_sender);
  auto v = view_of(m);
  EXPECT_EQ(v.channel, "slack");
  EXPECT_EQ(v.chat_jid, "slack:CTEAM");
}

TEST(RouteDecision, ReasonCodes) {
  EXPECT_EQ(reason_code(DropReason::blocked_sender), "blocked_sender");
  EXPECT_EQ(reason_code(DropReason::unmapped_ignored), "unmapped_ignored");
  EXPECT_EQ(reason_code(DropReason::no_trigger), "no_trigger");
  EXPECT_EQ(reason_code(DropReason::unknown_namespace), "unknown_namespace");
}

TEST(RouteDecision, HostileInput) {
  auto table = test::sample_table();
  // Huge group text with the trigger at the very end.
  std::string huge(2 << 20, 'a');
  huge += " @andy";
  auto d = decide(table, group("slack", "x", "slack:CMAIN", "U1", huge.c_str()));
  EXPECT_TRUE(d.deliver);
  huge.resize(2 << 20);
  d = decide(table, group("slack", "x", "slack:CMAIN", "U1", huge.c_str()));
  EXPECT_FALSE(d.deliver);
  // Embedded NULs and control bytes in keys are just bytes: no match, no crash.
  const std::string jid("slack:CMAIN\0x", 13);
  MessageView v = dm("slack", "x", "", "U1", "hi");
  v.chat_jid = jid;
  EXPECT_EQ(decide(table, v).reason, DropReason::unmapped_ignored);
  const std::string sender("U1\0", 3);
  v = dm("slack", "main", "slack:CMAIN", "", "hi");
  v.sender_id = sender;
  EXPECT_EQ(decide(table, v).reason, DropReason::blocked_sender);
  // Invalid UTF-8 text.
  d = decide(table, group("slack", "x", "slack:CMAIN", "U1", "\xFF\xFE@andy\xC0"));
  EXPECT_TRUE(d.deliver);
  // A JID that looks like a local chat but names a namespace id, not a name.
  EXPECT_EQ(decide(table, dm("local", "", ("local:" + std::string(kTeamId)).c_str(), "a", "hi")).reason,
            DropReason::unknown_namespace);
}

TEST(RouteDecision, ManyNamespaces) {
  RoutingRows rows;
  for (int i = 0; i < 1000; ++i)
    rows.namespaces.push_back(
        {"id-" + std::to_string(i), "ns" + std::to_string(i), i == 0, i % 2 ? "!n" + std::to_string(i) : "", true});
  for (int i = 0; i < 10000; ++i)
    rows.mappings.push_back({"tg:" + std::to_string(i), "id-" + std::to_string(i % 1000)});
  auto table = RoutingTable::build(rows, "Andy");
  ASSERT_TRUE(table);
  for (int i = 0; i < 10000; i += 101) {
    const std::string jid = "tg:" + std::to_string(i);
    const int ns = i % 1000;
    const std::string trigger = ns % 2 ? "!n" + std::to_string(ns) : "@andy";
    auto d = decide(*table, group("telegram", "b", jid.c_str(), "1", (trigger + " hi").c_str()));
    ASSERT_TRUE(d.deliver) << jid;
    EXPECT_EQ(d.namespace_id, "id-" + std::to_string(ns));
    // Another namespace's trigger does not open this one.
    const std::string other = ns % 2 ? "@andy hi" : "!n1 hi";
    d = decide(*table, group("telegram", "b", jid.c_str(), "1", other.c_str()));
    EXPECT_FALSE(d.deliver) << jid;
  }
}

}  // namespace
}  // namespace sb::routing
