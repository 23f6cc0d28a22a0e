// run_batch: group commit through libpq's pipeline mode against a real server. One
// transaction per batch, each write with its own outcome, a failing write left out.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/error_codes.hpp"
#include "storage/postgres/pg_batch.hpp"
#include "storage/postgres/pg_error.hpp"
#include "tests/support/pg_server.hpp"

namespace sb::storage::pg {
namespace {

sb::test::PgServer* g_batch_pg = sb::test::shared_pg_server();

WriteOp insert_kv(int64_t k, std::string v) {
  return WriteOp{"INSERT INTO kv (k, v) VALUES (?1, ?2)", {SqlParam::of(k), SqlParam::of(std::move(v))}};
}

class PgBatch : public ::testing::Test {
 protected:
  void SetUp() override {
    SB_REQUIRE_PG(g_batch_pg);
    auto db = PgDatabase::open(g_batch_pg->options(sb::test::unique_name("b")));
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::make_unique<PgDatabase>(std::move(*db));
    ASSERT_TRUE(db_->exec("CREATE TABLE kv (k bigint PRIMARY KEY, v text, b bytea)"));
  }

  int64_t rows() {
    auto s = db_->prepare("SELECT count(*) FROM kv");
    if (!s || !s->step()) return -1;
    return s->column_int64(0);
  }

  std::unique_ptr<PgDatabase> db_;
};

TEST_F(PgBatch, AllWritesCommitTogether) {
  std::vector<WriteOp> ops;
  for (int64_t k = 0; k < 50; ++k) ops.push_back(insert_kv(k, "v" + std::to_string(k)));
  ops.push_back(WriteOp{"UPDATE kv SET b = ?1 WHERE k < ?2",
                        {SqlParam::blob_of(std::string("\0\xff", 2)), SqlParam::of(int64_t{10})}});
  const auto out = run_batch(*db_, ops);
  ASSERT_EQ(out.size(), ops.size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_TRUE(out[i].ok) << i << ": " << out[i].error_message;
  EXPECT_EQ(out[0].changes, 1);
  EXPECT_EQ(out.back().changes, 10);
  EXPECT_EQ(rows(), 50);
  EXPECT_FALSE(db_->in_transaction());
}

TEST_F(PgBatch, AFailingWriteIsLeftOutAndTheRestCommits) {
  ASSERT_TRUE(run_batch(*db_, {insert_kv(1, "first")})[0].ok);
  std::vector<WriteOp> ops = {insert_kv(2, "a"),
                              insert_kv(1, "duplicate"),
                              insert_kv(3, "b"),
                              WriteOp{"INSERT INTO nowhere VALUES (?1)", {SqlParam::of(int64_t{1})}},
                              insert_kv(3, "duplicate within the batch"),
                              insert_kv(4, "c"),
                              WriteOp{"INSERT INTO kv (k, v) VALUES (?1, ?2)",
                                      {SqlParam::of(int64_t{5}), SqlParam::of(std::string("nul\0", 4))}}};
  const auto out = run_batch(*db_, ops);
  ASSERT_EQ(out.size(), ops.size());
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(out[1].error_code, kConstraintViolation);
  EXPECT_TRUE(out[2].ok);
  EXPECT_EQ(out[3].error_code, kError);
  EXPECT_EQ(out[4].error_code, kConstraintViolation);
  EXPECT_TRUE(out[5].ok);
  EXPECT_EQ(out[6].error_code, kBadParam);
  EXPECT_EQ(rows(), 4);  // 1, 2, 3, 4
}

// A write with the wrong number of parameters fails alone, as on SQLite; sent as it is, the
// server's protocol error would have failed the whole batch.
TEST_F(PgBatch, AWriteWithTheWrongParameterCountFailsAlone) {
  const auto out =
      run_batch(*db_, {insert_kv(1, "a"), WriteOp{"INSERT INTO kv (k, v) VALUES (?1, ?2)", {SqlParam::of(int64_t{2})}},
                       insert_kv(3, "c")});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].ok) << out[0].error_message;
  EXPECT_EQ(out[1].error_code, "storage.param_count");
  EXPECT_TRUE(out[2].ok) << out[2].error_message;
  EXPECT_EQ(rows(), 2);
}

TEST_F(PgBatch, ALargeBatchDoesNotDeadlockThePipe) {
  // Enough bytes in both directions to fill the socket buffers several times over.
  std::vector<WriteOp> ops;
  const std::string big(2000, 'x');
  for (int64_t k = 0; k < 5000; ++k) ops.push_back(insert_kv(k, big));
  const auto out = run_batch(*db_, ops);
  size_t ok = 0;
  for (const auto& o : out) ok += o.ok ? 1 : 0;
  EXPECT_EQ(ok, ops.size());
  EXPECT_EQ(rows(), 5000);
}

TEST_F(PgBatch, RefusedInsideATransactionAndEmptyIsNothing) {
  EXPECT_TRUE(run_batch(*db_, {}).empty());
  auto tx = PgTransaction::begin(*db_);
  ASSERT_TRUE(tx);
  const auto out = run_batch(*db_, {insert_kv(1, "x")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].error_code, kError);
}

// Each statement text is parsed once per session: later batches only bind and execute it.
TEST_F(PgBatch, EachStatementTextIsPreparedOncePerSession) {
  auto prepared = [&] {
    auto s = db_->prepare("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'sbb\\_%'");
    if (!s || !s->step()) return int64_t{-1};
    return s->column_int64(0);
  };
  for (int64_t round = 0; round < 3; ++round) {
    std::vector<WriteOp> ops;
    for (int64_t k = 0; k < 20; ++k) ops.push_back(insert_kv(round * 100 + k, "v"));
    ops.push_back(WriteOp{"UPDATE kv SET v = ?1 WHERE k = ?2", {SqlParam::of(std::string("u")), SqlParam::of(round)}});
    for (const auto& o : run_batch(*db_, ops)) ASSERT_TRUE(o.ok) << o.error_message;
    EXPECT_EQ(prepared(), 2) << "round " << round;
  }
  EXPECT_EQ(rows(), 60);
  // A new session (a reconnect) has none of them: they are prepared again on first use.
  ASSERT_TRUE(db_->reconnect());
  EXPECT_EQ(prepared(), 0);
  for (const auto& o : run_batch(*db_, {insert_kv(1000, "after")})) ASSERT_TRUE(o.ok) << o.error_message;
  EXPECT_EQ(prepared(), 1);
  EXPECT_EQ(rows(), 61);
}

// The server already has a statement under the name this side meant to prepare (an earlier
// batch cut short before its answer was read): the batch is sent again and commits.
TEST_F(PgBatch, AStatementTheServerAlreadyHasIsUsedNotRefused) {
  const WriteOp op = insert_kv(7, "seven");
  const std::string translated = "INSERT INTO kv (k, v) VALUES ($1, $2)";
  const auto stmt = db_->batch_statement(translated);
  ASSERT_FALSE(stmt.name.empty());
  ASSERT_FALSE(stmt.prepared);
  ASSERT_TRUE(db_->exec("PREPARE " + stmt.name + " AS " + translated));
  const auto out = run_batch(*db_, {op, insert_kv(8, "eight")});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].ok) << out[0].error_message;
  EXPECT_TRUE(out[1].ok) << out[1].error_message;
  EXPECT_EQ(rows(), 2);
  EXPECT_TRUE(db_->batch_statement(translated).prepared);
}

}  // namespace
}  // namespace sb::storage::pg
