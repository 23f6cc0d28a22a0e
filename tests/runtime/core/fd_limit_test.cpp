// The descriptor limit raised at start and the listener's share of it (M1 of the 2026-12
// audit).
#include "runtime/core/fd_limit.hpp"

#include <sys/resource.h>

#include <gtest/gtest.h>

namespace {

TEST(FdLimit, RaisesTheSoftLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit low = before;
  low.rlim_cur = std::min<rlim_t>(before.rlim_max, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto raised = sb::raise_fd_limit();
  ASSERT_TRUE(raised.ok()) << raised.error().message;
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  const rlim_t expected = before.rlim_max == RLIM_INFINITY ? (1u << 20) : std::min<rlim_t>(before.rlim_max, 1u << 20);
  EXPECT_EQ(after.rlim_cur, expected);
  EXPECT_EQ(raised->soft, static_cast<uint64_t>(after.rlim_cur));
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &before), 0);
}

TEST(FdLimit, ConnectionsAreClampedBelowTheLimitWithAReserve) {
  EXPECT_EQ(sb::fd_reserve(1024), 256u);
  EXPECT_EQ(sb::fd_reserve(65536), 16384u);
  EXPECT_EQ(sb::connection_budget(1024, 4096, sb::fd_reserve(1024)), 768u);
  EXPECT_EQ(sb::connection_budget(1u << 20, 4096, sb::fd_reserve(1u << 20)), 4096u);
  EXPECT_EQ(sb::connection_budget(100, 4096, 256), 1u);  // never zero
}

}  // namespace
