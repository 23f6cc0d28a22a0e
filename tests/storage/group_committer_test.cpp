// GroupCommitter: per-op outcomes, isolation of failing ops, whole-batch failure.
#include "storage/group_committer.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "tests/support/storage_test_support.hpp"

namespace sb::storage {
namespace {

using test::open_db;
using test::query_int;
using test::TempDir;

constexpr const char* kInsert =
    "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, text, received_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id";

WriteOp inbound(const std::string& id, const std::string& text = "hi") {
  return WriteOp{kInsert,
                 {SqlParam::of(std::string("telegram")), SqlParam::of(id), SqlParam::of(std::string("tg:1")),
                  SqlParam::of(text), SqlParam::of(int64_t{1700000000000})}};
}

class GroupCommit : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = open_db(path());
    ASSERT_TRUE(db);
    db_.emplace(std::move(db).value());
    ASSERT_TRUE(migrate(*db_));
    gc_.emplace(*db_);
  }
  std::string path() const { return dir_.file("squadbox.db"); }
  int64_t count(const std::string& where = "1") {
    return query_int(*db_, "SELECT count(*) FROM inbound_messages WHERE " + where);
  }

  TempDir dir_;
  std::optional<Database> db_;
  std::optional<GroupCommitter> gc_;
};

TEST_F(GroupCommit, OneOutcomePerOpInOrder) {
  const auto out = gc_->commit_batch({inbound("1"), inbound("2"), inbound("3")});
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_TRUE(out[i].ok) << i << ": " << out[i].error_message;
    EXPECT_EQ(out[i].changes, 1);
    EXPECT_TRUE(out[i].error_code.empty());
    // The returned id identifies exactly the row op i inserted.
    ASSERT_EQ(out[i].returned_ids.size(), 1u);
    EXPECT_EQ(query_int(*db_,
                        "SELECT CAST(platform_message_id AS INTEGER) FROM inbound_messages"
                        " WHERE id = " +
                            std::to_string(out[i].returned_ids[0])),
              static_cast<int64_t>(i) + 1);
  }
  EXPECT_EQ(gc_->commits(), 1u);
  EXPECT_FALSE(db_->in_transaction());

  // Committed means visible to any other connection.
  auto other = open_db(path());
  ASSERT_TRUE(other);
  EXPECT_EQ(query_int(*other, "SELECT count(*) FROM inbound_messages"), 3);
}

TEST_F(GroupCommit, FailingOpsFailAloneAndTheRestCommit) {
  ASSERT_TRUE(gc_->commit_batch({inbound("old")})[0].ok);
  const std::vector<WriteOp> ops = {
      inbound("a"),
      inbound("old"),  // duplicate of an earlier batch
      inbound("b"),
      inbound("a"),                                // duplicate within this batch
      WriteOp{"INSERT INTO nope VALUES (1)", {}},  // bad SQL
      WriteOp{kInsert, {SqlParam::of(1)}},         // wrong parameter count
      // OR FAIL keeps the rows a statement wrote before its failing row; only the
      // op's savepoint undoes 'partial'. Proves a failed op leaves no trace.
      WriteOp{"INSERT OR FAIL INTO inbound_messages(channel, platform_message_id, chat_jid,"
              " received_at) VALUES ('telegram', 'partial', 'tg:1', 1), ('telegram', 'b', 'tg:1', 1)",
              {}},
      inbound("c"),
  };
  const auto out = gc_->commit_batch(ops);
  ASSERT_EQ(out.size(), ops.size());
  EXPECT_TRUE(out[0].ok);
  EXPECT_FALSE(out[1].ok);
  EXPECT_EQ(out[1].error_code, "sqlite.constraint");
  EXPECT_NE(out[1].error_message.find("UNIQUE"), std::string::npos);
  EXPECT_TRUE(out[2].ok);
  EXPECT_FALSE(out[3].ok);
  EXPECT_EQ(out[3].error_code, "sqlite.constraint");
  EXPECT_FALSE(out[4].ok);
  EXPECT_EQ(out[4].error_code, "sqlite.error");
  EXPECT_FALSE(out[5].ok);
  EXPECT_EQ(out[5].error_code, "storage.param_count");
  EXPECT_FALSE(out[6].ok);
  EXPECT_EQ(out[6].error_code, "sqlite.constraint");
  EXPECT_TRUE(out[7].ok);

  EXPECT_EQ(count(), 4);  // old, a, b, c
  EXPECT_EQ(count("platform_message_id = 'partial'"), 0);
  EXPECT_EQ(count("platform_message_id IN ('a', 'b', 'c', 'old')"), 4);
  EXPECT_EQ(gc_->commits(), 2u);
}

TEST_F(GroupCommit, UpdatesReportChangesAndNoIds) {
  ASSERT_TRUE(gc_->commit_batch({inbound("1"), inbound("2"), inbound("3")})[0].ok);
  const auto out = gc_->commit_batch({WriteOp{"UPDATE inbound_messages SET state = ?1 WHERE id <= ?2",
                                              {SqlParam::of(std::string("done")), SqlParam::of(2)}},
                                      WriteOp{"DELETE FROM inbound_messages WHERE id = 99", {}}});
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(out[0].ok) << out[0].error_message;
  EXPECT_EQ(out[0].changes, 2);
  EXPECT_TRUE(out[0].returned_ids.empty());
  ASSERT_TRUE(out[1].ok);
  EXPECT_EQ(out[1].changes, 0);
  EXPECT_EQ(count("state = 'done'"), 2);
}

// The ids come from the op's RETURNING rows: every row of a multi-row INSERT, none for a
// row skipped by ON CONFLICT DO NOTHING, and never an id left over from an earlier op.
TEST_F(GroupCommit, ReturnedIdsAreThoseOfTheOpsOwnRows) {
  const WriteOp many{
      "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, received_at) VALUES"
      " ('telegram', ?1, 'tg:1', 1), ('telegram', ?2, 'tg:1', 1), ('telegram', ?3, 'tg:1', 1)"
      " ON CONFLICT(channel, bot, platform_message_id) DO NOTHING RETURNING id",
      {SqlParam::of(std::string("a")), SqlParam::of(std::string("b")), SqlParam::of(std::string("c"))}};
  const WriteOp again{many.sql,
                      {SqlParam::of(std::string("a")), SqlParam::of(std::string("d")), SqlParam::of(std::string("b"))}};
  const auto out = gc_->commit_batch({many, again, WriteOp{"DELETE FROM inbound_messages WHERE id = 99", {}}});
  ASSERT_EQ(out.size(), 3u);
  ASSERT_TRUE(out[0].ok) << out[0].error_message;
  std::vector<int64_t> ids = out[0].returned_ids;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(out[0].changes, 3);
  ASSERT_TRUE(out[1].ok) << out[1].error_message;
  EXPECT_EQ(out[1].returned_ids, std::vector<int64_t>{4});  // only 'd' is new
  EXPECT_EQ(out[1].changes, 1);
  ASSERT_TRUE(out[2].ok);
  EXPECT_TRUE(out[2].returned_ids.empty());
}

TEST_F(GroupCommit, BlobsAndNullsGoThrough) {
  const std::string bytes("\x00\xffsecret\x00", 9);
  const auto out =
      gc_->commit_batch({WriteOp{"INSERT INTO secrets(name, namespace_id, ciphertext, nonce, created_at, updated_at)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                 {SqlParam::of(std::string("api_key")), SqlParam::null(), SqlParam::blob_of(bytes),
                                  SqlParam::blob_of(std::string(24, '\x01')), SqlParam::of(1), SqlParam::of(1)}}});
  ASSERT_TRUE(out[0].ok) << out[0].error_message;
  auto sel = db_->prepare("SELECT ciphertext, namespace_id FROM secrets");
  ASSERT_TRUE(sel);
  ASSERT_TRUE(sel->step().value());
  EXPECT_EQ(sel->column_blob(0), bytes);
  EXPECT_TRUE(sel->column_is_null(1));
}

TEST_F(GroupCommit, CommitsCountsCommittedTransactions) {
  EXPECT_EQ(gc_->commits(), 0u);
  EXPECT_TRUE(gc_->commit_batch({}).empty());  // nothing to do: no transaction
  EXPECT_EQ(gc_->commits(), 0u);
  ASSERT_EQ(gc_->commit_batch({inbound("1"), inbound("2")}).size(), 2u);
  EXPECT_EQ(gc_->commits(), 1u);
  for (int i = 3; i <= 5; ++i) {
    const WriteOutcome o = gc_->commit_single(inbound(std::to_string(i)));
    EXPECT_TRUE(o.ok) << o.error_message;
    EXPECT_EQ(o.changes, 1);
    EXPECT_EQ(o.returned_ids, std::vector<int64_t>{i});
  }
  EXPECT_EQ(gc_->commits(), 4u);
  const WriteOutcome dup = gc_->commit_single(inbound("3"));
  EXPECT_FALSE(dup.ok);
  EXPECT_EQ(dup.error_code, "sqlite.constraint");
  EXPECT_EQ(gc_->commits(), 4u);  // a rolled-back write is not a commit
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(count(), 5);
}

TEST_F(GroupCommit, FailedCommitFailsEveryOp) {
  // A deferred foreign key is only checked at COMMIT, so COMMIT itself fails.
  ASSERT_TRUE(
      db_->exec("CREATE TABLE parent(id INTEGER PRIMARY KEY);"
                "CREATE TABLE child(id INTEGER PRIMARY KEY,"
                " parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"));
  const auto out = gc_->commit_batch(
      {inbound("1"), WriteOp{"INSERT INTO child(parent_id) VALUES (?1)", {SqlParam::of(7)}}, inbound("2")});
  ASSERT_EQ(out.size(), 3u);
  for (const auto& o : out) {
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error_code, "sqlite.constraint");
    EXPECT_NE(o.error_message.find("FOREIGN KEY"), std::string::npos) << o.error_message;
  }
  EXPECT_EQ(gc_->commits(), 0u);
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(count(), 0);
  // The committer is still usable afterwards.
  EXPECT_TRUE(gc_->commit_batch({inbound("1")})[0].ok);
  EXPECT_EQ(gc_->commits(), 1u);
}

TEST_F(GroupCommit, OpThatEndsTheTransactionFailsTheBatch) {
  const auto out = gc_->commit_batch({inbound("1"), WriteOp{"ROLLBACK", {}}, inbound("2")});
  ASSERT_EQ(out.size(), 3u);
  for (const auto& o : out) EXPECT_FALSE(o.ok);
  EXPECT_EQ(gc_->commits(), 0u);
  EXPECT_EQ(count(), 0);
  EXPECT_FALSE(db_->in_transaction());
}

TEST_F(GroupCommit, BusyDatabaseFailsEveryOpWithoutHanging) {
  auto holder = open_db(path());
  ASSERT_TRUE(holder);
  auto tx = Transaction::begin(*holder);  // takes the write lock
  ASSERT_TRUE(tx);

  auto db = open_db(path(), OpenOptions{.busy_timeout_ms = 20});
  ASSERT_TRUE(db);
  GroupCommitter gc(*db);
  const auto out = gc.commit_batch({inbound("1"), inbound("2")});
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) {
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error_code, "sqlite.busy");
  }
  EXPECT_EQ(gc.commit_single(inbound("3")).error_code, "sqlite.busy");
  EXPECT_EQ(gc.commits(), 0u);
  ASSERT_TRUE(tx->rollback());
  EXPECT_TRUE(gc.commit_batch({inbound("1")})[0].ok);
}

TEST_F(GroupCommit, CallerTransactionIsNotTouched) {
  auto tx = Transaction::begin(*db_);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(db_->exec(
      "INSERT INTO namespaces(id, name, description, created_at, updated_at) VALUES ('ns1', 'main', '', 1, 1)"));
  const auto out = gc_->commit_batch({inbound("1")});
  ASSERT_FALSE(out[0].ok);  // cannot nest: reported, not hidden
  EXPECT_FALSE(gc_->commit_single(inbound("2")).ok);
  EXPECT_TRUE(db_->in_transaction());
  ASSERT_TRUE(tx->commit());
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM namespaces"), 1);
  EXPECT_EQ(count(), 0);
}

}  // namespace
}  // namespace sb::storage
