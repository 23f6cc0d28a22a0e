// GroupCommitter on PostgreSQL: the cases of group_committer_cases.hpp, each in a schema
// of its own on the binary's throwaway server, then what PostgreSQL does instead of
// SQLite's busy lock (group_committer_test.cpp): it has row locks, no database write lock.
#include <chrono>
#include <thread>

#include "tests/storage/group_committer_cases.hpp"

namespace sb::storage {
namespace {

SB_STORE_SUITE_ON_POSTGRES(GroupCommitterOnEngine);

class GroupCommitterOnPostgres : public GroupCommitterOnEngine {
 protected:
  // Opens another connection and a transaction on it that writes inbound message `id` and
  // stays open (holder_tx_); holder_pid_ is that connection's server process.
  void hold(const std::string& id) {
    auto db = open_db(path());
    ASSERT_TRUE(db);
    holder_.emplace(std::move(db).value());
    holder_pid_ = query_int(*holder_, "SELECT pg_backend_pid()");
    auto tx = Transaction::begin(*holder_);
    ASSERT_TRUE(tx) << tx.error().message;
    holder_tx_.emplace(std::move(tx).value());
    auto st = holder_->exec(
        "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, received_at) VALUES ('telegram', '" + id +
        "', 'tg:1', 1)");
    ASSERT_TRUE(st) << st.error().message;
  }

  std::optional<Database> holder_;
  std::optional<Transaction> holder_tx_;  // after holder_: rolled back before it closes
  int64_t holder_pid_ = 0;
};
SB_STORE_SUITE_ON_POSTGRES(GroupCommitterOnPostgres);

// Where SQLite's batch fails with sqlite.busy, PostgreSQL's goes through: the other
// transaction's rows are not in the way, and not visible until it commits.
TEST_P(GroupCommitterOnPostgres, AnotherWritersOpenTransactionDoesNotHoldTheBatchUp) {
  ASSERT_NO_FATAL_FAILURE(hold("held"));
  const auto out = gc_->commit_batch({inbound("1"), inbound("2")});
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) EXPECT_TRUE(o.ok) << o.error_message;
  EXPECT_EQ(gc_->commits(), 1u);
  EXPECT_EQ(count(), 2);
  EXPECT_EQ(count("platform_message_id = 'held'"), 0);
  ASSERT_TRUE(holder_tx_->commit());
  EXPECT_EQ(count(), 3);
}

// A batch that writes the key another connection has written but not committed waits on
// that row's lock; once the other commits, that op alone fails with the engine-neutral
// constraint code and the rest of the batch commits.
TEST_P(GroupCommitterOnPostgres, AnUncommittedDuplicateOnAnotherConnectionFailsOnlyItsOp) {
  ASSERT_NO_FATAL_FAILURE(hold("1"));
  auto watcher = open_db(path());
  ASSERT_TRUE(watcher);

  std::vector<WriteOutcome> out;
  std::thread writer([&] { out = gc_->commit_batch({inbound("2"), inbound("1"), inbound("3")}); });
  bool waiting = false;
  const std::string blocked =
      "SELECT count(*) FROM pg_stat_activity WHERE " + std::to_string(holder_pid_) + " = ANY(pg_blocking_pids(pid))";
  for (int i = 0; i < 1000 && !waiting; ++i) {
    waiting = query_int(*watcher, blocked) > 0;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(waiting) << "the batch never waited on the other connection's row lock";
  EXPECT_TRUE(holder_tx_->commit());
  writer.join();

  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].ok) << out[0].error_message;
  EXPECT_FALSE(out[1].ok);
  EXPECT_EQ(out[1].error_code, kConstraintViolation);
  EXPECT_TRUE(out[2].ok) << out[2].error_message;
  EXPECT_EQ(gc_->commits(), 1u);
  EXPECT_EQ(count(), 3);
  EXPECT_FALSE(db_->in_transaction());
}

// In a pipeline a transaction statement does not fail: ROLLBACK would undo the writes
// before it (still reported committed), COMMIT would commit them apart from the rest, BEGIN
// would leave a transaction open past the batch. Such a batch fails as a whole, as on
// SQLite (OpThatEndsTheTransactionFailsTheBatch), and nothing of it is sent.
TEST_P(GroupCommitterOnPostgres, ATransactionStatementFailsTheBatchBeforeAnythingIsSent) {
  for (const char* sql :
       {"BEGIN", "COMMIT", "  -- a comment\n /* and another */ rollback", "START TRANSACTION", "SAVEPOINT x", "END"}) {
    SCOPED_TRACE(sql);
    const auto out = gc_->commit_batch({inbound("1"), WriteOp{sql, {}}, inbound("2")});
    ASSERT_EQ(out.size(), 3u);
    for (const auto& o : out) {
      EXPECT_FALSE(o.ok);
      EXPECT_EQ(o.error_code, "storage.batch_aborted");
    }
    EXPECT_EQ(count(), 0);
    EXPECT_FALSE(db_->in_transaction());
  }
  EXPECT_EQ(gc_->commits(), 0u);
  EXPECT_EQ(gc_->commit_single(WriteOp{"COMMIT", {}}).error_code, "storage.batch_aborted");
  // The committer is still usable afterwards.
  EXPECT_TRUE(gc_->commit_batch({inbound("1")})[0].ok);
  EXPECT_EQ(count(), 1);
  EXPECT_EQ(gc_->commits(), 1u);
}

}  // namespace
}  // namespace sb::storage
