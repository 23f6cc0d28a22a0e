#pragma once
// namespace_rows on both engines (tests/support/store_engines.hpp), on rows written by NamespaceStore: the lookups
// the chat route, the IPC ownership check and the chat directory make on a read-only connection.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/chat_directory.hpp"
#include "storage/namespace_rows.hpp"
#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/store_engines.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::namespaces;
using namespace sb::storage;

class NamespaceRows : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    SB_STORE_TARGET(path_, dir_);
    auto s = NamespaceStore::open(db_path(), dir_.path());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    OpenOptions ro;
    ro.read_only = true;
    auto db = Database::open(db_path(), ro);
    ASSERT_TRUE(db) << db.error().message;
    reader_.emplace(std::move(*db));
  }
  const std::string& db_path() const { return path_; }
  Namespace create(const std::string& name) {
    NamespacePatch p;
    p.name = name;
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
  std::optional<NamespaceRef> find(const std::string& ref) {
    auto found = find_namespace_ref(*reader_, ref);
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : std::nullopt;
  }

  sb::test::TempDir dir_;
  std::string path_;
  std::unique_ptr<NamespaceStore> store_;
  std::optional<Database> reader_;
};

TEST_P(NamespaceRows, ANamespaceIsFoundByIdOrByName) {
  const auto alpha = create("alpha");
  auto by_name = find("alpha");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->id, alpha.id);
  EXPECT_EQ(by_name->name, "alpha");
  auto by_id = find(alpha.id);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->name, "alpha");
  EXPECT_FALSE(find("beta"));
}

TEST_P(NamespaceRows, AnIdWinsOverANameThatSpellsIt) {
  const auto alpha = create("alpha");
  const auto impostor = create(alpha.id);  // a UUID is a valid name
  auto found = find(alpha.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, alpha.id);
  EXPECT_EQ(found->name, "alpha");
  EXPECT_NE(impostor.id, alpha.id);
}

TEST_P(NamespaceRows, AChatIsOwnedByTheNamespaceItIsMappedTo) {
  create("alpha");
  create("beta");
  map("slack:C2", "alpha");
  map("slack:C1", "alpha");
  map("tg:-100200", "beta");
  auto owner = read_chat_owner(*reader_, "slack:C1");
  ASSERT_TRUE(owner) << owner.error().message;
  EXPECT_EQ(*owner, "alpha");
  auto unmapped = read_chat_owner(*reader_, "slack:C9");
  ASSERT_TRUE(unmapped);
  EXPECT_FALSE(unmapped->has_value());

  auto chats = read_chats_of(*reader_, "alpha");
  ASSERT_TRUE(chats) << chats.error().message;
  EXPECT_EQ(*chats, (std::vector<std::string>{"slack:C1", "slack:C2"}));
  auto none = read_chats_of(*reader_, "gamma");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(NamespaceRows, TheChatDirectoryAnswersFromTheSameRows) {
  create("alpha");
  map("slack:C1", "alpha");
  auto directory = open_chat_directory(db_path());
  EXPECT_EQ(directory.owner("slack:C1"), std::optional<std::string>("alpha"));
  EXPECT_EQ(directory.owner("slack:C9"), std::nullopt);
  EXPECT_EQ(directory.owner("local:beta"), std::optional<std::string>("beta"));
  EXPECT_EQ(directory.chats_of("alpha"), (std::vector<std::string>{"slack:C1"}));
  EXPECT_TRUE(directory.chats_of("beta").empty());
}

// Host id range slots (migration 7): one per namespace, never 0, never handed out twice,
// not even after the namespace is deleted and a namespace of the same name is made again.
TEST_P(NamespaceRows, EveryNamespaceHasItsOwnIdRangeSlot) {
  create("alpha");
  const auto beta = create("beta");
  auto a = read_id_range_slot(*reader_, "alpha");
  auto b = read_id_range_slot(*reader_, "beta");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->has_value() && b->has_value());
  EXPECT_GT(**a, 0);
  EXPECT_GT(**b, 0);
  EXPECT_NE(**a, **b);
  auto none = read_id_range_slot(*reader_, "nobody-here");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  // Renaming keeps the slot (it belongs to the namespace's id).
  NamespacePatch rename;
  rename.name = "gamma";
  ASSERT_TRUE(store_->update(beta.id, rename));
  auto g = read_id_range_slot(*reader_, "gamma");
  ASSERT_TRUE(g && g->has_value());
  EXPECT_EQ(**g, **b);

  // Deleted and made again: a new slot, never the old one (files of the old ids remain).
  ASSERT_TRUE(store_->remove(beta.id));
  create("beta");
  auto again = read_id_range_slot(*reader_, "beta");
  ASSERT_TRUE(again && again->has_value());
  EXPECT_NE(**again, **b);
  EXPECT_NE(**again, **a);
  EXPECT_GT(**again, **b);
}

}  // namespace

namespace {

// What build_namespace_run reads at each container start: the settings the namespace
// chose (nothing else), its instructions and its instructions file.
TEST_P(NamespaceRows, TheAgentRecordIsWhatTheNamespaceChose) {
  create("alpha");
  auto plain = read_agent_record(*reader_, "alpha");
  ASSERT_TRUE(plain) << plain.error().message;
  ASSERT_TRUE(*plain);
  EXPECT_EQ((*plain)->settings, AgentSettings{});
  EXPECT_EQ((*plain)->instructions, "");
  NamespacePatch p;
  AgentPatch a;
  a.model = std::optional<std::string>("qwen2.5");
  a.instructions = "Be brief.";
  p.agent = a;
  p.instructions_file = "AGENTS.md";
  ASSERT_TRUE(store_->update("alpha", p));
  auto rec = read_agent_record(*reader_, "alpha");
  ASSERT_TRUE(rec && *rec);
  EXPECT_EQ((*rec)->settings.model, "qwen2.5");
  EXPECT_FALSE((*rec)->settings.mode);
  EXPECT_EQ((*rec)->instructions, "Be brief.");
  EXPECT_EQ((*rec)->instructions_file, "AGENTS.md");
  auto none = read_agent_record(*reader_, "nobody");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

}  // namespace
