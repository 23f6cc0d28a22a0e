#pragma once
// ClusterStore and fenced writes on both engines (tests/support/store_engines.hpp):
// membership, the lease compare-and-set with its epochs, expiry by the database clock, and
// the GroupCommitter refusing a write whose fence is stale. What needs two connections
// racing (PostgreSQL's row locks) is in cluster_store_postgres_test.cpp.
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/time.hpp"
#include "storage/channel_state_store.hpp"
#include "storage/cluster_store.hpp"
#include "storage/error_codes.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/store_engines.hpp"

namespace sb::storage {
namespace {

using test::query_int;

constexpr int64_t kLong = 60'000;  // a TTL no test outlives
constexpr int64_t kShort = 30;     // a TTL a test waits out

class ClusterStoreOnEngine : public ::sb::test::StoreOnEngine {
 protected:
  void SetUp() override {
    StoreOnEngine::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    store_.emplace(*db_);
  }

  std::optional<LeaseRow> lease(const std::string& resource) {
    auto all = store_->leases();
    EXPECT_TRUE(all) << all.error().message;
    if (!all) return std::nullopt;
    for (const auto& l : *all)
      if (l.resource == resource) return l;
    return std::nullopt;
  }

  // Waits (bounded) until the database clock has passed the lease's expiry.
  void wait_expired(const std::string& resource) {
    for (int i = 0; i < 500; ++i) {
      auto l = lease(resource);
      ASSERT_TRUE(l) << resource;
      if (!l->live) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "lease " << resource << " never expired";
  }

  int64_t channel_rows(const std::string& key) {
    return query_int(*db_, "SELECT count(*) FROM channel_state WHERE key = '" + key + "'");
  }

  static WriteOp fenced_write(const std::string& key, Fence fence) {
    WriteOp op = upsert_channel_state("slack", "main", key, "v", 1);
    op.fence = std::move(fence);
    return op;
  }

  std::optional<ClusterStore> store_;
};

TEST_P(ClusterStoreOnEngine, TheDatabaseClockIsUnixMilliseconds) {
  auto now = store_->db_now_ms();
  ASSERT_TRUE(now) << now.error().message;
  // The test's server runs on this machine: its clock is ours, within a generous margin.
  EXPECT_NEAR(static_cast<double>(*now), static_cast<double>(now_ms()), 60'000.0);
}

TEST_P(ClusterStoreOnEngine, AcquireIsACompareAndSetWithEpochs) {
  auto first = store_->acquire("ns:a", "node-1", kLong);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, std::optional<int64_t>(1));
  const auto held = lease("ns:a");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->holder, "node-1");
  EXPECT_TRUE(held->live);

  auto other = store_->acquire("ns:a", "node-2", kLong);
  ASSERT_TRUE(other);
  EXPECT_EQ(*other, std::nullopt) << "a live lease of another holder";

  // The holder again: the same epoch, the expiry extended (or at least kept).
  auto again = store_->acquire("ns:a", "node-1", kLong);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, std::optional<int64_t>(1));
  const auto renewed = lease("ns:a");
  ASSERT_TRUE(renewed);
  EXPECT_GE(renewed->expires_at_ms, held->expires_at_ms);
  EXPECT_EQ(renewed->acquired_at_ms, held->acquired_at_ms);

  auto bad = store_->acquire("ns:a", "node-1", 0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_field");
}

TEST_P(ClusterStoreOnEngine, AnExpiredLeaseGoesToTheNextHolderWithTheNextEpoch) {
  ASSERT_EQ(store_->acquire("bot:slack/main", "node-1", kShort).value(), std::optional<int64_t>(1));
  ASSERT_NO_FATAL_FAILURE(wait_expired("bot:slack/main"));
  EXPECT_EQ(store_->acquire("bot:slack/main", "node-2", kLong).value(), std::optional<int64_t>(2));
  const auto l = lease("bot:slack/main");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->holder, "node-2");
  EXPECT_EQ(l->epoch, 2);
  EXPECT_TRUE(l->live);
  // The old holder has lost it.
  EXPECT_EQ(store_->acquire("bot:slack/main", "node-1", kLong).value(), std::nullopt);
  // Its own lease expired, the same holder gets a new epoch: writes fenced with the old one
  // may have been refused meanwhile, and must stay refused.
  ASSERT_EQ(store_->acquire("ns:b", "node-1", kShort).value(), std::optional<int64_t>(1));
  ASSERT_NO_FATAL_FAILURE(wait_expired("ns:b"));
  EXPECT_EQ(store_->acquire("ns:b", "node-1", kLong).value(), std::optional<int64_t>(2));
}

TEST_P(ClusterStoreOnEngine, ReleaseFreesTheLeaseAtOnceAndKeepsItsEpoch) {
  ASSERT_EQ(store_->acquire("ns:a", "node-1", kLong).value(), std::optional<int64_t>(1));
  EXPECT_FALSE(store_->release("ns:a", "node-2", 1).value()) << "not the holder";
  EXPECT_FALSE(store_->release("ns:a", "node-1", 2).value()) << "not the epoch";
  EXPECT_TRUE(lease("ns:a")->live);
  EXPECT_TRUE(store_->release("ns:a", "node-1", 1).value());
  EXPECT_FALSE(lease("ns:a")->live);
  EXPECT_FALSE(store_->release("ns:a", "node-1", 1).value()) << "already released";
  EXPECT_EQ(store_->acquire("ns:a", "node-2", kLong).value(), std::optional<int64_t>(2));
}

TEST_P(ClusterStoreOnEngine, RenewAllExtendsOnlyTheHoldersLiveLeases) {
  ASSERT_EQ(store_->acquire("ns:expired", "node-1", kShort).value(), std::optional<int64_t>(1));
  ASSERT_EQ(store_->acquire("ns:live", "node-1", kLong).value(), std::optional<int64_t>(1));
  ASSERT_EQ(store_->acquire("ns:other", "node-2", kLong).value(), std::optional<int64_t>(1));
  ASSERT_NO_FATAL_FAILURE(wait_expired("ns:expired"));
  const int64_t before = lease("ns:live")->expires_at_ms;

  auto renewed = store_->renew_all("node-1", kLong);
  ASSERT_TRUE(renewed) << renewed.error().message;
  ASSERT_EQ(renewed->size(), 1u);
  EXPECT_EQ((*renewed)[0].resource, "ns:live");
  EXPECT_EQ((*renewed)[0].epoch, 1);
  EXPECT_GE((*renewed)[0].expires_at_ms, before);
  EXPECT_FALSE(lease("ns:expired")->live) << "an expired lease is not renewed";
  EXPECT_EQ(store_->renew_all("node-3", kLong).value().size(), 0u);
}

TEST_P(ClusterStoreOnEngine, MembersRegisterRenewDrainAndExpire) {
  MemberRow m;
  m.name = "node-1";
  m.advertise = "10.0.0.1:7000";
  m.incarnation = "inc-1";
  m.capacity = 8;
  m.heartbeat_interval_ms = 1000;
  m.connection_timeout_ms = 5000;
  ASSERT_TRUE(store_->upsert_member(m, kLong));
  auto members = store_->members();
  ASSERT_TRUE(members) << members.error().message;
  ASSERT_EQ(members->size(), 1u);
  const MemberView& v = (*members)[0];
  EXPECT_EQ(v.member.advertise, "10.0.0.1:7000");
  EXPECT_EQ(v.member.capacity, 8);
  EXPECT_EQ(v.member.heartbeat_interval_ms, 1000);
  EXPECT_EQ(v.member.connection_timeout_ms, 5000);
  EXPECT_EQ(v.member.state, "active");
  EXPECT_TRUE(v.live);
  EXPECT_GE(v.lease_age_ms, 0);
  // Each {now} reads the clock again (PostgreSQL's clock_timestamp()): equal within a few ms.
  EXPECT_NEAR(static_cast<double>(v.started_at_ms), static_cast<double>(v.renewed_at_ms), 50.0);
  EXPECT_NEAR(static_cast<double>(v.expires_at_ms - v.renewed_at_ms), static_cast<double>(kLong), 50.0);

  EXPECT_TRUE(store_->renew_member("node-1", "inc-1", kLong).value());
  EXPECT_FALSE(store_->renew_member("node-1", "inc-0", kLong).value()) << "another process of the name";
  EXPECT_FALSE(store_->renew_member("node-9", "inc-1", kLong).value());

  EXPECT_TRUE(store_->set_member_state("node-1", kMemberDraining).value());
  EXPECT_EQ(store_->members().value()[0].member.state, "draining");
  EXPECT_FALSE(store_->set_member_state("node-9", kMemberDraining).value());
  auto bad = store_->set_member_state("node-1", "gone");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_field");

  // A restart registers a new incarnation: the old process's heartbeat now fails.
  m.incarnation = "inc-2";
  ASSERT_TRUE(store_->upsert_member(m, kShort));
  EXPECT_FALSE(store_->renew_member("node-1", "inc-1", kLong).value());
  EXPECT_EQ(store_->members().value()[0].member.state, "active");
  bool expired = false;
  for (int i = 0; i < 500 && !expired; ++i) {
    expired = !store_->members().value()[0].live;
    if (!expired) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(expired) << "the member's row expires by the database clock";
  EXPECT_FALSE(store_->remove_member("node-1", "inc-1").value());
  EXPECT_TRUE(store_->remove_member("node-1", "inc-2").value());
  EXPECT_TRUE(store_->members().value().empty());
}

TEST_P(ClusterStoreOnEngine, AValidFenceCommits) {
  const int64_t epoch = store_->acquire("ns:a", "node-1", kLong).value().value();
  const auto out = gc_->commit_batch({fenced_write("k1", Fence{"ns:a", "node-1", epoch})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].ok) << out[0].error_code << ": " << out[0].error_message;
  EXPECT_EQ(out[0].changes, 1);
  EXPECT_EQ(channel_rows("k1"), 1);
  const auto single = gc_->commit_single(fenced_write("k2", Fence{"ns:a", "node-1", epoch}));
  EXPECT_TRUE(single.ok) << single.error_message;
  EXPECT_EQ(channel_rows("k2"), 1);
}

// A node that lost its lease (expired, taken over with epoch + 1) writes nothing more for
// that resource; the writes of the same batch that are not its, commit.
TEST_P(ClusterStoreOnEngine, AStaleFenceFailsItsOpAloneAndWritesNothing) {
  ASSERT_EQ(store_->acquire("ns:a", "node-1", kShort).value(), std::optional<int64_t>(1));
  ASSERT_NO_FATAL_FAILURE(wait_expired("ns:a"));
  // Expired, not yet taken over: already refused.
  auto expired = gc_->commit_single(fenced_write("k0", Fence{"ns:a", "node-1", 1}));
  EXPECT_FALSE(expired.ok);
  EXPECT_EQ(expired.error_code, kFenced);
  ASSERT_EQ(store_->acquire("ns:a", "node-2", kLong).value(), std::optional<int64_t>(2));

  const auto out = gc_->commit_batch({
      fenced_write("k1", Fence{}),                        // unfenced
      fenced_write("k2", Fence{"ns:a", "node-1", 1}),     // the old holder
      fenced_write("k3", Fence{"ns:a", "node-2", 2}),     // the new holder
      fenced_write("k4", Fence{"ns:a", "node-2", 1}),     // right holder, wrong epoch
      fenced_write("k5", Fence{"ns:none", "node-2", 1}),  // no such lease
  });
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(out[0].ok) << out[0].error_message;
  EXPECT_TRUE(out[2].ok) << out[2].error_message;
  for (size_t i : {1u, 3u, 4u}) {
    EXPECT_FALSE(out[i].ok) << i;
    EXPECT_EQ(out[i].error_code, kFenced) << i << ": " << out[i].error_message;
    EXPECT_NE(out[i].error_message.find("ns:"), std::string::npos) << out[i].error_message;
  }
  EXPECT_EQ(channel_rows("k0"), 0);
  EXPECT_EQ(channel_rows("k1"), 1);
  EXPECT_EQ(channel_rows("k2"), 0);
  EXPECT_EQ(channel_rows("k3"), 1);
  EXPECT_EQ(channel_rows("k4"), 0);
  EXPECT_EQ(channel_rows("k5"), 0);
  EXPECT_FALSE(db_->in_transaction());
  // The committer goes on.
  EXPECT_TRUE(gc_->commit_single(fenced_write("k6", Fence{"ns:a", "node-2", 2})).ok);
}

}  // namespace
}  // namespace sb::storage
