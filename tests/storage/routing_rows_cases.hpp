#pragma once
// routing_rows on both engines (tests/support/store_engines.hpp): what the router indexes, read back from the
// tables NamespaceStore wrote, bad stored values included. The pure conversions are in routing_rows_test.cpp.
#include <gtest/gtest.h>

#include "storage/namespace_store.hpp"
#include "storage/routing_rows.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/store_engines.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::namespaces;
using namespace sb::storage;
using sb::routing::DefaultPolicy;

class RoutingRowsTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    SB_STORE_TARGET(path_, dir_);
    auto s = NamespaceStore::open(db_path(), dir_.path());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  const std::string& db_path() const { return path_; }
  Namespace create(const std::string& name, std::optional<std::string> trigger = std::nullopt,
                   std::optional<bool> requires_trigger = std::nullopt) {
    NamespacePatch p;
    p.name = name;
    p.trigger = trigger;
    p.requires_trigger = requires_trigger;
    auto ns = store_->create(p);
    EXPECT_TRUE(ns) << ns.error().message;
    return ns ? *ns : Namespace{};
  }
  void map(const std::string& jid, const std::string& ns) {
    MappingRequest r;
    r.jid = jid;
    r.namespace_ref = ns;
    auto m = store_->map(r);
    ASSERT_TRUE(m) << m.error().message;
  }
  sb::routing::RoutingRows load() {
    auto rows = load_routing_rows(db_path());
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : sb::routing::RoutingRows{};
  }
  void exec(const std::string& sql) {
    auto db = sb::storage::Database::open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec(sql)) << sql;
  }

  sb::test::TempDir dir_;
  std::string path_;
  std::unique_ptr<NamespaceStore> store_;
};

TEST_P(RoutingRowsTest, AnEmptyDatabaseGivesNoRowsAndTheIgnorePolicy) {
  auto rows = load();
  EXPECT_TRUE(rows.namespaces.empty());
  EXPECT_TRUE(rows.mappings.empty());
  EXPECT_TRUE(rows.allowlists.empty());
  EXPECT_EQ(rows.default_policy.kind, DefaultPolicy::Kind::ignore);
}

TEST_P(RoutingRowsTest, ReadsBackWhatTheStoreWrote) {
  auto alpha = create("alpha");
  auto beta = create("beta", "@Bot", false);
  map("slack:C1", "alpha");
  map("tg:-100200", beta.id);
  SenderAllowlist everyone;
  everyone.channel = "slack";
  everyone.bot = "main";
  ASSERT_TRUE(store_->set_allowlist(everyone));
  SenderAllowlist list;
  list.channel = "telegram";
  list.bot = "ops";
  list.everyone = false;
  list.senders = {"111", "222"};
  ASSERT_TRUE(store_->set_allowlist(list));

  auto rows = load();
  ASSERT_EQ(rows.namespaces.size(), 2u);
  EXPECT_EQ(rows.namespaces[0].id, alpha.id);
  EXPECT_EQ(rows.namespaces[0].name, "alpha");
  EXPECT_TRUE(rows.namespaces[0].is_main);
  EXPECT_EQ(rows.namespaces[0].trigger, "");
  EXPECT_TRUE(rows.namespaces[0].requires_trigger);
  EXPECT_EQ(rows.namespaces[1].id, beta.id);
  EXPECT_FALSE(rows.namespaces[1].is_main);
  EXPECT_EQ(rows.namespaces[1].trigger, "@Bot");
  EXPECT_FALSE(rows.namespaces[1].requires_trigger);

  ASSERT_EQ(rows.mappings.size(), 2u);
  EXPECT_EQ(rows.mappings[0].jid, "slack:C1");
  EXPECT_EQ(rows.mappings[0].namespace_id, alpha.id);
  EXPECT_EQ(rows.mappings[1].jid, "tg:-100200");
  EXPECT_EQ(rows.mappings[1].namespace_id, beta.id);

  ASSERT_EQ(rows.allowlists.size(), 2u);
  EXPECT_EQ(rows.allowlists[0].channel, "slack");
  EXPECT_EQ(rows.allowlists[0].bot, "main");
  EXPECT_TRUE(rows.allowlists[0].everyone);
  EXPECT_EQ(rows.allowlists[1].channel, "telegram");
  EXPECT_EQ(rows.allowlists[1].bot, "ops");
  EXPECT_FALSE(rows.allowlists[1].everyone);
  EXPECT_EQ(rows.allowlists[1].senders, (std::vector<std::string>{"111", "222"}));
  EXPECT_EQ(rows.default_policy.kind, DefaultPolicy::Kind::ignore);

  // The rows build a table that routes as the store says.
  auto table = sb::routing::RoutingTable::build(rows, "Andy");
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->lookup_jid("tg:-100200").target->name, "beta");
  EXPECT_FALSE(table->sender_allowed("telegram", "ops", "333"));
}

TEST_P(RoutingRowsTest, DefaultPolicyBothKinds) {
  auto alpha = create("alpha");
  RoutingRequest to_ns;
  to_ns.policy = sb::namespaces::DefaultPolicy::to_namespace;
  to_ns.namespace_ref = "alpha";
  ASSERT_TRUE(store_->set_routing(to_ns));
  auto rows = load();
  EXPECT_EQ(rows.default_policy.kind, DefaultPolicy::Kind::route_to_namespace);
  EXPECT_EQ(rows.default_policy.namespace_id, alpha.id);

  RoutingRequest ignore;
  ASSERT_TRUE(store_->set_routing(ignore));
  rows = load();
  EXPECT_EQ(rows.default_policy.kind, DefaultPolicy::Kind::ignore);
  EXPECT_EQ(rows.default_policy.namespace_id, "");
}

TEST_P(RoutingRowsTest, BadSendersJsonIsAClearError) {
  exec(
      "INSERT INTO sender_allowlists(channel, bot, mode, senders, updated_at) "
      "VALUES ('slack', 'main', 'list', '{not json', 1)");
  auto rows = load_routing_rows(db_path());
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, "routing.bad_row");
  EXPECT_NE(rows.error().message.find("slack/main"), std::string::npos) << rows.error().message;
  EXPECT_NE(rows.error().message.find("senders"), std::string::npos) << rows.error().message;
}

TEST_P(RoutingRowsTest, AMissingTableIsAnError) {
  exec("DROP TABLE sender_allowlists");
  auto rows = load_routing_rows(db_path());
  ASSERT_FALSE(rows);
  const std::string engine_prefix = GetParam() == Engine::postgres ? "postgres." : "sqlite.";
  EXPECT_EQ(rows.error().code.rfind(engine_prefix, 0), 0u) << rows.error().code;
  EXPECT_NE(rows.error().message.find("sender_allowlists"), std::string::npos) << rows.error().message;
}

}  // namespace
