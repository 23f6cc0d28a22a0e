#include "runtime/cluster/lease_clock.hpp"

#include <gtest/gtest.h>

namespace sb::cluster {
namespace {

using namespace std::chrono_literals;

TEST(LeaseClock, ServesUntilHalfTheTtlAfterTheLastConfirmedRenewalWasSent) {
  LeaseClock clock(10000ms);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_FALSE(clock.serving(t0)) << "never renewed: not serving";
  clock.renewed(t0);
  EXPECT_TRUE(clock.serving(t0 + 4999ms));
  EXPECT_FALSE(clock.serving(t0 + 5000ms));
  clock.renewed(t0 + 3s);
  EXPECT_TRUE(clock.serving(t0 + 7999ms));
  // A late confirmation of an older renewal does not move the fence back or forward.
  clock.renewed(t0 + 1s);
  EXPECT_EQ(*clock.fence_at(), t0 + 8s);
}

TEST(LeaseClock, RenewsATenthOfTheTtlBetween50MsAnd1s) {
  EXPECT_EQ(LeaseClock(10000ms).renew_every(), 1000ms);
  EXPECT_EQ(LeaseClock(60000ms).renew_every(), 1000ms);
  EXPECT_EQ(LeaseClock(3000ms).renew_every(), 300ms);
  EXPECT_EQ(LeaseClock(200ms).renew_every(), 50ms);
}

}  // namespace
}  // namespace sb::cluster
