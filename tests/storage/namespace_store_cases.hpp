#pragma once
// NamespaceStore on both engines (tests/support/store_engines.hpp): the main rule, conflicts, the cascade of
// mappings on delete, the directories, allowlists, the default policy and the hook.
#include <atomic>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/core/ids.hpp"
#include "storage/error_codes.hpp"
#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/store_engines.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sb::namespaces;
using namespace sb::storage;

NamespacePatch named(const std::string& name) {
  NamespacePatch p;
  p.name = name;
  return p;
}

class Store : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    SB_STORE_TARGET(path_, dir_);
    auto s = NamespaceStore::open(path_, dir_.path());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    store_->set_on_change([this] { ++changes_; });
  }
  Namespace create(const std::string& name, std::optional<bool> main = std::nullopt) {
    auto p = named(name);
    p.is_main = main;
    auto ns = store_->create(p);
    EXPECT_TRUE(ns) << ns.error().message;
    return ns ? *ns : Namespace{};
  }
  std::string main_name() {
    auto all = store_->list();
    std::string out;
    for (const auto& ns : *all)
      if (ns.is_main) out += (out.empty() ? "" : ",") + ns.name;
    return out;
  }

  sb::test::TempDir dir_;
  std::string path_;
  std::unique_ptr<NamespaceStore> store_;
  std::atomic<int> changes_{0};
};

TEST_P(Store, FirstNamespaceIsMainAndMakesItsDirectories) {
  auto a = create("alpha");
  EXPECT_TRUE(a.is_main);
  EXPECT_EQ(a.id.size(), 36u);
  EXPECT_EQ(a.id[14], '4') << "UUID version 4: " << a.id;
  EXPECT_TRUE(a.requires_trigger);
  EXPECT_EQ(a.trigger, "");
  for (const char* d : {"sessions/alpha", "workspaces/alpha/ipc", "workspaces/alpha/extra"})
    EXPECT_TRUE(fs::is_directory(dir_.file(d))) << d;
  auto b = create("beta");
  EXPECT_FALSE(b.is_main);
  EXPECT_EQ(main_name(), "alpha");
  EXPECT_EQ(changes_.load(), 2);
}

TEST_P(Store, IsMainOnAnotherDemotesTheOldMainAndTheMainCannotBeUnset) {
  auto a = create("alpha");
  auto b = create("beta");
  auto c = create("gamma", true);
  EXPECT_TRUE(c.is_main);
  EXPECT_EQ(main_name(), "gamma");
  NamespacePatch promote;
  promote.is_main = true;
  ASSERT_TRUE(store_->update(b.id, promote));
  EXPECT_EQ(main_name(), "beta");
  NamespacePatch demote;
  demote.is_main = false;
  auto refused = store_->update(b.id, demote);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "namespaces.conflict");
  EXPECT_EQ(main_name(), "beta");
  (void)a;
}

TEST_P(Store, DuplicateNamesConflictOnCreateAndRename) {
  create("alpha");
  auto b = create("beta");
  auto dup = store_->create(named("alpha"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, "namespaces.conflict");
  auto rename = store_->update(b.id, named("alpha"));
  ASSERT_FALSE(rename);
  EXPECT_EQ(rename.error().code, "namespaces.conflict");
  EXPECT_EQ(store_->list()->size(), 2u);
}

TEST_P(Store, RenameMovesTheDirectoriesAndKeepsTheirContents) {
  auto a = create("alpha");
  { std::ofstream(dir_.file("workspaces/alpha/notes.md")) << "kept"; }
  auto renamed = store_->update(a.id, named("omega"));
  ASSERT_TRUE(renamed) << renamed.error().message;
  EXPECT_EQ(renamed->name, "omega");
  EXPECT_FALSE(fs::exists(dir_.file("workspaces/alpha")));
  EXPECT_TRUE(fs::exists(dir_.file("workspaces/omega/notes.md")));
  EXPECT_TRUE(fs::is_directory(dir_.file("sessions/omega")));
  EXPECT_EQ(store_->get("omega")->id, a.id);
}

TEST_P(Store, UpdateKeepsUnsetFieldsAndStoresContainerConfig) {
  auto a = create("alpha");
  NamespacePatch p;
  p.description = "the team";
  p.trigger = "@Andy";
  p.requires_trigger = false;
  ContainerConfig c;
  c.image = "squadbox/agent:1";
  c.timeout_secs = 600;
  c.mounts.push_back({"/srv/data", "data", true});
  c.env = {"TZ"};
  p.container = c;
  p.instructions_file = "CLAUDE.md";
  ASSERT_TRUE(store_->update(a.id, p));
  NamespacePatch only_desc;
  only_desc.description = "renamed team";
  ASSERT_TRUE(store_->update(a.id, only_desc));
  auto back = store_->get(a.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->description, "renamed team");
  EXPECT_EQ(back->trigger, "@Andy");
  EXPECT_FALSE(back->requires_trigger);
  EXPECT_EQ(back->container.image, "squadbox/agent:1");
  EXPECT_EQ(back->container.timeout_secs, 600);
  ASSERT_EQ(back->container.mounts.size(), 1u);
  EXPECT_EQ(back->container.mounts[0].host_path, "/srv/data");
  EXPECT_EQ(back->container.env, std::vector<std::string>{"TZ"});
  EXPECT_EQ(back->instructions_file, "CLAUDE.md");
  EXPECT_GE(back->updated_at_ms, back->created_at_ms);
}

// Agent settings are stored as chosen (absent fields stay the node's), merged member by
// member by later patches, and survive a reopen; "agent": null resets them and the
// instructions.
TEST_P(Store, AgentSettingsAndInstructionsAreStoredAndMerged) {
  NamespacePatch p = named("alpha");
  AgentPatch a;
  a.mode = std::optional<AgentMode>(AgentMode::llm);
  a.route = std::optional<std::string>("local");
  a.tools = std::optional<std::vector<std::string>>(std::vector<std::string>{"read_file"});
  a.instructions = "Answer in German.";
  p.agent = a;
  auto created = store_->create(p);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->agent.mode, AgentMode::llm);
  EXPECT_EQ(created->instructions, "Answer in German.");

  NamespacePatch change;
  AgentPatch c;
  c.route = std::optional<std::string>();  // null: back to the node default
  c.max_steps = std::optional<int64_t>(5);
  change.agent = c;
  ASSERT_TRUE(store_->update("alpha", change));
  store_.reset();
  auto reopened = NamespaceStore::open(path_, dir_.path());
  ASSERT_TRUE(reopened) << reopened.error().message;
  store_ = std::move(*reopened);
  auto back = store_->get("alpha");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->agent.mode, AgentMode::llm);
  EXPECT_FALSE(back->agent.route);
  EXPECT_EQ(back->agent.max_steps, 5);
  EXPECT_EQ(back->agent.tools, std::vector<std::string>{"read_file"});
  EXPECT_FALSE(back->agent.model);
  EXPECT_EQ(back->instructions, "Answer in German.") << "not in the patch: kept";

  NamespacePatch reset;
  AgentPatch r;
  r.reset = true;
  reset.agent = r;
  auto cleared = store_->update("alpha", reset);
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->agent, AgentSettings{});
  EXPECT_EQ(cleared->instructions, "");
  EXPECT_EQ(store_->get("alpha")->agent, AgentSettings{});
}

TEST_P(Store, MappingAJidToAnotherNamespaceNeedsReplace) {
  auto a = create("alpha");
  auto b = create("beta");
  auto m = store_->map({"tg:100", a.id, false});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->created);
  auto again = store_->map({"tg:100", "alpha", false});
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created) << "same target by name is idempotent";
  auto clash = store_->map({"tg:100", b.id, false});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, "namespaces.conflict");
  auto moved = store_->map({"tg:100", "beta", true});
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->previous_namespace_id, a.id);
  EXPECT_EQ(store_->get(b.id)->jids, std::vector<std::string>{"tg:100"});
  EXPECT_TRUE(store_->get(a.id)->jids.empty());
  auto unknown = store_->map({"tg:1", "nope", false});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "namespaces.not_found");
  auto bad = store_->map({"xx:1", "alpha", false});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_field");
}

TEST_P(Store, DeletingANamespaceCascadesItsMappingsButKeepsItsDirectories) {
  create("alpha");
  auto b = create("beta");
  ASSERT_TRUE(store_->map({"slack:C1", "beta", false}));
  ASSERT_TRUE(store_->map({"dc:42", "beta", false}));
  ASSERT_TRUE(store_->map({"wa:+491", "alpha", false}));
  EXPECT_EQ(store_->mappings("beta")->size(), 2u);
  ASSERT_TRUE(store_->remove(b.id));
  auto left = store_->mappings();
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().jid, "wa:+491");
  EXPECT_TRUE(fs::is_directory(dir_.file("workspaces/beta"))) << "the agent's work is not deleted";
  auto gone = store_->get(b.id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, "namespaces.not_found");
  EXPECT_EQ(store_->remove(b.id).error().code, "namespaces.not_found");
}

TEST_P(Store, TheMainCannotBeDeletedWhileOthersExistButTheLastOneCan) {
  auto a = create("alpha");
  auto b = create("beta");
  auto refused = store_->remove(a.id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "namespaces.conflict");
  ASSERT_TRUE(store_->remove(b.id));
  ASSERT_TRUE(store_->remove(a.id));
  auto next = create("gamma");
  EXPECT_TRUE(next.is_main) << "the first namespace again";
}

TEST_P(Store, UnmapRemovesOneMappingAndUnknownIsNotFound) {
  create("alpha");
  ASSERT_TRUE(store_->map({"tg:-100123", "alpha", false}));
  auto removed = store_->unmap("tg:-100123");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->namespace_name, "alpha");
  EXPECT_EQ(store_->unmap("tg:-100123").error().code, "namespaces.not_found");
}

TEST_P(Store, AllowlistDefaultsToEveryoneAndPersists) {
  auto none = store_->allowlist("telegram", "main");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->everyone);
  EXPECT_EQ(none->updated_at_ms, 0);
  SenderAllowlist a{"telegram", "main", false, {"111", "222"}, 0};
  ASSERT_TRUE(store_->set_allowlist(a));
  auto back = store_->allowlist("telegram", "main");
  EXPECT_FALSE(back->everyone);
  EXPECT_EQ(back->senders, (std::vector<std::string>{"111", "222"}));
  EXPECT_GT(back->updated_at_ms, 0);
  EXPECT_TRUE(store_->allowlist("slack", "main")->everyone) << "per bot";
  SenderAllowlist bad{"irc", "main", true, {}, 0};
  EXPECT_EQ(store_->set_allowlist(bad).error().code, "invalid_field");
  EXPECT_EQ(store_->allowlists()->size(), 1u);
}

TEST_P(Store, DefaultPolicyNeedsAnExistingNamespaceWhichThenCannotBeDeleted) {
  EXPECT_EQ(store_->routing()->policy, DefaultPolicy::ignore);
  auto missing = store_->set_routing({DefaultPolicy::to_namespace, "nope"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "invalid_field");
  create("alpha");
  auto b = create("beta");
  auto set = store_->set_routing({DefaultPolicy::to_namespace, "beta"});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->default_namespace_id, b.id);
  EXPECT_EQ(set->default_namespace_name, "beta");
  EXPECT_EQ(store_->remove(b.id).error().code, "namespaces.conflict");
  ASSERT_TRUE(store_->set_routing({DefaultPolicy::ignore, ""}));
  EXPECT_TRUE(store_->remove(b.id));
}

TEST_P(Store, ChangesSurviveReopeningTheDatabase) {
  auto a = create("alpha");
  ASSERT_TRUE(store_->map({"tg:5", "alpha", false}));
  store_.reset();
  auto s = NamespaceStore::open(path_, dir_.path());
  ASSERT_TRUE(s);
  auto back = (*s)->get(a.id);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->is_main);
  EXPECT_EQ(back->jids, std::vector<std::string>{"tg:5"});
}

TEST_P(Store, TheDatabaseRefusesASecondMainEvenOutsideTheStore) {
  create("alpha");
  create("beta");
  auto db = sb::storage::Database::open(path_);
  ASSERT_TRUE(db);
  auto st = db->exec("UPDATE namespaces SET is_main = 1 WHERE name = 'beta'");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, kConstraintViolation);
}

TEST_P(Store, FailedChangesDoNotRunTheHook) {
  create("alpha");
  const int before = changes_.load();
  EXPECT_FALSE(store_->create(named("alpha")));
  EXPECT_FALSE(store_->unmap("tg:1"));
  EXPECT_EQ(changes_.load(), before);
}

}  // namespace
