// Aggregation of floods of like audit events (H2 of the 2026-12 audit).
#include "runtime/core/event_throttle.hpp"

#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/core/throttled_audit_sink.hpp"
#include "runtime/core/utf8.hpp"

namespace {

using namespace std::chrono_literals;
using Throttle = sb::EventThrottle<int>;
using Verdict = Throttle::Verdict;

TEST(EventThrottle, FirstOfAWindowIsRecordedTheRestCountedIntoOneSummary) {
  Throttle t({1000ms, 16});
  const auto t0 = Throttle::Clock::time_point{} + 1h;
  EXPECT_EQ(t.offer("a", t0, 1), Verdict::record);
  for (int i = 0; i < 99; ++i) EXPECT_EQ(t.offer("a", t0 + 10ms, 2), Verdict::suppress);
  EXPECT_EQ(t.offer("b", t0 + 10ms, 3), Verdict::record);  // another key: its own window
  EXPECT_TRUE(t.take_ended(t0 + 999ms).empty());
  auto ended = t.take_ended(t0 + 1000ms);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].key, "a");
  EXPECT_EQ(ended[0].suppressed, 99u);
  EXPECT_EQ(ended[0].first, 1);                    // the payload of the event that opened the window
  EXPECT_EQ(t.keys(), 1u);                         // b's window (from +10 ms) is still open
  EXPECT_TRUE(t.take_ended(t0 + 1010ms).empty());  // it ended suppressing nothing: no summary
  EXPECT_EQ(t.keys(), 0u);
  EXPECT_EQ(t.offer("a", t0 + 1001ms, 4), Verdict::record);  // a new window
}

TEST(EventThrottle, KeysBeyondTheBoundShareOneOverflowWindow) {
  Throttle t({1000ms, 3});
  const auto t0 = Throttle::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.offer("k" + std::to_string(i), t0, i), Verdict::record);
  EXPECT_EQ(t.offer("k3", t0, 3), Verdict::record);  // opens the overflow window
  for (int i = 4; i < 1000; ++i) EXPECT_EQ(t.offer("k" + std::to_string(i), t0, i), Verdict::suppress);
  EXPECT_EQ(t.keys(), 4u);  // three keys and the overflow: memory stays bounded
  auto all = t.take_all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, Throttle::kOverflowKey);
  EXPECT_EQ(all[0].suppressed, 996u);
}

TEST(ThrottledAuditSink, WritesTheFirstAndASummaryWithTheCountAfterTheInterval) {
  std::mutex m;
  std::vector<sb::AuditRecord> out;
  {
    sb::ThrottledAuditSink sink(
        [&](sb::AuditRecord r) {
          std::lock_guard lock(m);
          out.push_back(std::move(r));
        },
        {100ms, 16});
    EXPECT_TRUE(sink.offer("k", {"webhook", "channel.webhook_rejected", "slack/main", R"({"reason":"bad"})"}));
    for (int i = 0; i < 9; ++i) EXPECT_FALSE(sink.offer("k", {"webhook", "channel.webhook_rejected", "x", "{}"}));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(m);
        if (out.size() >= 2) break;
      }
      std::this_thread::sleep_for(10ms);  // poll interval
    }
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].detail, R"({"reason":"bad"})");
  EXPECT_EQ(out[1].subject, "slack/main");
  EXPECT_EQ(out[1].detail, R"({"reason":"bad","aggregated":true,"count":9,"interval_ms":100})");
}

TEST(ThrottledAuditSink, OpenWindowsAreSummarisedAtDestruction) {
  std::vector<sb::AuditRecord> out;
  {
    sb::ThrottledAuditSink sink([&](sb::AuditRecord r) { out.push_back(std::move(r)); }, {3600000ms, 16});
    sink.offer("k", {"proxy", "proxy.denied", "r", "{}"});
    sink.offer("k", {"proxy", "proxy.denied", "r", "{}"});
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].detail, R"({"aggregated":true,"count":1,"interval_ms":3600000})");
}

TEST(ThrottledAuditSink, TruncatesOnAUtf8Boundary) {
  EXPECT_EQ(sb::utf8::truncate("abc", 5), "abc");
  EXPECT_EQ(sb::utf8::truncate("abcdef", 3), "abc");
  EXPECT_EQ(sb::utf8::truncate("a\xc3\xa9", 2), "a");  // never half of é
}

}  // namespace
