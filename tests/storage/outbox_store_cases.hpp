#pragma once
// outbox_store on both engines (tests/support/store_engines.hpp): the writes through the
// GroupCommitter the storage writer uses, the sender's due-rows read on a read-only
// connection. Enqueueing with an idempotency key (also by two writers at once), the
// pending read's order and holds, and the claim a sender commits before its request.
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/outbox_store.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/store_engines.hpp"

namespace sb::storage {
namespace {

struct PendingRow {
  int64_t id = 0;
  std::string chat;
  bool in_flight = false;
};

class OutboxStore : public sb::test::StoreOnEngine {
 protected:
  std::vector<int64_t> enqueue(const std::string& chat, const std::vector<std::string>& pieces,
                               const std::string& key = "", int64_t now = 1000) {
    auto out = gc_->commit_single(insert_pieces("slack", "main", chat, pieces, "", now, key));
    EXPECT_TRUE(out.ok) << out.error_code << ": " << out.error_message;
    return inserted_ids(out);
  }
  void write(const WriteOp& op) {
    auto out = gc_->commit_single(op);
    EXPECT_TRUE(out.ok) << out.error_code << ": " << out.error_message;
  }
  std::vector<PendingRow> pending(int64_t now, int64_t limit = 100) {
    std::vector<PendingRow> rows;
    auto stmt = reader_->prepare(kSelectPending);
    EXPECT_TRUE(stmt) << stmt.error().message;
    if (!stmt) return rows;
    (void)stmt->bind(1, "slack");
    (void)stmt->bind(2, "main");
    (void)stmt->bind(3, limit);
    (void)stmt->bind(4, now);
    for (;;) {
      auto row = stmt->step();
      EXPECT_TRUE(row) << row.error().message;
      if (!row || !*row) break;
      rows.push_back({stmt->column_int64(0), stmt->column_text(1), stmt->column_int64(7) != 0});
    }
    return rows;
  }
  std::vector<int64_t> ids_by_key(const std::string& key, size_t pieces) {
    const Query q = select_by_key(key, pieces);
    std::vector<int64_t> ids;
    auto stmt = reader_->prepare(q.sql);
    EXPECT_TRUE(stmt) << stmt.error().message;
    if (!stmt) return ids;
    for (size_t i = 0; i < q.params.size(); ++i) (void)stmt->bind_param(static_cast<int>(i) + 1, q.params[i]);
    for (;;) {
      auto row = stmt->step();
      if (!row || !*row) break;
      ids.push_back(stmt->column_int64(0));
    }
    return ids;
  }
};

TEST_P(OutboxStore, PiecesGetIdsInOrderAndAKeyedMessageIsEnqueuedOnce) {
  const auto ids = enqueue("slack:C1", {"one", "two", "three"}, "ns:7:0");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
  auto again =
      gc_->commit_single(insert_pieces("slack", "main", "slack:C1", {"one", "two", "three"}, "", 2000, "ns:7:0"));
  ASSERT_TRUE(again.ok) << again.error_message;
  EXPECT_EQ(again.changes, 0) << "a replayed turn enqueues nothing";
  EXPECT_EQ(ids_by_key("ns:7:0", 3), ids);
  EXPECT_EQ(sb::storage::test::query_int(*db_, "SELECT count(*) FROM outbox"), 3);
}

TEST_P(OutboxStore, DueRowsComeInOrderAndARetryingHeadHoldsOnlyItsOwnChat) {
  const auto a = enqueue("slack:A", {"a1", "a2"});
  const auto b = enqueue("slack:B", {"b1"});
  write(mark_retry(a[0], 1, 5000, "429", 1100));  // chat A's head waits until 5000
  auto due = pending(2000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, b[0]) << "a2 stays behind a1, chat B goes on";
  auto later = pending(6000);
  ASSERT_EQ(later.size(), 3u);
  EXPECT_EQ(later[0].id, a[0]);
  EXPECT_EQ(later[1].id, a[1]);
  EXPECT_EQ(later[2].id, b[0]);
  EXPECT_EQ(pending(6000, 1).size(), 1u);
}

TEST_P(OutboxStore, AClaimIsCommittedBeforeTheRequestAndClearedByItsOutcome) {
  const auto ids = enqueue("slack:C1", {"hello", "world"});
  write(mark_attempts_started(ids, 1500));
  auto claimed = pending(2000);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_TRUE(claimed[0].in_flight);
  EXPECT_TRUE(claimed[1].in_flight);
  write(mark_sent(ids[0], 1, "ts-1", 1600));
  write(clear_attempts_started({ids[1]}));
  auto left = pending(2000);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, ids[1]);
  EXPECT_FALSE(left[0].in_flight);
  write(mark_failed(ids[1], 5, "gone", 1700));
  EXPECT_TRUE(pending(2000).empty());
  EXPECT_EQ(sb::storage::test::query_text(*db_, "SELECT delivered_id FROM outbox WHERE id = " + std::to_string(ids[0])),
            "ts-1");
}

// Two nodes replaying the same turn enqueue its reply at the same time: the idempotency
// keys store it once, and neither writer sees an error.
TEST_P(OutboxStore, TwoWritersEnqueueingTheSameKeyedReplyStoreItOnce) {
  constexpr int kReplies = 40;
  std::vector<std::string> errors[2];
  int64_t stored[2] = {0, 0};
  auto run = [&](int w) {
    auto db = Database::open(path_);
    if (!db) {
      errors[w].push_back(db.error().message);
      return;
    }
    GroupCommitter gc(*db);
    for (int i = 0; i < kReplies; ++i) {
      const std::string key = "ns:" + std::to_string(i) + ":0";
      for (const auto& out : gc.commit_batch({insert_pieces("slack", "main", "slack:C1", {"p0", "p1"}, "", 1, key)})) {
        if (!out.ok) errors[w].push_back(out.error_code + ": " + out.error_message);
        stored[w] += out.changes;
      }
    }
  };
  std::thread a(run, 0);
  std::thread b(run, 1);
  a.join();
  b.join();
  for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e.front();
  EXPECT_EQ(stored[0] + stored[1], 2 * kReplies);
  EXPECT_EQ(sb::storage::test::query_int(*db_, "SELECT count(*) FROM outbox"), 2 * kReplies);
}

}  // namespace
}  // namespace sb::storage
