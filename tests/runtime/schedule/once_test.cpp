// One-time timestamps: offsets, optional seconds and fractions, local times in the task's
// zone (DST gap and repeat), and errors that say what is wrong.
#include <vector>

#include <gtest/gtest.h>

#include "tests/runtime/schedule/schedule_test_support.hpp"

namespace sb::schedule {
namespace {

using testing::zone;

// 2026-03-08T09:30:00Z as milliseconds since the epoch, computed by hand:
// 20520 days (1970-01-01 .. 2026-03-08) * 86400000 + 9.5 h.
constexpr std::int64_t k0930Z = 20520LL * 86400000 + 34200000;

std::int64_t epoch_ms(const std::string& text, const TimeZone& tz = TimeZone::utc()) {
  auto t = parse_once(text, tz);
  EXPECT_TRUE(t.ok()) << text << ": " << (t.ok() ? "" : t.error().message);
  return t.ok() ? t->time_since_epoch().count() : -1;
}

TEST(OnceTimestamp, WithOffsets) {
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:00Z"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08T09:30Z"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08t09:30:00z"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08 09:30:00Z"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08T11:30:00+02:00"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08T11:30+0200"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08T11:30:00+02"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08T04:00:00-05:30"), k0930Z);
  EXPECT_EQ(epoch_ms("  2026-03-08T09:30:00Z  "), k0930Z);
  // The zone does not matter once an offset is given.
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:00Z", zone("Asia/Tokyo")), k0930Z);
}

TEST(OnceTimestamp, FractionalSecondsKeptToTheMillisecond) {
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:00.250Z"), k0930Z + 250);
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:00.5Z"), k0930Z + 500);
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:00,5Z"), k0930Z + 500);
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:00.123456789Z"), k0930Z + 123);  // truncated
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:59.999+00:00"), k0930Z + 59999);
}

TEST(OnceTimestamp, WithoutOffsetInTheTasksZone) {
  EXPECT_EQ(epoch_ms("2026-03-08T09:30:00"), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08T10:30", zone("Europe/Berlin")), k0930Z);
  EXPECT_EQ(epoch_ms("2026-03-08T18:30", zone("Asia/Tokyo")), k0930Z);
  // 2026-03-08 is the New York spring-forward day: 05:30 EDT is 09:30Z.
  EXPECT_EQ(epoch_ms("2026-03-08T05:30", zone("America/New_York")), k0930Z);
  // 01:59 EST, before the jump, is 06:59Z.
  EXPECT_EQ(epoch_ms("2026-03-08T01:59", zone("America/New_York")), k0930Z - (2 * 60 + 31) * 60000);
}

TEST(OnceTimestamp, SkippedLocalTimeIsTheFirstInstantAfterTheJump) {
  const TimeZone ny = zone("America/New_York");
  auto t = parse_once("2026-03-08T02:30", ny);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_instant(*t, ny), "2026-03-08T03:00:00-04:00");
  EXPECT_EQ(t->time_since_epoch().count(), k0930Z - 2 * 3600000 - 30 * 60000);  // 07:00Z
}

TEST(OnceTimestamp, RepeatedLocalTimeIsTheEarlierInstant) {
  const TimeZone ny = zone("America/New_York");
  auto t = parse_once("2026-11-01T01:30", ny);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_instant(*t, ny), "2026-11-01T01:30:00-04:00");
  const TimeZone berlin = zone("Europe/Berlin");
  t = parse_once("2026-10-25T02:30", berlin);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_instant(*t, berlin), "2026-10-25T02:30:00+02:00");
}

TEST(OnceTimestamp, FormatShowsTheZonesOffset) {
  const Instant t{std::chrono::milliseconds{k0930Z}};
  EXPECT_EQ(format_instant(t, TimeZone::utc()), "2026-03-08T09:30:00+00:00");
  EXPECT_EQ(format_instant(t, zone("America/New_York")), "2026-03-08T05:30:00-04:00");
  EXPECT_EQ(format_instant(t, zone("Asia/Kolkata")), "2026-03-08T15:00:00+05:30");
  EXPECT_EQ(format_instant(t + std::chrono::milliseconds{7}, zone("Europe/Berlin")), "2026-03-08T10:30:00.007+01:00");
  EXPECT_EQ(format_instant(Instant{}, TimeZone::utc()), "1970-01-01T00:00:00+00:00");
}

TEST(OnceTimestamp, ErrorsSayWhatIsWrong) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"", "once: empty timestamp"},
      {"tomorrow", "once: expected 4 digits for the year at position 1 in \"tomorrow\""},
      {"26-03-08T09:30", "once: expected 4 digits for the year at position 3 in \"26-03-08T09:30\""},
      {"2026/03/08T09:30", "once: expected '-' after the year at position 5 in \"2026/03/08T09:30\""},
      {"2026-03-08", "once: missing the time of day (a date alone is not a timestamp) in \"2026-03-08\""},
      {"2026-03-08X09:30", "once: expected 'T' between date and time at position 11 in \"2026-03-08X09:30\""},
      {"2026-03-08T9:30", "once: expected 2 digits for the hour at position 13 in \"2026-03-08T9:30\""},
      {"2026-13-01T00:00", "once: month 13 is out of range 1-12 in \"2026-13-01T00:00\""},
      {"2026-00-01T00:00", "once: month 0 is out of range 1-12 in \"2026-00-01T00:00\""},
      {"2026-02-29T00:00", "once: day 29 is out of range 1-28 in \"2026-02-29T00:00\""},
      {"2026-04-31T00:00", "once: day 31 is out of range 1-30 in \"2026-04-31T00:00\""},
      {"2026-04-00T00:00", "once: day 0 is out of range 1-30 in \"2026-04-00T00:00\""},
      {"2026-01-01T24:00", "once: hour 24 is out of range 0-23 in \"2026-01-01T24:00\""},
      {"2026-01-01T00:60", "once: minute 60 is out of range 0-59 in \"2026-01-01T00:60\""},
      {"2026-01-01T00:00:60Z", "once: second 60 is out of range 0-59 in \"2026-01-01T00:00:60Z\""},
      {"2026-01-01T00:00+24:00", "once: offset hour 24 is out of range 0-23 in \"2026-01-01T00:00+24:00\""},
      {"2026-01-01T00:00+02:",
       "once: expected 2 digits for the offset minutes at position 21 in \"2026-01-01T00:00+02:\""},
      {"2026-01-01T00:00:00.Z", "once: expected digits after the decimal point in \"2026-01-01T00:00:00.Z\""},
      {"2026-01-01T00:00:00.1234567890Z", "once: more than 9 fractional digits in \"2026-01-01T00:00:00.1234567890Z\""},
      {"2026-01-01T00:00Z extra", "once: unexpected ' ' at position 18 in \"2026-01-01T00:00Z extra\""},
      {"1969-12-31T23:59Z", "once: year 1969 is out of range 1970-8999 in \"1969-12-31T23:59Z\""},
  };
  for (const auto& [text, message] : cases) {
    auto t = parse_once(text, TimeZone::utc());
    ASSERT_FALSE(t.ok()) << "accepted: " << text;
    EXPECT_EQ(t.error().code, "schedule.bad_once");
    EXPECT_EQ(t.error().message,
              std::string(message) + (std::string(text).empty() ? "" : " (expected e.g. 2026-03-08T09:30:00+01:00)"))
        << text;
  }
  auto long_text = parse_once(std::string(200, '2'), TimeZone::utc());
  ASSERT_FALSE(long_text.ok());
  EXPECT_EQ(long_text.error().message, "once: timestamp longer than 64 bytes");
}

}  // namespace
}  // namespace sb::schedule
