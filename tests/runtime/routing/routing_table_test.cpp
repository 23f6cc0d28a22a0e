#include "runtime/routing/routing_table.hpp"

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "tests/runtime/routing/routing_fixture.hpp"

namespace sb::routing {
namespace {

using test::kGoneId;
using test::kMainId;
using test::kQuietId;
using test::kTeamId;

TEST(RoutingTable, EmptyTableAllowsEveryoneAndIgnoresEverything) {
  RoutingTable t;
  EXPECT_EQ(t.namespace_count(), 0u);
  EXPECT_EQ(t.main_namespace(), nullptr);
  EXPECT_TRUE(t.sender_allowed("slack", "main", "anyone"));
  EXPECT_FALSE(t.lookup_jid("slack:C1").mapped);
  EXPECT_EQ(t.default_policy().kind, DefaultPolicy::Kind::ignore);
}

TEST(RoutingTable, IndexesRows) {
  auto t = test::sample_table();
  EXPECT_EQ(t.namespace_count(), 3u);
  EXPECT_EQ(t.mapping_count(), 5u);
  EXPECT_EQ(t.dangling_references(), 1u);  // wa:999
  ASSERT_NE(t.main_namespace(), nullptr);
  EXPECT_EQ(t.main_namespace()->id, kMainId);
  ASSERT_NE(t.find_namespace(kTeamId), nullptr);
  EXPECT_EQ(t.find_namespace(kTeamId)->name, "team");
  EXPECT_EQ(t.find_namespace_by_name("quiet")->id, kQuietId);
  EXPECT_EQ(t.find_namespace("nope"), nullptr);
  EXPECT_EQ(t.find_namespace(""), nullptr);
  EXPECT_EQ(t.find_namespace_by_name("Team"), nullptr);  // names are exact

  auto hit = t.lookup_jid("tg:-100");
  EXPECT_TRUE(hit.mapped);
  ASSERT_NE(hit.target, nullptr);
  EXPECT_EQ(hit.target->id, kTeamId);
  auto dangling = t.lookup_jid("wa:999");
  EXPECT_TRUE(dangling.mapped);
  EXPECT_EQ(dangling.target, nullptr);
  EXPECT_EQ(dangling.namespace_id, kGoneId);
  EXPECT_FALSE(t.lookup_jid("slack:cmain").mapped);  // JIDs are exact
  EXPECT_FALSE(t.lookup_jid("").mapped);
  EXPECT_TRUE(t.is_mapped_to("slack:CTEAM", kTeamId));
  EXPECT_FALSE(t.is_mapped_to("slack:CTEAM", kMainId));
}

TEST(RoutingTable, EffectiveTriggers) {
  auto rows = test::sample_rows();
  rows.namespaces[1].trigger = "  !Team \t";  // trimmed
  auto t = RoutingTable::build(rows, " Andy ");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->find_namespace(kMainId)->trigger, "@Andy");
  EXPECT_EQ(t->find_namespace(kMainId)->folded_trigger, "@andy");
  EXPECT_EQ(t->find_namespace(kTeamId)->trigger, "!Team");
  EXPECT_EQ(t->find_namespace(kTeamId)->folded_trigger, "!team");
  rows.namespaces[2].trigger = "   ";  // blank means the default
  t = RoutingTable::build(rows, "Andy");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->find_namespace(kQuietId)->trigger, "@Andy");
}

TEST(RoutingTable, SenderAllowlists) {
  auto t = test::sample_table();
  struct Case {
    const char* channel;
    const char* bot;
    const char* sender;
    bool allowed;
  };
  const Case cases[] = {
      {"slack", "main", "U1", true},
      {"slack", "main", "U2", true},
      {"slack", "main", "U3", false},
      {"slack", "main", "u1", false},  // ids are case-sensitive
      {"slack", "main", "", false},    // no id is not a listed id
      {"slack", "main", "U1 ", false},
      {"slack", "other", "U3", true},   // no row for this bot
      {"discord", "main", "U3", true},  // the list is per (channel, bot)
      {"telegram", "bot", "", true},    // explicit everyone
      {"", "", "", true},
  };
  for (const auto& c : cases)
    EXPECT_EQ(t.sender_allowed(c.channel, c.bot, c.sender), c.allowed) << c.channel << "/" << c.bot << " " << c.sender;
}

TEST(RoutingTable, DefaultPolicyResolution) {
  auto rows = test::sample_rows();
  rows.default_policy = {DefaultPolicy::Kind::route_to_namespace, kQuietId};
  auto t = test::sample_table(rows);
  ASSERT_NE(t.default_namespace(), nullptr);
  EXPECT_EQ(t.default_namespace()->id, kQuietId);
  EXPECT_EQ(t.dangling_references(), 1u);

  rows.default_policy = {DefaultPolicy::Kind::route_to_namespace, kGoneId};
  t = test::sample_table(rows);
  EXPECT_EQ(t.default_namespace(), nullptr);
  EXPECT_EQ(t.dangling_references(), 2u);

  rows.default_policy = {DefaultPolicy::Kind::ignore, kQuietId};  // the id is irrelevant
  t = test::sample_table(rows);
  EXPECT_EQ(t.default_namespace(), nullptr);
  EXPECT_EQ(t.default_policy().namespace_id, "");
}

TEST(RoutingTable, RefusesBadRows) {
  struct Case {
    const char* name;
    std::function<void(RoutingRows&)> mutate;
    const char* message_part;
  };
  const Case cases[] = {
      {"empty namespace id", [](RoutingRows& r) { r.namespaces[1].id = ""; }, "empty id"},
      {"empty namespace name", [](RoutingRows& r) { r.namespaces[1].name = ""; }, "empty name"},
      {"duplicate id", [](RoutingRows& r) { r.namespaces[2].id = kTeamId; }, "duplicate namespace id"},
      {"duplicate name", [](RoutingRows& r) { r.namespaces[2].name = "team"; }, "duplicate namespace name"},
      {"two mains", [](RoutingRows& r) { r.namespaces[2].is_main = true; }, "more than one main"},
      {"empty JID", [](RoutingRows& r) { r.mappings[0].jid = ""; }, "empty JID"},
      {"empty mapping target", [](RoutingRows& r) { r.mappings[0].namespace_id = ""; }, "empty namespace id"},
      {"JID mapped twice",
       [](RoutingRows& r) {
         r.mappings.push_back({"dc:42", kMainId});
       },
       "mapped more than once"},
      {"same JID, same ns",
       [](RoutingRows& r) {
         r.mappings.push_back({"dc:42", kQuietId});
       },
       "mapped more than once"},
      {"allowlist without bot", [](RoutingRows& r) { r.allowlists[0].bot = ""; }, "empty channel or bot"},
      {"allowlist without channel", [](RoutingRows& r) { r.allowlists[0].channel = ""; }, "empty channel or bot"},
      {"empty sender", [](RoutingRows& r) { r.allowlists[0].senders.push_back(""); }, "empty sender id"},
      {"allowlist twice",
       [](RoutingRows& r) {
         r.allowlists.push_back({"slack", "main", true, {}});
       },
       "more than one sender allowlist"},
      {"default to empty id",
       [](RoutingRows& r) {
         r.default_policy = {DefaultPolicy::Kind::route_to_namespace, ""};
       },
       "empty namespace id"},
      {"huge trigger", [](RoutingRows& r) { r.namespaces[0].trigger = std::string(kMaxTriggerBytes + 1, 'x'); },
       "longer than"},
  };
  for (const auto& c : cases) {
    auto rows = test::sample_rows();
    c.mutate(rows);
    auto t = RoutingTable::build(rows, "Andy");
    ASSERT_FALSE(t) << c.name;
    EXPECT_EQ(t.error().code, "routing.bad_table") << c.name;
    EXPECT_NE(t.error().message.find(c.message_part), std::string::npos) << c.name << ": " << t.error().message;
  }
  auto rows = test::sample_rows();
  rows.namespaces[0].trigger = std::string(kMaxTriggerBytes, 'x');  // the limit itself is fine
  EXPECT_TRUE(RoutingTable::build(rows, "Andy"));
}

TEST(RoutingTable, RefusesAnEmptyAssistantName) {
  for (const char* name : {"", " ", "\t\n"}) {
    auto t = RoutingTable::build(test::sample_rows(), name);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, "routing.bad_table");
  }
}

TEST(RoutingTable, NoMainIsFine) {
  auto rows = test::sample_rows();
  rows.namespaces[0].is_main = false;
  auto t = test::sample_table(rows);
  EXPECT_EQ(t.main_namespace(), nullptr);
}

TEST(RoutingTable, CopiesAndMovesStayValid) {
  auto original = test::sample_table();
  RoutingTable copy = original;
  RoutingTable moved = std::move(original);
  for (const RoutingTable* t : {&copy, &moved}) {
    auto hit = t->lookup_jid("slack:CTEAM");
    ASSERT_NE(hit.target, nullptr);
    EXPECT_EQ(hit.target->name, "team");
    EXPECT_EQ(t->main_namespace()->name, "main");
  }
}

TEST(RoutingTable, ManyNamespacesAndMappings) {
  RoutingRows rows;
  for (int i = 0; i < 1000; ++i)
    rows.namespaces.push_back({"id-" + std::to_string(i), "ns" + std::to_string(i), i == 0, "", true});
  for (int i = 0; i < 10000; ++i)
    rows.mappings.push_back({"slack:C" + std::to_string(i), "id-" + std::to_string(i % 1000)});
  auto t = RoutingTable::build(rows, "Andy");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->namespace_count(), 1000u);
  EXPECT_EQ(t->mapping_count(), 10000u);
  EXPECT_EQ(t->dangling_references(), 0u);
  for (int i = 0; i < 10000; i += 997) {
    auto hit = t->lookup_jid("slack:C" + std::to_string(i));
    ASSERT_NE(hit.target, nullptr);
    EXPECT_EQ(hit.target->id, "id-" + std::to_string(i % 1000));
  }
}

TEST(RoutingTable, UnicodeKeysAreExact) {
  RoutingRows rows;
  rows.namespaces = {{"ñ-id", "équipe", true, "@Zoë", true}};
  rows.mappings = {{"tg:日本", "ñ-id"}};
  rows.allowlists = {{"telegram", "bot", false, {"José", "ｕ1"}}};
  auto t = RoutingTable::build(rows, "Andy");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->find_namespace_by_name("équipe")->id, "ñ-id");
  EXPECT_EQ(t->find_namespace_by_name("Équipe"), nullptr);
  EXPECT_TRUE(t->lookup_jid("tg:日本").mapped);
  EXPECT_TRUE(t->sender_allowed("telegram", "bot", "José"));
  EXPECT_FALSE(t->sender_allowed("telegram", "bot", "Jose"));
  EXPECT_TRUE(t->sender_allowed("telegram", "bot", "ｕ1"));
  EXPECT_FALSE(t->sender_allowed("telegram", "bot", "u1"));
}

}  // namespace
}  // namespace sb::routing
