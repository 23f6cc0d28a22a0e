// Interval schedules stay on the grid anchor + k*N whatever the handler delays.
#include "runtime/schedule/interval.hpp"

#include <random>

#include <gtest/gtest.h>

namespace sb::schedule {
namespace {

using std::chrono::milliseconds;

Instant ms(std::int64_t v) {
  return Instant{milliseconds{v}};
}

TEST(IntervalMath, NextIsTheSmallestGridPointAfterNow) {
  const milliseconds n{1000};
  EXPECT_EQ(interval_next(ms(0), n, ms(0)), ms(1000));
  EXPECT_EQ(interval_next(ms(0), n, ms(999)), ms(1000));
  EXPECT_EQ(interval_next(ms(0), n, ms(1000)), ms(2000));  // strictly after now
  EXPECT_EQ(interval_next(ms(0), n, ms(5500)), ms(6000));
  EXPECT_EQ(interval_next(ms(250), n, ms(5500)), ms(6250));
  EXPECT_EQ(interval_next(ms(5000), n, ms(100)), ms(6000));  // clock behind the anchor
}

TEST(IntervalMath, CatchUpCountsMissedFires) {
  const milliseconds n{1000};
  auto c = interval_catch_up(ms(0), n, ms(3500));
  EXPECT_EQ(c.missed, 3u);  // 1000, 2000, 3000
  EXPECT_EQ(c.next, ms(4000));
  c = interval_catch_up(ms(0), n, ms(3000));
  EXPECT_EQ(c.missed, 3u);
  EXPECT_EQ(c.next, ms(4000));
  c = interval_catch_up(ms(0), n, ms(999));
  EXPECT_EQ(c.missed, 0u);
  EXPECT_EQ(c.next, ms(1000));
  // A week down with a 5-minute interval.
  c = interval_catch_up(ms(0), milliseconds{300000}, ms(7LL * 86400000 + 1));
  EXPECT_EQ(c.missed, 2016u);
  EXPECT_EQ(c.next, ms(7LL * 86400000 + 300000));
}

// 10,000 simulated fires: each run starts late by a random delay and takes a random
// time; the next planned fire is computed from the previous PLANNED time and the clock
// after the run. Every planned time must lie exactly on the grid, consecutive fires
// must be exactly N apart unless a run overran, and overruns skip whole periods.
TEST(IntervalMath, ZeroDriftOverTenThousandFires) {
  std::mt19937_64 rng(7);
  const milliseconds n{60007};  // prime: any rounding would show
  const Instant anchor = ms(1'780'000'000'123);
  Instant planned = interval_next(anchor, n, anchor);
  std::uint64_t slots = 1, overruns = 0;
  for (int fire = 0; fire < 10000; ++fire) {
    ASSERT_EQ((planned - anchor) % n, milliseconds{0}) << "fire " << fire;
    ASSERT_EQ(planned, anchor + n * static_cast<std::int64_t>(slots));
    // Late start (timer jitter) plus run time; one run in 50 overruns the period.
    const std::int64_t lateness = static_cast<std::int64_t>(rng() % 50);
    std::int64_t run = static_cast<std::int64_t>(rng() % 30000);
    if (rng() % 50 == 0) run = 60007 + static_cast<std::int64_t>(rng() % 200000), ++overruns;
    const Instant now = planned + milliseconds{lateness + run};
    const Instant next = interval_next(planned, n, now);
    ASSERT_GT(next, now);
    ASSERT_LE(next - now, n);
    slots += static_cast<std::uint64_t>((next - planned) / n);
    planned = next;
  }
  EXPECT_GT(overruns, 100u);
  EXPECT_EQ(planned, anchor + n * static_cast<std::int64_t>(slots));
}

}  // namespace
}  // namespace sb::schedule
