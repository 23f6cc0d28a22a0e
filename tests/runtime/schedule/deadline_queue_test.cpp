// The scheduler's deadline queue: one entry per task, moves and erases by id, pops in
// deadline order, refuses ids that are not UUIDs, agrees with a plain model under a
// random workload, and stays compact.
#include "runtime/schedule/deadline_queue.hpp"

#include <cstdio>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

namespace sb::schedule {
namespace {

std::string uuid(uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08llx-0000-4000-8000-%012llx",
                static_cast<unsigned long long>((n >> 16) & 0xffffffffull),
                static_cast<unsigned long long>(n * 2654435761ull & 0xffffffffffffull));
  return buf;
}

TEST(DeadlineQueue, PopsEverythingDueInDeadlineOrder) {
  DeadlineQueue q;
  EXPECT_FALSE(q.earliest());
  EXPECT_TRUE(q.set(uuid(1), 300));
  EXPECT_TRUE(q.set(uuid(2), 100));
  EXPECT_TRUE(q.set(uuid(3), 200));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.earliest(), (DeadlineQueue::Entry{uuid(2), 100}));
  auto due = q.pop_due(250);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0], (DeadlineQueue::Entry{uuid(2), 100}));
  EXPECT_EQ(due[1], (DeadlineQueue::Entry{uuid(3), 200}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.pop_due(299).empty());
  EXPECT_EQ(q.pop_due(300).size(), 1u);  // due == now is due
  EXPECT_TRUE(q.empty());
}

TEST(DeadlineQueue, OneEntryPerTaskMovedAndErasedById) {
  DeadlineQueue q;
  q.set(uuid(1), 500);
  q.set(uuid(2), 400);
  q.set(uuid(1), 100);  // moves, does not add
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.due_of(uuid(1)), 100);
  EXPECT_EQ(q.earliest()->task_id, uuid(1));
  q.set(uuid(1), 900);
  EXPECT_EQ(q.earliest()->task_id, uuid(2));
  EXPECT_TRUE(q.erase(uuid(2)));
  EXPECT_FALSE(q.erase(uuid(2)));
  EXPECT_FALSE(q.due_of(uuid(2)));
  EXPECT_EQ(q.earliest(), (DeadlineQueue::Entry{uuid(1), 900}));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.due_of(uuid(1)));
  q.set(uuid(1), 5);  // usable after clear
  EXPECT_EQ(q.earliest_due(), 5);
}

TEST(DeadlineQueue, RefusesIdsThatAreNotCanonicalUuids) {
  DeadlineQueue q;
  EXPECT_FALSE(q.set("", 1));
  EXPECT_FALSE(q.set("task-1", 1));
  EXPECT_FALSE(q.set("0000000A-0000-4000-8000-000000000001", 1));  // uppercase
  EXPECT_FALSE(q.set("00000000-0000-4000-8000-00000000000g", 1));
  EXPECT_FALSE(q.set("00000000x0000-4000-8000-000000000001", 1));
  EXPECT_FALSE(q.set("00000000-0000-4000-8000-0000000000012", 1));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.erase("nope"));
  EXPECT_FALSE(q.due_of("nope"));
  const std::string id = "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3";
  EXPECT_TRUE(q.set(id, 1));
  EXPECT_EQ(q.earliest()->task_id, id);  // round-trips exactly
}

TEST(DeadlineQueue, AgreesWithAModelUnderRandomWork) {
  DeadlineQueue q;
  std::map<std::string, int64_t> model;
  std::mt19937_64 rng(7);
  int64_t now = 0;
  for (int step = 0; step < 200000; ++step) {
    const std::string id = uuid(rng() % 3000);
    switch (rng() % 10) {
      case 0:
      case 1: {
        EXPECT_EQ(q.erase(id), model.erase(id) == 1);
        break;
      }
      case 2: {
        now += static_cast<int64_t>(rng() % 50);
        std::multiset<std::pair<int64_t, std::string>> expected;
        for (auto it = model.begin(); it != model.end();) {
          if (it->second <= now) {
            expected.insert({it->second, it->first});
            it = model.erase(it);
          } else {
            ++it;
          }
        }
        auto got = q.pop_due(now);
        ASSERT_EQ(got.size(), expected.size());
        for (size_t i = 1; i < got.size(); ++i) ASSERT_LE(got[i - 1].due_ms, got[i].due_ms);
        std::multiset<std::pair<int64_t, std::string>> got_set;
        for (auto& e : got) got_set.insert({e.due_ms, e.task_id});
        ASSERT_EQ(got_set, expected);
        break;
      }
      default: {
        const int64_t due = now + static_cast<int64_t>(rng() % 5000);
        ASSERT_TRUE(q.set(id, due));
        model[id] = due;
      }
    }
    ASSERT_EQ(q.size(), model.size());
    if (step % 97 == 0) {
      for (auto& [k, v] : model) ASSERT_EQ(q.due_of(k), v);
      if (!model.empty()) {
        int64_t min = INT64_MAX;
        for (auto& [k, v] : model) min = std::min(min, v);
        ASSERT_EQ(q.earliest_due(), min);
      }
    }
  }
}

TEST(DeadlineQueue, StaysCompact) {
  DeadlineQueue q;
  const size_t n = 100000;
  q.reserve(n);
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(q.set(uuid(i), static_cast<int64_t>(i)));
  const double per_entry = static_cast<double>(q.memory_bytes()) / static_cast<double>(n);
  EXPECT_LT(per_entry, 64.0) << per_entry << " bytes per entry";
  EXPECT_EQ(q.pop_due(INT64_MAX).size(), n);
}

}  // namespace
}  // namespace sb::schedule
