// ClusterStore and fenced writes on PostgreSQL: the cases of cluster_store_cases.hpp, each
// in a schema of its own on the binary's throwaway server, then what needs several
// connections at once: racing acquirers, and a takeover waiting for a fenced write that
// holds the lease row.
#include <atomic>
#include <barrier>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "storage/sqlite.hpp"
#include "tests/storage/cluster_store_cases.hpp"

namespace sb::storage {
namespace {

using test::open_db;

// Runs `fn` when the scope ends, so that an ASSERT returning early still frees the locks
// and joins the threads instead of terminating the binary.
struct AtExit {
  std::function<void()> fn;
  ~AtExit() { fn(); }
};

SB_STORE_SUITE_ON_POSTGRES(ClusterStoreOnEngine);

class ClusterStoreOnPostgres : public ClusterStoreOnEngine {
 protected:
  // Waits (bounded) until connection `pid` waits on a lock that `blocker_pid` holds.
  void wait_blocked(Database& watcher, int64_t pid, int64_t blocker_pid) {
    const std::string sql = "SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid) + " AND " +
                            std::to_string(blocker_pid) + " = ANY(pg_blocking_pids(pid))";
    for (int i = 0; i < 1000; ++i) {
      if (query_int(watcher, sql) > 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "backend " << pid << " never waited on backend " << blocker_pid;
  }
};
SB_STORE_SUITE_ON_POSTGRES(ClusterStoreOnPostgres);

// Two nodes, two connections, the same resource at the same instant, many times: exactly
// one wins each round, for a new resource (both INSERT) and for an expired one (both UPDATE).
TEST_P(ClusterStoreOnPostgres, TwoConnectionsRacingForOneLeaseHaveExactlyOneWinner) {
  constexpr int kRounds = 100;
  constexpr int kExpiredRounds = 30;
  for (int i = 0; i < kExpiredRounds; ++i)
    ASSERT_EQ(store_->acquire("old:" + std::to_string(i), "node-0", 1).value(), std::optional<int64_t>(1));
  for (int i = 0; i < kExpiredRounds; ++i) ASSERT_NO_FATAL_FAILURE(wait_expired("old:" + std::to_string(i)));

  auto db_a = open_db(path_);
  auto db_b = open_db(path_);
  ASSERT_TRUE(db_a && db_b);
  ClusterStore a(*db_a), b(*db_b);
  std::barrier sync(2);
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  using Got = std::vector<std::optional<int64_t>>;
  Got got_a(kRounds + kExpiredRounds), got_b(kRounds + kExpiredRounds);
  const auto race = [&](ClusterStore& store, const std::string& holder, Got& got) {
    for (int i = 0; i < kRounds + kExpiredRounds; ++i) {
      const std::string resource = i < kRounds ? "new:" + std::to_string(i) : "old:" + std::to_string(i - kRounds);
      sync.arrive_and_wait();
      auto r = store.acquire(resource, holder, kLong);
      if (!r) {
        std::lock_guard lock(errors_mutex);
        errors.push_back(r.error().code + ": " + r.error().message);
      } else {
        got[static_cast<size_t>(i)] = *r;
      }
    }
  };
  std::thread ta(race, std::ref(a), std::string("node-a"), std::ref(got_a));
  std::thread tb(race, std::ref(b), std::string("node-b"), std::ref(got_b));
  ta.join();
  tb.join();
  EXPECT_TRUE(errors.empty()) << errors.front();

  auto all = store_->leases();
  ASSERT_TRUE(all);
  std::map<std::string, LeaseRow> by_resource;
  for (const auto& l : *all) by_resource[l.resource] = l;
  for (int i = 0; i < kRounds + kExpiredRounds; ++i) {
    const size_t k = static_cast<size_t>(i);
    const std::string resource = i < kRounds ? "new:" + std::to_string(i) : "old:" + std::to_string(i - kRounds);
    SCOPED_TRACE(resource);
    ASSERT_NE(got_a[k].has_value(), got_b[k].has_value()) << "exactly one winner";
    const int64_t epoch = got_a[k] ? *got_a[k] : *got_b[k];
    EXPECT_EQ(epoch, i < kRounds ? 1 : 2);
    EXPECT_EQ(by_resource[resource].holder, got_a[k] ? "node-a" : "node-b");
    EXPECT_EQ(by_resource[resource].epoch, epoch);
  }
}

// The fencing promise: a writer whose fence check passed keeps the lease row locked (FOR
// SHARE) until its transaction ends, so a takeover, even of a lease that expired meanwhile,
// waits and can only commit after the write. Shown with the writer's transaction held open
// by a third connection's row lock, the taker seen waiting on the writer's backend, and the
// taker reading the write right after its acquire returns.
TEST_P(ClusterStoreOnPostgres, ATakeoverWaitsForTheFencedWriteThatHoldsTheLeaseRow) {
  auto watcher = open_db(path_);
  ASSERT_TRUE(watcher);
  ClusterStore watch(*watcher);
  const int64_t writer_pid = query_int(*db_, "SELECT pg_backend_pid()");
  ASSERT_TRUE(gc_->commit_single(upsert_channel_state("slack", "main", "k", "before", 1)).ok);

  // The blocker holds the row the fenced write updates: the write stops after its fence.
  auto blocker = open_db(path_);
  ASSERT_TRUE(blocker);
  const int64_t blocker_pid = query_int(*blocker, "SELECT pg_backend_pid()");
  auto blocker_tx = Transaction::begin(*blocker);
  ASSERT_TRUE(blocker_tx);
  ASSERT_TRUE(blocker->exec("UPDATE channel_state SET value = 'blocker' WHERE key = 'k'"));

  auto taker_db = open_db(path_);
  ASSERT_TRUE(taker_db);
  const int64_t taker_pid = query_int(*taker_db, "SELECT pg_backend_pid()");
  ClusterStore taker(*taker_db);
  std::atomic<bool> taken{false};
  std::optional<int64_t> taken_epoch;
  std::string seen_after_take;

  constexpr int64_t kTtl = 1500;
  const int64_t epoch = store_->acquire("ns:a", "node-1", kTtl).value().value();
  WriteOp write = upsert_channel_state("slack", "main", "k", "fenced", 2);
  write.fence = Fence{"ns:a", "node-1", epoch};
  std::vector<WriteOutcome> out;
  std::thread writer([&] { out = gc_->commit_batch({write}); });
  std::thread take;
  AtExit cleanup{[&] {
    if (blocker_tx->active()) (void)blocker_tx->rollback();
    if (writer.joinable()) writer.join();
    if (take.joinable()) take.join();
  }};
  ASSERT_NO_FATAL_FAILURE(wait_blocked(*watcher, writer_pid, blocker_pid));

  // The lease expires while the write's transaction is open.
  bool expired = false;
  for (int i = 0; i < 500 && !expired; ++i) {
    auto all = watch.leases();
    ASSERT_TRUE(all) << all.error().message;
    for (const auto& l : *all)
      if (l.resource == "ns:a") expired = !l.live;
    if (!expired) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(expired);

  take = std::thread([&] {
    auto r = taker.acquire("ns:a", "node-2", kLong);
    taken = true;
    if (r) taken_epoch = *r;
    // A new statement sees what committed before it: the write, if it came first.
    auto value = read_channel_state(*taker_db, "slack", "main", "k");
    if (value && *value) seen_after_take = **value;
  });
  ASSERT_NO_FATAL_FAILURE(wait_blocked(*watcher, taker_pid, writer_pid));
  EXPECT_FALSE(taken) << "the takeover must wait for the fenced write's transaction";

  ASSERT_TRUE(blocker_tx->commit());
  writer.join();
  take.join();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].ok) << out[0].error_code << ": " << out[0].error_message;
  EXPECT_EQ(taken_epoch, std::optional<int64_t>(epoch + 1));
  EXPECT_EQ(seen_after_take, "fenced") << "the takeover committed after the write";

  // From now on the old holder's writes are refused.
  const auto late = gc_->commit_single(write);
  EXPECT_FALSE(late.ok);
  EXPECT_EQ(late.error_code, kFenced);
}

// sb_fence() raises its own SQLSTATE, which the engine reports as cluster.fenced.
TEST_P(ClusterStoreOnPostgres, TheFenceFunctionRaisesTheFencedSqlstate) {
  auto st = db_->exec("SELECT sb_fence('ns:none', 'node-1', 1)");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, kFenced);
  EXPECT_NE(st.error().message.find(std::string(kFencedSqlstate)), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace sb::storage
