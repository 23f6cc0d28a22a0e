#pragma once
// channel_state_store on both engines (tests/support/store_engines.hpp): the upsert (run by the GroupCommitter the
// storage writer uses) and the read a poller makes on its own read-only connection.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "storage/channel_state_store.hpp"
#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/store_engines.hpp"

namespace sb::storage {
namespace {

using test::open_db;
using test::query_int;
using test::TempDir;

class ChannelStateStore : public sb::test::StoreOnEngine {
 protected:
  void upsert(std::string_view channel, std::string_view bot, std::string_view key, std::string_view value,
              int64_t at) {
    auto out = gc_->commit_single(upsert_channel_state(channel, bot, key, value, at));
    ASSERT_TRUE(out.ok) << out.error_message;
    EXPECT_EQ(out.changes, 1);
  }
  std::optional<std::string> read(std::string_view channel, std::string_view bot, std::string_view key) {
    auto v = read_channel_state(*reader_, channel, bot, key);
    EXPECT_TRUE(v) << v.error().message;
    return v ? *v : std::nullopt;
  }
};

TEST_P(ChannelStateStore, NothingStoredReadsAsNone) {
  EXPECT_EQ(read("telegram", "main", "offset"), std::nullopt);
}

TEST_P(ChannelStateStore, TheLastWriteWinsWithItsTime) {
  upsert("telegram", "main", "offset", "41", 1000);
  EXPECT_EQ(read("telegram", "main", "offset"), "41");
  upsert("telegram", "main", "offset", "42", 2000);
  EXPECT_EQ(read("telegram", "main", "offset"), "42");
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM channel_state"), 1);
  EXPECT_EQ(query_int(*db_, "SELECT updated_at FROM channel_state"), 2000);
}

TEST_P(ChannelStateStore, ValuesAreKeptPerChannelBotAndKey) {
  upsert("telegram", "main", "offset", "1", 1);
  upsert("telegram", "second", "offset", "2", 1);
  upsert("telegram", "main", "other", "3", 1);
  upsert("slack", "main", "offset", "4", 1);
  EXPECT_EQ(read("telegram", "main", "offset"), "1");
  EXPECT_EQ(read("telegram", "second", "offset"), "2");
  EXPECT_EQ(read("telegram", "main", "other"), "3");
  EXPECT_EQ(read("slack", "main", "offset"), "4");
  EXPECT_EQ(read("discord", "main", "offset"), std::nullopt);
}

TEST_P(ChannelStateStore, TheUpsertHasOneSqlTextSoTheWriterReusesItsStatement) {
  EXPECT_EQ(upsert_channel_state("telegram", "a", "offset", "1", 1).sql,
            upsert_channel_state("slack", "b", "k", "2", 2).sql);
}

TEST_P(ChannelStateStore, AnUnreadableTableIsAnError) {
  ASSERT_TRUE(db_->exec("DROP TABLE channel_state"));
  auto v = read_channel_state(*db_, "telegram", "main", "offset");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, sb::test::sql_error_code(GetParam()));
}

}  // namespace
}  // namespace sb::storage
