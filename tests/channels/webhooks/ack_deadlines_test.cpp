// The listener's single deadline thread: expires pending entries in order, skips settled
// ones, and stops promptly.
#include "channels/webhooks/ack_deadlines.hpp"

#include <atomic>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using sb::channels::webhooks::AckDeadlines;

TEST(AckDeadlines, ExpiresPendingEntriesInOrderAndSkipsSettledOnes) {
  AckDeadlines deadlines;
  std::mutex mutex;
  std::vector<int> expired;
  auto owner1 = std::make_shared<int>(1);
  auto owner2 = std::make_shared<int>(2);
  auto owner3 = std::make_shared<int>(3);
  const auto now = AckDeadlines::Clock::now();
  for (auto& [owner, n] : {std::pair{owner1, 1}, std::pair{owner2, 2}, std::pair{owner3, 3}}) {
    deadlines.add(now + 50ms * n, owner, [&, n = n] {
      std::lock_guard lock(mutex);
      expired.push_back(n);
    });
  }
  owner2.reset();  // settled before its deadline: never expired
  const auto limit = AckDeadlines::Clock::now() + 10s;
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (expired.size() >= 2 || AckDeadlines::Clock::now() > limit) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(100ms);
  std::lock_guard lock(mutex);
  EXPECT_EQ(expired, (std::vector<int>{1, 3}));
}

TEST(AckDeadlines, NothingExpiresBeforeItsDeadlineAndStopIsPrompt) {
  AckDeadlines deadlines;
  std::atomic<bool> fired{false};
  auto owner = std::make_shared<int>(0);
  deadlines.add(AckDeadlines::Clock::now() + 1h, owner, [&] { fired = true; });
  std::this_thread::sleep_for(50ms);
  const auto started = AckDeadlines::Clock::now();
  deadlines.stop();
  EXPECT_LT(AckDeadlines::Clock::now() - started, 5s);
  EXPECT_FALSE(fired.load());
  deadlines.add(AckDeadlines::Clock::now(), owner, [&] { fired = true; });  // after stop: ignored
  deadlines.stop();                                                         // idempotent
  EXPECT_FALSE(fired.load());
}

}  // namespace
