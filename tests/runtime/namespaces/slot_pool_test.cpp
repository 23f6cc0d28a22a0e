// SlotPool: the global container limit, fair FIFO across namespaces, one slot per
// namespace, pre-emption of idle containers for scheduled tasks, hostile sequences, and
// a seeded random walk that checks the invariants after every call.
#include "runtime/namespaces/slot_pool.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using sb::namespaces::PoolDecision;
using sb::namespaces::PoolOutcome;
using sb::namespaces::RequestKind;
using sb::namespaces::SlotPool;
using sb::namespaces::SlotState;
using Names = std::vector<std::string>;

std::string ns(int i) {
  return "ns" + std::to_string(i);
}

TEST(SlotPool, GrantsUpToTheLimitThenQueues) {
  SlotPool pool;  // default limit
  EXPECT_EQ(pool.limit(), 5u);
  for (int i = 0; i < 5; ++i) {
    auto d = pool.request(ns(i));
    EXPECT_EQ(d.outcome, PoolOutcome::granted);
    EXPECT_EQ(d.start, Names{ns(i)});
  }
  auto d = pool.request(ns(5));
  EXPECT_EQ(d.outcome, PoolOutcome::queued);
  EXPECT_TRUE(d.start.empty());
  EXPECT_EQ(pool.state(ns(5)), SlotState::waiting);
  EXPECT_EQ(pool.running(), 5u);
  EXPECT_EQ(pool.waiting(), 1u);
  d = pool.release(ns(2));
  EXPECT_EQ(d.outcome, PoolOutcome::released);
  EXPECT_EQ(d.start, Names{ns(5)});
  EXPECT_EQ(pool.state(ns(5)), SlotState::running_busy);
  EXPECT_EQ(pool.state(ns(2)), SlotState::none);
}

TEST(SlotPool, TenNamespacesLimitTwoAreServedInFifoOrderWithoutStarvation) {
  SlotPool pool(2);
  Names grants;
  for (int i = 0; i < 10; ++i) {
    auto d = pool.request(ns(i));
    grants.insert(grants.end(), d.start.begin(), d.start.end());
  }
  EXPECT_EQ(grants, (Names{ns(0), ns(1)}));
  EXPECT_EQ(pool.waiting_order(), (Names{ns(2), ns(3), ns(4), ns(5), ns(6), ns(7), ns(8), ns(9)}));
  // 50 rounds: the oldest runner finishes and immediately asks again (a chatty namespace
  // that must not starve the others).
  std::vector<std::string> running = {ns(0), ns(1)};
  std::map<std::string, int> served;
  for (int round = 0; round < 50; ++round) {
    const std::string done = running.front();
    running.erase(running.begin());
    auto d = pool.release(done);
    ASSERT_EQ(d.outcome, PoolOutcome::released);
    ASSERT_EQ(d.start.size(), 1u);
    grants.push_back(d.start.front());
    running.push_back(d.start.front());
    ++served[d.start.front()];
    EXPECT_EQ(pool.request(done).outcome, PoolOutcome::queued);
    EXPECT_LE(pool.running(), 2u);
  }
  // Grants follow arrival order exactly: ns0..ns9, ns0..ns9, ...
  for (std::size_t i = 0; i < grants.size(); ++i) EXPECT_EQ(grants[i], ns(static_cast<int>(i % 10))) << i;
  for (int i = 0; i < 10; ++i) EXPECT_GE(served[ns(i)], 4) << ns(i);
}

TEST(SlotPool, ANamespaceHoldsAtMostOneSlot) {
  SlotPool pool(3);
  EXPECT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  auto d = pool.request("a");
  EXPECT_EQ(d.outcome, PoolOutcome::running);  // deliver to the running container
  EXPECT_TRUE(d.start.empty());
  EXPECT_EQ(pool.running(), 1u);
  ASSERT_EQ(pool.mark_idle("a").outcome, PoolOutcome::marked);
  d = pool.request("a");
  EXPECT_EQ(d.outcome, PoolOutcome::running);
  EXPECT_EQ(pool.state("a"), SlotState::running_busy);  // the input makes it busy
  EXPECT_EQ(pool.running(), 1u);
}

TEST(SlotPool, DoubleRequestWhileWaitingKeepsThePosition) {
  SlotPool pool(1);
  ASSERT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.request("b").outcome, PoolOutcome::queued);
  ASSERT_EQ(pool.request("c").outcome, PoolOutcome::queued);
  EXPECT_EQ(pool.request("b").outcome, PoolOutcome::already_waiting);
  EXPECT_EQ(pool.request("b").outcome, PoolOutcome::already_waiting);
  EXPECT_EQ(pool.waiting_order(), (Names{"b", "c"}));
  EXPECT_EQ(pool.release("a").start, Names{"b"});
}

TEST(SlotPool, ScheduledRequestPreemptsTheOldestIdleNamespace) {
  SlotPool pool(3);
  for (auto n : {"a", "b", "c"}) ASSERT_EQ(pool.request(n).outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.mark_idle("b").outcome, PoolOutcome::marked);  // idle first
  ASSERT_EQ(pool.mark_idle("c").outcome, PoolOutcome::marked);
  ASSERT_EQ(pool.mark_idle("b").outcome, PoolOutcome::marked);  // still idle: keeps its age
  auto d = pool.request("task", RequestKind::scheduled);
  EXPECT_EQ(d.outcome, PoolOutcome::queued);
  EXPECT_EQ(d.preempt, Names{"b"});
  EXPECT_EQ(pool.state("b"), SlotState::stopping);
  EXPECT_EQ(pool.state("a"), SlotState::running_busy);
  EXPECT_EQ(pool.state("task"), SlotState::waiting);
  // A message request that arrives meanwhile does not jump the hand-over.
  EXPECT_EQ(pool.request("m").outcome, PoolOutcome::queued);
  d = pool.release("b");
  EXPECT_EQ(d.start, Names{"task"});
  EXPECT_EQ(pool.state("task"), SlotState::running_busy);
  EXPECT_EQ(pool.waiting_order(), Names{"m"});
  EXPECT_EQ(pool.running(), 3u);
}

TEST(SlotPool, BusyNamespacesAreNeverPreempted) {
  SlotPool pool(2);
  ASSERT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.request("b").outcome, PoolOutcome::granted);
  auto d = pool.request("task", RequestKind::scheduled);
  EXPECT_EQ(d.outcome, PoolOutcome::queued);
  EXPECT_TRUE(d.preempt.empty());
  // A message request never pre-empts, even an idle namespace.
  ASSERT_TRUE(pool.mark_busy("a").outcome == PoolOutcome::marked);
  SlotPool other(1);
  ASSERT_EQ(other.request("x").outcome, PoolOutcome::granted);
  ASSERT_EQ(other.mark_idle("x").outcome, PoolOutcome::marked);
  EXPECT_TRUE(other.request("y").preempt.empty());
  // The moment one becomes idle, the waiting task takes it.
  d = pool.mark_idle("b");
  EXPECT_EQ(d.outcome, PoolOutcome::marked);
  EXPECT_EQ(d.preempt, Names{"b"});
  EXPECT_EQ(pool.state("a"), SlotState::running_busy);
  EXPECT_EQ(pool.release("b").start, Names{"task"});
}

TEST(SlotPool, ScheduledTaskDoesNotWaitBehindItsOwnIdleContainer) {
  SlotPool pool(2);
  ASSERT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.mark_idle("a").outcome, PoolOutcome::marked);
  auto d = pool.request("a", RequestKind::scheduled);
  EXPECT_EQ(d.outcome, PoolOutcome::follow_up);
  EXPECT_EQ(d.preempt, Names{"a"});
  ASSERT_EQ(pool.request("b").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.request("c").outcome, PoolOutcome::queued);
  d = pool.release("a");  // the slot comes straight back for the task
  EXPECT_EQ(d.start, Names{"a"});
  EXPECT_EQ(pool.waiting_order(), Names{"c"});

  // Busy: the task waits for this turn, then the idle container is stopped for it.
  d = pool.request("a", RequestKind::scheduled);
  EXPECT_EQ(d.outcome, PoolOutcome::follow_up);
  EXPECT_TRUE(d.preempt.empty());
  d = pool.mark_idle("a");
  EXPECT_EQ(d.preempt, Names{"a"});
  EXPECT_EQ(pool.release("a").start, Names{"a"});
}

TEST(SlotPool, PreemptedNamespaceThatGetsAMessageQueuesAgain) {
  SlotPool pool(1);
  ASSERT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.mark_idle("a").outcome, PoolOutcome::marked);
  ASSERT_EQ(pool.request("task", RequestKind::scheduled).preempt, Names{"a"});
  EXPECT_EQ(pool.request("a").outcome, PoolOutcome::follow_up);
  EXPECT_EQ(pool.mark_busy("a").outcome, PoolOutcome::stopping);  // refused: it is being stopped
  EXPECT_EQ(pool.mark_idle("a").outcome, PoolOutcome::stopping);
  auto d = pool.release("a");
  EXPECT_EQ(d.start, Names{"task"});
  EXPECT_EQ(pool.state("a"), SlotState::waiting);
  EXPECT_EQ(pool.release("task").start, Names{"a"});
}

TEST(SlotPool, CancelledScheduledRequestGivesThePreemptedSlotToTheFifo) {
  SlotPool pool(1);
  ASSERT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.mark_idle("a").outcome, PoolOutcome::marked);
  ASSERT_EQ(pool.request("task", RequestKind::scheduled).preempt, Names{"a"});
  ASSERT_EQ(pool.request("m").outcome, PoolOutcome::queued);
  EXPECT_EQ(pool.waiting(), 2u);
  EXPECT_EQ(pool.release("task").outcome, PoolOutcome::cancelled);
  EXPECT_EQ(pool.waiting(), 1u);
  EXPECT_EQ(pool.release("a").start, Names{"m"});
}

TEST(SlotPool, WaitingMessageUpgradedToScheduledPreempts) {
  SlotPool pool(1);
  ASSERT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.request("b").outcome, PoolOutcome::queued);
  ASSERT_EQ(pool.mark_idle("a").outcome, PoolOutcome::marked);  // b is a message: no pre-emption
  EXPECT_EQ(pool.state("a"), SlotState::running_idle);
  auto d = pool.request("b", RequestKind::scheduled);
  EXPECT_EQ(d.outcome, PoolOutcome::already_waiting);
  EXPECT_EQ(d.preempt, Names{"a"});
  EXPECT_EQ(pool.release("a").start, Names{"b"});
}

TEST(SlotPool, HostileSequencesGiveClearResults) {
  SlotPool pool(0);
  EXPECT_EQ(pool.limit(), 1u);  // 0 would hang every namespace
  EXPECT_EQ(pool.release("ghost").outcome, PoolOutcome::not_holding);
  EXPECT_EQ(pool.mark_idle("ghost").outcome, PoolOutcome::not_holding);
  EXPECT_EQ(pool.mark_busy("ghost").outcome, PoolOutcome::not_holding);
  EXPECT_EQ(pool.request("").outcome, PoolOutcome::invalid_namespace);
  EXPECT_EQ(pool.release("").outcome, PoolOutcome::invalid_namespace);
  EXPECT_EQ(pool.mark_idle("").outcome, PoolOutcome::invalid_namespace);
  EXPECT_EQ(pool.state("ghost"), SlotState::none);
  ASSERT_EQ(pool.request("a").outcome, PoolOutcome::granted);
  ASSERT_EQ(pool.request("b").outcome, PoolOutcome::queued);
  EXPECT_EQ(pool.mark_idle("b").outcome, PoolOutcome::not_holding);  // waiting holds no slot
  EXPECT_EQ(pool.release("b").outcome, PoolOutcome::cancelled);
  EXPECT_EQ(pool.release("b").outcome, PoolOutcome::not_holding);
  EXPECT_EQ(pool.release("a").outcome, PoolOutcome::released);
  EXPECT_TRUE(pool.release("a").start.empty());
  EXPECT_EQ(pool.release("a").outcome, PoolOutcome::not_holding);
  EXPECT_EQ(pool.running(), 0u);
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_EQ(to_string(SlotState::running_idle), "running-idle");
  EXPECT_EQ(to_string(PoolOutcome::not_holding), "not_holding");
}

// Random walk over every call with a shadow check of the invariants: never more than
// `limit` slots, one slot per namespace, only idle namespaces pre-empted, grants only to
// namespaces that were waiting (or handed their own slot back), FIFO without duplicates.
TEST(SlotPool, RandomSequencesKeepTheInvariants) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    const std::size_t limit = 1 + seed % 4;
    SlotPool pool(limit);
    std::vector<std::string> names;
    for (int i = 0; i < 8; ++i) names.push_back(ns(i));
    for (int step = 0; step < 2000; ++step) {
      const std::string& n = names[rng() % names.size()];
      std::map<std::string, SlotState> before;
      for (const auto& x : names) before[x] = pool.state(x);
      PoolDecision d;
      const unsigned op = rng() % 5;
      switch (op) {
        case 0: d = pool.request(n, RequestKind::message); break;
        case 1: d = pool.request(n, RequestKind::scheduled); break;
        case 2: d = pool.release(n); break;
        case 3: d = pool.mark_idle(n); break;
        default: d = pool.mark_busy(n); break;
      }
      for (const auto& p : d.preempt) {
        // mark_idle(n) may stop n itself: its turn just ended and a task waits for it.
        const bool became_idle_now = op == 3 && p == n && before[p] == SlotState::running_busy;
        ASSERT_TRUE(before[p] == SlotState::running_idle || became_idle_now) << "seed " << seed << " step " << step;
        ASSERT_EQ(pool.state(p), SlotState::stopping);
      }
      for (const auto& s : d.start) {
        // release(n) of a namespace with a follow-up (or a task's hand-over) may grant n again.
        const bool own_slot_back = s == n && op == 2;
        ASSERT_TRUE(before[s] == SlotState::none || before[s] == SlotState::waiting || own_slot_back)
            << "seed " << seed << " step " << step << " " << s << " op " << op << " n " << n << " before "
            << to_string(before[s]);
        ASSERT_EQ(pool.state(s), SlotState::running_busy);
      }
      std::size_t holding = 0, waiting = 0;
      for (const auto& x : names) {
        auto st = pool.state(x);
        if (st == SlotState::running_busy || st == SlotState::running_idle || st == SlotState::stopping) ++holding;
        if (st == SlotState::waiting) ++waiting;
      }
      ASSERT_EQ(holding, pool.running());
      ASSERT_LE(holding, limit);
      ASSERT_EQ(waiting, pool.waiting());
      // Nobody waits while a slot is free.
      if (holding < limit) {
        ASSERT_TRUE(pool.waiting_order().empty()) << "seed " << seed << " step " << step;
      }
      auto order = pool.waiting_order();
      ASSERT_EQ(std::set<std::string>(order.begin(), order.end()).size(), order.size());
    }
  }
}

}  // namespace
