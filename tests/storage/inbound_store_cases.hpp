#pragma once
// inbound_store on both engines (tests/support/store_engines.hpp): the writes run through
// the GroupCommitter the storage writer uses, the reads on a read-only connection of their
// own, as the actors do. Dedupe per (channel, bot, platform id), also between two writers
// racing on the same messages; how rows end, the replay read, lookups.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/group_committer.hpp"
#include "storage/inbound_store.hpp"
#include "storage/migrations.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/store_engines.hpp"

namespace sb::storage {
namespace {

using messaging::StoredMessage;
using test::open_db;
using test::query_int;
using test::query_text;
using test::TempDir;

StoredMessage message(const std::string& platform_id, const std::string& bot = "main",
                      const std::string& chat = "slack:C1") {
  StoredMessage m;
  m.channel = "slack";
  m.bot = bot;
  m.platform_message_id = platform_id;
  m.chat_jid = chat;
  m.sender_id = "U1";
  m.sender_name = "Ada";
  m.text = "hello " + platform_id;
  m.reply_ref = "reply-" + platform_id;
  m.message_ref = "ref-" + platform_id;
  m.timestamp_ms = 1700000000123;
  m.is_group = true;
  m.mentions_bot = true;
  return m;
}

class InboundStore : public sb::test::StoreOnEngine {
 protected:
  WriteOutcome write(const WriteOp& op) {
    auto out = gc_->commit_batch({op});
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? WriteOutcome{} : out.front();
  }
  int64_t insert(const StoredMessage& m) {
    auto out = write(insert_inbound(m, 1700000000999));
    EXPECT_TRUE(out.ok) << out.error_message;
    EXPECT_EQ(out.changes, 1);
    return stored_inbound_id(out).value_or(0);
  }
  std::vector<int64_t> received_ids(int64_t after, int64_t limit) {
    auto rows = read_received_inbound(*reader_, after, limit);
    EXPECT_TRUE(rows) << rows.error().message;
    std::vector<int64_t> ids;
    if (rows)
      for (const auto& m : *rows) ids.push_back(m.id);
    return ids;
  }
  std::string state_of(int64_t id) {
    return query_text(*db_, "SELECT state FROM inbound_messages WHERE id = " + std::to_string(id));
  }
};

TEST_P(InboundStore, AMessageIsStoredOnceAndItsRedeliveryChangesNothing) {
  const auto out = gc_->commit_batch({insert_inbound(message("p1"), 5), insert_inbound(message("p1"), 6)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(out[0].changes, 1);
  ASSERT_TRUE(stored_inbound_id(out[0]).has_value());
  EXPECT_GT(*stored_inbound_id(out[0]), 0);
  // The duplicate is not an error: ok with nothing changed (the ingest counts it).
  EXPECT_TRUE(out[1].ok) << out[1].error_message;
  EXPECT_EQ(out[1].changes, 0);
  EXPECT_FALSE(stored_inbound_id(out[1]).has_value());
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM inbound_messages"), 1);
  EXPECT_EQ(query_int(*db_, "SELECT received_at FROM inbound_messages"), 5);
}

TEST_P(InboundStore, TheSamePlatformIdOfAnotherBotIsAnotherMessage) {
  insert(message("p1", "main"));
  insert(message("p1", "second"));
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM inbound_messages"), 2);
}

TEST_P(InboundStore, EveryFieldComesBackFromTheReplayRead) {
  const auto original = message("p1");
  const int64_t id = insert(original);
  EXPECT_EQ(state_of(id), "received");
  auto rows = read_received_inbound(*reader_, 0, 10);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  const auto& m = rows->front();
  EXPECT_EQ(m.id, id);
  EXPECT_EQ(m.channel, original.channel);
  EXPECT_EQ(m.bot, original.bot);
  EXPECT_EQ(m.platform_message_id, original.platform_message_id);
  EXPECT_EQ(m.chat_jid, original.chat_jid);
  EXPECT_EQ(m.sender_id, original.sender_id);
  EXPECT_EQ(m.sender_name, original.sender_name);
  EXPECT_EQ(m.text, original.text);
  EXPECT_EQ(m.reply_ref, original.reply_ref);
  EXPECT_EQ(m.message_ref, original.message_ref);
  EXPECT_EQ(m.timestamp_ms, original.timestamp_ms);
  EXPECT_TRUE(m.is_group);
  EXPECT_TRUE(m.mentions_bot);
  EXPECT_EQ(m.turn_last_id, 0);  // never handed to a turn
}

// A turn's boundary is stored on its rows when it starts and comes back with the replay
// read, so the namespace forms the same turn after a crash. Rows that already ended keep
// theirs; a second mark of the same turn changes nothing.
TEST_P(InboundStore, ATurnsBoundaryIsStoredOnItsReceivedRowsAndReplayed) {
  const int64_t a = insert(message("p1"));
  const int64_t b = insert(message("p2"));
  const int64_t c = insert(message("p3"));
  const int64_t done = insert(message("p4"));
  ASSERT_TRUE(write(mark_inbound({done}, "ns-1")).ok);
  auto out = write(mark_turn_started({a, b, done}, b));
  ASSERT_TRUE(out.ok) << out.error_message;
  EXPECT_EQ(out.changes, 2);                                  // the done row is left alone
  EXPECT_EQ(write(mark_turn_started({a, b}, b)).changes, 2);  // idempotent: same values
  auto rows = read_received_inbound(*reader_, 0, 10);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].turn_last_id, b);
  EXPECT_EQ((*rows)[1].turn_last_id, b);
  EXPECT_EQ((*rows)[2].id, c);
  EXPECT_EQ((*rows)[2].turn_last_id, 0);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM inbound_messages WHERE turn_last_id IS NOT NULL"), 2);
}

TEST_P(InboundStore, TheReplayReadPagesThroughReceivedRowsInIdOrder) {
  std::vector<int64_t> ids;
  for (int i = 1; i <= 5; ++i) ids.push_back(insert(message("p" + std::to_string(i))));
  ASSERT_TRUE(write(mark_inbound({ids[1]}, "ns-1")).ok);
  ASSERT_TRUE(write(drop_received_inbound(ids[2], "no_mapping")).ok);

  EXPECT_EQ(received_ids(0, 2), (std::vector<int64_t>{ids[0], ids[3]}));
  EXPECT_EQ(received_ids(ids[3], 2), (std::vector<int64_t>{ids[4]}));
  EXPECT_TRUE(received_ids(ids[4], 2).empty());
}

TEST_P(InboundStore, TheRouterDropsOnlyARowStillReceived) {
  const int64_t a = insert(message("a"));
  const int64_t b = insert(message("b"));
  auto dropped = write(drop_received_inbound(a, "not_allowed"));
  EXPECT_TRUE(dropped.ok);
  EXPECT_EQ(dropped.changes, 1);
  EXPECT_EQ(state_of(a), "dropped");
  EXPECT_EQ(query_text(*db_, "SELECT drop_reason FROM inbound_messages WHERE id = " + std::to_string(a)),
            "not_allowed");

  ASSERT_TRUE(write(mark_inbound({b}, "ns-1")).ok);
  auto late = write(drop_received_inbound(b, "not_allowed"));
  EXPECT_TRUE(late.ok);
  EXPECT_EQ(late.changes, 0);
  EXPECT_EQ(state_of(b), "done");
}

TEST_P(InboundStore, ATurnMarksItsRowsDoneOrDroppedWithItsNamespace) {
  const int64_t a = insert(message("a"));
  const int64_t b = insert(message("b"));
  const int64_t c = insert(message("c"));
  auto done = write(mark_inbound({a, b}, "ns-1"));
  EXPECT_TRUE(done.ok);
  EXPECT_EQ(done.changes, 2);
  EXPECT_EQ(state_of(a), "done");
  EXPECT_EQ(state_of(b), "done");
  EXPECT_EQ(query_text(*db_, "SELECT namespace_id FROM inbound_messages WHERE id = " + std::to_string(b)), "ns-1");

  ASSERT_TRUE(write(mark_inbound({c}, "ns-2", "queue_full")).ok);
  EXPECT_EQ(state_of(c), "dropped");
  EXPECT_EQ(query_text(*db_, "SELECT drop_reason || '/' || namespace_id FROM inbound_messages WHERE id = " +
                                 std::to_string(c)),
            "queue_full/ns-2");
}

TEST_P(InboundStore, AStoredMessageIsFoundByChannelBotAndPlatformId) {
  auto m = message("uuid-1");
  m.channel = "local";
  m.bot = "local";
  const int64_t id = insert(m);
  auto found = find_inbound_id(*reader_, "local", "local", "uuid-1");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, id);

  auto other_bot = find_inbound_id(*reader_, "local", "main", "uuid-1");
  ASSERT_TRUE(other_bot);
  EXPECT_FALSE(other_bot->has_value());
  auto missing = find_inbound_id(*reader_, "local", "local", "uuid-2");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_P(InboundStore, TheLatestBotIsTheOneOfTheChatsNewestMessage) {
  auto none = read_latest_bot(*reader_, "slack:C1");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, "");
  insert(message("1", "main", "slack:C1"));
  insert(message("2", "second", "slack:C1"));
  insert(message("3", "third", "slack:C2"));
  auto latest = read_latest_bot(*reader_, "slack:C1");
  ASSERT_TRUE(latest);
  EXPECT_EQ(*latest, "slack/second");
}

TEST_P(InboundStore, EachKindOfWriteHasOneSqlTextSoTheWriterReusesItsStatement) {
  EXPECT_EQ(insert_inbound(message("a"), 1).sql, insert_inbound(message("b", "x", "tg:1"), 2).sql);
  EXPECT_EQ(drop_received_inbound(1, "a").sql, drop_received_inbound(2, "b").sql);
  EXPECT_EQ(mark_inbound({1, 2}, "a").sql, mark_inbound({3, 4}, "b").sql);
}

TEST_P(InboundStore, ReadsOnAMissingTableFailWithTheEnginesCode) {
  ASSERT_TRUE(db_->exec("DROP TABLE inbound_messages"));
  auto rows = read_received_inbound(*db_, 0, 10);
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, sb::test::sql_error_code(GetParam()));
}

// Two nodes (two connections, each with its own group committer) receive the same
// redelivered webhooks at the same time: every message is stored exactly once, and exactly
// one writer is told it stored it; the other sees a duplicate (ok, nothing changed), never
// an error. Both send in the same order, as two nodes behind one platform do.
TEST_P(InboundStore, TwoWritersRacingOnTheSameMessagesStoreEachOnce) {
  constexpr int kBatches = 8;
  constexpr int kPerBatch = 25;
  struct Writer {
    std::vector<int64_t> stored;  // ids this writer was told it stored
    std::vector<std::string> errors;
  };
  Writer writers[2];
  auto run = [&](Writer& w) {
    auto db = Database::open(path_);
    if (!db) {
      w.errors.push_back(db.error().message);
      return;
    }
    GroupCommitter gc(*db);
    for (int b = 0; b < kBatches; ++b) {
      std::vector<WriteOp> ops;
      for (int i = 0; i < kPerBatch; ++i)
        ops.push_back(insert_inbound(message("race-" + std::to_string(b * kPerBatch + i)), 7));
      for (const auto& out : gc.commit_batch(ops)) {
        if (!out.ok) w.errors.push_back(out.error_code + ": " + out.error_message);
        if (auto id = stored_inbound_id(out)) w.stored.push_back(*id);
      }
    }
  };
  std::thread a(run, std::ref(writers[0]));
  std::thread b(run, std::ref(writers[1]));
  a.join();
  b.join();
  for (const auto& w : writers) EXPECT_TRUE(w.errors.empty()) << w.errors.front();
  std::set<int64_t> ids(writers[0].stored.begin(), writers[0].stored.end());
  for (int64_t id : writers[1].stored) EXPECT_TRUE(ids.insert(id).second) << "id " << id << " stored twice";
  EXPECT_EQ(ids.size(), static_cast<size_t>(kBatches * kPerBatch));
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM inbound_messages"), kBatches * kPerBatch);
  EXPECT_EQ(query_int(*db_, "SELECT count(DISTINCT platform_message_id) FROM inbound_messages"), kBatches * kPerBatch);
}

}  // namespace
}  // namespace sb::storage
