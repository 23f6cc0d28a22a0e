#pragma once
// GroupCommitter on both engines (tests/support/store_engines.hpp): per-op outcomes, isolation of failing ops,
// whole-batch failure. SQLite commits a batch op by op under savepoints, PostgreSQL pipelines it (pg::run_batch);
// the contract is the same. What only one engine has (SQLite's busy lock, PostgreSQL's row locks) is in
// group_committer_test.cpp and group_committer_postgres_test.cpp.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/error_codes.hpp"
#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/store_engines.hpp"

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

class GroupCommitterOnEngine : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    SB_STORE_TARGET(path_, dir_);
    auto db = open_db(path());
    ASSERT_TRUE(db);
    db_.emplace(std::move(db).value());
    ASSERT_TRUE(migrate(*db_));
    gc_.emplace(*db_);
  }
  const std::string& path() const { return path_; }
  bool on_postgres() const { return GetParam() == Engine::postgres; }
  int64_t count(const std::string& where = "1 = 1") {
    return query_int(*db_, "SELECT count(*) FROM inbound_messages WHERE " + where);
  }
  // How each engine words a violated constraint in its message.
  std::string unique_words() const { return on_postgres() ? "unique constraint" : "UNIQUE"; }
  std::string foreign_key_words() const { return on_postgres() ? "foreign key" : "FOREIGN KEY"; }

  TempDir dir_;
  std::string path_;
  std::optional<Database> db_;
  std::optional<GroupCommitter> gc_;
};

TEST_P(GroupCommitterOnEngine, OneOutcomePerOpInOrder) {
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

TEST_P(GroupCommitterOnEngine, FailingOpsFailAloneAndTheRestCommit) {
  ASSERT_TRUE(gc_->commit_batch({inbound("old")})[0].ok);
  // One statement writes 'partial', then fails on its duplicate 'b'. SQLite: OR FAIL keeps
  // the rows a statement wrote before its failing row; only the op's savepoint undoes
  // 'partial'. PostgreSQL undoes the whole statement, and the batch is sent again without
  // it. Either way a failed op must leave no trace.
  const std::string partial = std::string(on_postgres() ? "INSERT" : "INSERT OR FAIL") +
                              " INTO inbound_messages(channel, platform_message_id, chat_jid,"
                              " received_at) VALUES ('telegram', 'partial', 'tg:1', 1), ('telegram', 'b', 'tg:1', 1)";
  const std::vector<WriteOp> ops = {
      inbound("a"),
      inbound("old"),  // duplicate of an earlier batch
      inbound("b"),
      inbound("a"),                                // duplicate within this batch
      WriteOp{"INSERT INTO nope VALUES (1)", {}},  // bad SQL
      WriteOp{kInsert, {SqlParam::of(1)}},         // wrong parameter count
      WriteOp{partial, {}},
      inbound("c"),
  };
  const auto out = gc_->commit_batch(ops);
  ASSERT_EQ(out.size(), ops.size());
  EXPECT_TRUE(out[0].ok) << out[0].error_message;
  EXPECT_FALSE(out[1].ok);
  EXPECT_EQ(out[1].error_code, kConstraintViolation);
  EXPECT_NE(out[1].error_message.find(unique_words()), std::string::npos) << out[1].error_message;
  EXPECT_TRUE(out[2].ok) << out[2].error_message;
  EXPECT_FALSE(out[3].ok);
  EXPECT_EQ(out[3].error_code, kConstraintViolation);
  EXPECT_FALSE(out[4].ok);
  EXPECT_EQ(out[4].error_code, sb::test::sql_error_code(GetParam()));
  EXPECT_FALSE(out[5].ok);
  EXPECT_EQ(out[5].error_code, "storage.param_count");
  EXPECT_FALSE(out[6].ok);
  EXPECT_EQ(out[6].error_code, kConstraintViolation);
  EXPECT_TRUE(out[7].ok) << out[7].error_message;

  EXPECT_EQ(count(), 4);  // old, a, b, c
  EXPECT_EQ(count("platform_message_id = 'partial'"), 0);
  EXPECT_EQ(count("platform_message_id IN ('a', 'b', 'c', 'old')"), 4);
  EXPECT_EQ(gc_->commits(), 2u);
  // Each committed op's id is the id of its own row.
  EXPECT_EQ(out[7].returned_ids,
            std::vector<int64_t>{query_int(*db_, "SELECT id FROM inbound_messages WHERE platform_message_id = 'c'")});
}

TEST_P(GroupCommitterOnEngine, UpdatesReportChangesAndNoIds) {
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
TEST_P(GroupCommitterOnEngine, ReturnedIdsAreThoseOfTheOpsOwnRows) {
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
  // Only 'd' is new. SQLite gives it the next rowid; PostgreSQL's identity spends a value on
  // each row ON CONFLICT skips, so there the id is only known to be d's own.
  if (!on_postgres()) EXPECT_EQ(out[1].returned_ids, std::vector<int64_t>{4});
  EXPECT_EQ(out[1].returned_ids,
            std::vector<int64_t>{query_int(*db_, "SELECT id FROM inbound_messages WHERE platform_message_id = 'd'")});
  EXPECT_EQ(out[1].changes, 1);
  ASSERT_TRUE(out[2].ok);
  EXPECT_TRUE(out[2].returned_ids.empty());
}

TEST_P(GroupCommitterOnEngine, BlobsAndNullsGoThrough) {
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

TEST_P(GroupCommitterOnEngine, CommitsCountsCommittedTransactions) {
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
  EXPECT_EQ(dup.error_code, kConstraintViolation);
  EXPECT_EQ(gc_->commits(), 4u);  // a rolled-back write is not a commit
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(count(), 5);
}

TEST_P(GroupCommitterOnEngine, FailedCommitFailsEveryOp) {
  // A deferred foreign key is only checked at COMMIT, so COMMIT itself fails (on
  // PostgreSQL: the pipeline's Sync, where the batch's implicit transaction commits).
  const std::string id_column =
      on_postgres() ? "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "id INTEGER PRIMARY KEY";
  ASSERT_TRUE(db_->exec("CREATE TABLE parent(" + id_column + "); CREATE TABLE child(" + id_column +
                        ", parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"));
  const auto out = gc_->commit_batch(
      {inbound("1"), WriteOp{"INSERT INTO child(parent_id) VALUES (?1)", {SqlParam::of(7)}}, inbound("2")});
  ASSERT_EQ(out.size(), 3u);
  for (const auto& o : out) {
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error_code, kConstraintViolation);
    EXPECT_NE(o.error_message.find(foreign_key_words()), std::string::npos) << o.error_message;
  }
  EXPECT_EQ(gc_->commits(), 0u);
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM child"), 0);
  // The committer is still usable afterwards.
  EXPECT_TRUE(gc_->commit_batch({inbound("1")})[0].ok);
  EXPECT_EQ(gc_->commits(), 1u);
}

TEST_P(GroupCommitterOnEngine, OpThatEndsTheTransactionFailsTheBatch) {
  const auto out = gc_->commit_batch({inbound("1"), WriteOp{"ROLLBACK", {}}, inbound("2")});
  ASSERT_EQ(out.size(), 3u);
  for (const auto& o : out) EXPECT_FALSE(o.ok);
  EXPECT_EQ(gc_->commits(), 0u);
  EXPECT_EQ(count(), 0);
  EXPECT_FALSE(db_->in_transaction());
}

TEST_P(GroupCommitterOnEngine, CallerTransactionIsNotTouched) {
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
