#include "runtime/core/backoff.hpp"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using sb::RestartPolicy;
using sb::RestartTracker;

RestartPolicy policy(uint32_t budget) {
  RestartPolicy p;
  p.backoff_base = 100ms;
  p.backoff_max = 1000ms;
  p.budget = budget;
  p.window = 60s;
  return p;
}

TEST(RestartPolicy, DelaysDoubleUpToTheCap) {
  RestartTracker t(policy(10));
  auto now = RestartTracker::clock::time_point{};
  std::vector<int64_t> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(t.on_failure(now + i * 1ms, 1.0).delay.count());
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
}

TEST(RestartPolicy, JitterStaysWithinHalfToFullDelay) {
  RestartTracker low(policy(10)), high(policy(10));
  auto now = RestartTracker::clock::time_point{};
  for (int i = 0; i < 4; ++i) {
    auto a = low.on_failure(now, 0.0).delay.count();
    auto b = high.on_failure(now, 0.999).delay.count();
    int64_t full = 100 << i;
    EXPECT_EQ(a, full / 2);
    EXPECT_LE(b, full);
    EXPECT_GE(b, full * 9 / 10);
  }
}

TEST(RestartPolicy, WorstJitterStillNeverShrinksTheDelay) {
  RestartTracker t(policy(10));
  auto now = RestartTracker::clock::time_point{};
  int64_t previous = 0;
  for (int i = 0; i < 5; ++i) {
    // Alternate the extremes: full delay then the smallest possible next one.
    auto d = t.on_failure(now, i % 2 == 0 ? 1.0 : 0.0).delay.count();
    EXPECT_GE(d, previous);
    previous = d;
  }
}

TEST(RestartPolicy, GivesUpPastTheBudgetWithinTheWindow) {
  RestartTracker t(policy(3));
  auto now = RestartTracker::clock::time_point{};
  EXPECT_FALSE(t.on_failure(now, 0.5).give_up);
  EXPECT_FALSE(t.on_failure(now + 1s, 0.5).give_up);
  EXPECT_FALSE(t.on_failure(now + 2s, 0.5).give_up);
  auto d = t.on_failure(now + 3s, 0.5);
  EXPECT_TRUE(d.give_up);
  EXPECT_EQ(d.failures_in_window, 4u);
  EXPECT_EQ(t.total_failures(), 4u);
}

TEST(RestartPolicy, FailuresOutsideTheWindowAreForgotten) {
  RestartTracker t(policy(2));
  auto now = RestartTracker::clock::time_point{};
  EXPECT_FALSE(t.on_failure(now, 0.5).give_up);
  EXPECT_FALSE(t.on_failure(now + 1s, 0.5).give_up);
  // Both earlier failures have left the 60 s window: the count and the delay reset.
  auto d = t.on_failure(now + 62s, 1.0);
  EXPECT_FALSE(d.give_up);
  EXPECT_EQ(d.failures_in_window, 1u);
  EXPECT_EQ(d.delay.count(), 100);
}

TEST(RestartPolicy, ZeroBudgetNeverRestarts) {
  RestartTracker t(policy(0));
  EXPECT_TRUE(t.on_failure(RestartTracker::clock::time_point{}, 0.5).give_up);
}

TEST(RestartPolicy, HugeFailureCountsDoNotOverflow) {
  RestartPolicy p = policy(1000);
  p.backoff_max = 3600s;
  RestartTracker t(p);
  auto now = RestartTracker::clock::time_point{};
  for (int i = 0; i < 100; ++i) {
    auto d = t.on_failure(now, 1.0);
    ASSERT_GE(d.delay.count(), 0);
    ASSERT_LE(d.delay, p.backoff_max);
  }
}

}  // namespace

namespace {

using namespace std::chrono_literals;
using sb::backoff_delay;

TEST(BackoffDelay, DoublesFromBaseUpToTheCap) {
  std::vector<int64_t> delays;
  for (int attempt = 1; attempt <= 8; ++attempt) delays.push_back(backoff_delay(100ms, attempt, 5000ms).count());
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1600, 3200, 5000, 5000}));
}

TEST(BackoffDelay, FirstAttemptAndBelowWaitBase) {
  EXPECT_EQ(backoff_delay(250ms, 1, 10s), 250ms);
  EXPECT_EQ(backoff_delay(250ms, 0, 10s), 250ms);
  EXPECT_EQ(backoff_delay(250ms, -5, 10s), 250ms);
}

TEST(BackoffDelay, NeverAboveTheCapEvenWhenBaseIs) {
  EXPECT_EQ(backoff_delay(7s, 1, 5s), 5s);
  EXPECT_EQ(backoff_delay(7s, 3, 5s), 5s);
  EXPECT_EQ(backoff_delay(3s, 2, 5s), 5s) << "6 s capped";
}

TEST(BackoffDelay, DoesNotOverflow) {
  EXPECT_EQ(backoff_delay(1000ms, 200, 300000ms), 300000ms);
  const auto huge = std::chrono::milliseconds(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(backoff_delay(1ms, 200, huge), huge);
  EXPECT_EQ(backoff_delay(3ms, 200, huge), huge);
  EXPECT_EQ(backoff_delay(1ms, 63, huge), std::chrono::milliseconds(int64_t{1} << 62));
  EXPECT_EQ(backoff_delay(1ms, std::numeric_limits<int64_t>::max(), 24h), 24h);
}

TEST(BackoffDelay, ZeroOrNegativeGivesZero) {
  EXPECT_EQ(backoff_delay(0ms, 5, 1000ms), 0ms);
  EXPECT_EQ(backoff_delay(-10ms, 5, 1000ms), 0ms);
  EXPECT_EQ(backoff_delay(10ms, 5, 0ms), 0ms);
  EXPECT_EQ(backoff_delay(10ms, 5, -1ms), 0ms);
}

TEST(EqualJitter, DrawsFromTheUpperHalfOfTheDelay) {
  using sb::equal_jitter;
  EXPECT_EQ(equal_jitter(1000ms, 0.0), 500ms);
  EXPECT_EQ(equal_jitter(1000ms, 0.5), 750ms);
  EXPECT_EQ(equal_jitter(1000ms, 1.0), 1000ms);
  EXPECT_EQ(equal_jitter(1001ms, 0.0), 501ms);   // never below half, rounded up
  EXPECT_EQ(equal_jitter(1000ms, -3.0), 500ms);  // jitter clamped to [0, 1]
  EXPECT_EQ(equal_jitter(1000ms, 7.0), 1000ms);
  EXPECT_EQ(equal_jitter(0ms, 0.9), 0ms);
}

}  // namespace
