// routing_rows: what the router indexes, read back from the tables NamespaceStore
// wrote (real SQLite file), and the conversions of stored values, bad ones included.
#include "storage/routing_rows.hpp"

#include <gtest/gtest.h>

#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::namespaces;
using namespace sb::storage;
using sb::routing::DefaultPolicy;

class RoutingRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = NamespaceStore::open(db_path(), dir_.path());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  std::string db_path() const { return dir_.file("squadbox.db"); }
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
  std::unique_ptr<NamespaceStore> store_;
};

TEST_F(RoutingRowsTest, AnEmptyDatabaseGivesNoRowsAndTheIgnorePolicy) {
  auto rows = load();
  EXPECT_TRUE(rows.namespaces.empty());
  EXPECT_TRUE(rows.mappings.empty());
  EXPECT_TRUE(rows.allowlists.empty());
  EXPECT_EQ(rows.default_policy.kind, DefaultPolicy::Kind::ignore);
}

TEST_F(RoutingRowsTest, ReadsBackWhatTheStoreWrote) {
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

TEST_F(RoutingRowsTest, DefaultPolicyBothKinds) {
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

TEST_F(RoutingRowsTest, BadSendersJsonIsAClearError) {
  exec(
      "INSERT INTO sender_allowlists(channel, bot, mode, senders, updated_at) "
      "VALUES ('slack', 'main', 'list', '{not json', 1)");
  auto rows = load_routing_rows(db_path());
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, "routing.bad_row");
  EXPECT_NE(rows.error().message.find("slack/main"), std::string::npos) << rows.error().message;
  EXPECT_NE(rows.error().message.find("senders"), std::string::npos) << rows.error().message;
}

TEST_F(RoutingRowsTest, AMissingTableIsAnError) {
  exec("DROP TABLE sender_allowlists");
  auto rows = load_routing_rows(db_path());
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code.rfind("sqlite.", 0), 0u) << rows.error().code;
  EXPECT_NE(rows.error().message.find("sender_allowlists"), std::string::npos) << rows.error().message;
}

TEST_F(RoutingRowsTest, AMissingDatabaseIsAnError) {
  auto rows = load_routing_rows(dir_.file("absent.db"));
  EXPECT_FALSE(rows);
}

TEST(RoutingRowConversions, AllowlistModes) {
  auto everyone = allowlist_row("slack", "main", "everyone", "[\"ignored\"]");
  ASSERT_TRUE(everyone);
  EXPECT_TRUE(everyone->everyone);
  auto list = allowlist_row("slack", "main", "list", "[\"U1\",\"U2\"]");
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->everyone);
  EXPECT_EQ(list->senders, (std::vector<std::string>{"U1", "U2"}));
  auto empty_list = allowlist_row("slack", "main", "list", "[]");
  ASSERT_TRUE(empty_list);
  EXPECT_TRUE(empty_list->senders.empty());
  EXPECT_FALSE(allowlist_row("slack", "main", "some", "[]"));
  EXPECT_FALSE(allowlist_row("slack", "main", "list", "[1,2]"));
  EXPECT_FALSE(allowlist_row("slack", "main", "list", ""));
}

TEST(RoutingRowConversions, DefaultPolicyValues) {
  EXPECT_EQ(default_policy_row("", "")->kind, DefaultPolicy::Kind::ignore);
  EXPECT_EQ(default_policy_row("ignore", "x")->kind, DefaultPolicy::Kind::ignore);
  auto to_ns = default_policy_row("namespace", "id-1");
  ASSERT_TRUE(to_ns);
  EXPECT_EQ(to_ns->kind, DefaultPolicy::Kind::route_to_namespace);
  EXPECT_EQ(to_ns->namespace_id, "id-1");
  EXPECT_FALSE(default_policy_row("namespace", ""));
  EXPECT_FALSE(default_policy_row("everywhere", "id-1"));
}

}  // namespace
