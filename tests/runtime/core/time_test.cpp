#include "runtime/core/time.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace {

int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(NowMs, IsUnixEpochMillisecondsFromTheSystemClock) {
  const int64_t before = system_ms();
  const int64_t now = sb::now_ms();
  const int64_t after = system_ms();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
  EXPECT_GT(now, int64_t{1'600'000'000'000}) << "milliseconds, not seconds (after Sep 2020)";
  EXPECT_LT(now, int64_t{32'503'680'000'000}) << "milliseconds, not microseconds (before year 3000)";
}

TEST(NowMs, DoesNotGoBackwardsInATightLoop) {
  int64_t last = sb::now_ms();
  for (int i = 0; i < 1000; ++i) {
    const int64_t t = sb::now_ms();
    EXPECT_GE(t, last);  // a clock step during the test would be a (rare) false alarm
    last = t;
  }
}

TEST(Iso8601Utc, FormatsMilliseconds) {
  EXPECT_EQ(sb::iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(sb::iso8601_utc(1714564800123), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(sb::iso8601_utc(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
