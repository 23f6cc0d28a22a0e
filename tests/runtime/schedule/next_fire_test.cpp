// next_fire without daylight saving: month ends, leap years, impossible dates, the
// DOM/DOW rule, steps, names, macros; and a cross-check against a plain day-by-day,
// minute-by-minute search over random expressions.
#include <algorithm>
#include <random>

#include <date/tz.h>
#include <gtest/gtest.h>

#include "tests/runtime/schedule/schedule_test_support.hpp"

namespace sb::schedule {
namespace {

using testing::at;
using testing::check_table;
using testing::cron;
using testing::show;

TEST(CronNextFire, MonthEndsAndYearEnds) {
  check_table("UTC", {
                         {"*/15 * * * *", "2026-01-31T23:59:00Z", "2026-02-01T00:00:00+00:00"},
                         {"*/15 * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:15:00+00:00"},  // strictly after
                         {"*/15 * * * *", "2026-01-01T00:14:59.999Z", "2026-01-01T00:15:00+00:00"},
                         {"0 0 1 * *", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00+00:00"},
                         {"0 0 31 * *", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00+00:00"},  // no Feb 31
                         {"0 0 31 * *", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00+00:00"},  // no Apr 31
                         {"0 0 30 * *", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00+00:00"},
                         {"59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00+00:00"},
                         {"59 23 31 12 *", "2026-12-31T23:58:59Z", "2026-12-31T23:59:00+00:00"},
                         {"0 12 28-31 2 *", "2027-02-28T12:00:00Z", "2028-02-28T12:00:00+00:00"},
                     });
}

TEST(CronNextFire, LeapDaysOnlyInLeapYears) {
  check_table("UTC", {
                         {"0 0 29 2 *", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00+00:00"},
                         {"0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00+00:00"},
                         {"0 0 29 2 *", "2096-02-29T00:00:00Z", "2104-02-29T00:00:00+00:00"},  // 2100 is no leap year
                         {"0 0 29 2 *", "2399-03-01T00:00:00Z", "2400-02-29T00:00:00+00:00"},  // 2400 is
                         {"0 0 28 2 *", "2028-02-28T00:00:00Z", "2029-02-28T00:00:00+00:00"},
                         {"0 0 * 2 *", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00+00:00"},
                         {"0 0 * 2 *", "2027-02-28T00:00:00Z", "2028-02-01T00:00:00+00:00"},
                         // Feb 29 that is a Sunday ("*/7" starts with '*': both day fields must match).
                         {"0 0 29 2 */7", "2026-01-01T00:00:00Z", "2032-02-29T00:00:00+00:00"},
                     });
}

TEST(CronNextFire, ImpossibleDatesNeverFire) {
  check_table("UTC", {
                         {"0 0 30 2 *", "2026-01-01T00:00:00Z", "never"},
                         {"0 0 31 2 *", "2026-01-01T00:00:00Z", "never"},
                         {"0 0 31 4 *", "2026-01-01T00:00:00Z", "never"},
                         {"0 0 31 4,6,9,11 *", "2026-01-01T00:00:00Z", "never"},
                         {"0 0 30,31 feb *", "2026-01-01T00:00:00Z", "never"},
                     });
  check_table("Europe/Berlin", {{"0 0 30 2 *", "2026-01-01T00:00:00Z", "never"}});
}

TEST(CronNextFire, DayOfMonthOrDayOfWeek) {
  check_table("UTC", {
                         // Both restricted: the 13th OR any Friday.
                         {"0 0 13 * 5", "2026-02-01T00:00:00Z", "2026-02-06T00:00:00+00:00"},
                         {"0 0 13 * fri", "2026-02-06T00:00:00Z", "2026-02-13T00:00:00+00:00"},
                         {"0 0 13 * 5", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00+00:00"},
                         {"0 0 1 * mon", "2026-02-28T00:00:00Z", "2026-03-01T00:00:00+00:00"},  // the 1st (a Sunday)
                         {"0 0 1 * mon", "2026-03-01T00:00:00Z",
                          "2026-03-02T00:00:00+00:00"},  // a Monday
                                                         // One side '*': only the other counts.
                         {"0 0 * * mon", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00+00:00"},
                         {"0 0 1 * *", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00+00:00"},
                         // "*/10" starts with '*': days 1, 11, 21, 31 AND Monday -> May 11th 2026.
                         {"0 0 */10 * mon", "2026-01-01T00:00:00Z", "2026-05-11T00:00:00+00:00"},
                         // 30 Feb OR Monday: every Monday in February.
                         {"0 0 30 2 mon", "2026-01-01T00:00:00Z", "2026-02-02T00:00:00+00:00"},
                     });
}

TEST(CronNextFire, StepsNamesSundaysAndMacros) {
  check_table("UTC", {
                         {"*/7 * * * *", "2026-01-01T12:56:00Z", "2026-01-01T13:00:00+00:00"},
                         {"1-30/5 * * * *", "2026-01-01T12:26:00Z", "2026-01-01T13:01:00+00:00"},
                         {"5/10 * * * *", "2026-01-01T12:55:00Z", "2026-01-01T13:05:00+00:00"},
                         {"0 */5 * * *", "2026-01-01T21:00:00Z", "2026-01-02T00:00:00+00:00"},
                         {"30 8 * jan,jul mon-fri", "2026-02-01T00:00:00Z", "2026-07-01T08:30:00+00:00"},
                         {"0 9 * * 0", "2026-03-02T00:00:00Z", "2026-03-08T09:00:00+00:00"},
                         {"0 9 * * 7", "2026-03-02T00:00:00Z", "2026-03-08T09:00:00+00:00"},
                         {"0 9 * * SUN", "2026-03-02T00:00:00Z", "2026-03-08T09:00:00+00:00"},
                         {"0 9 * * 1-5", "2026-03-06T09:00:00Z", "2026-03-09T09:00:00+00:00"},  // Fri -> Mon
                         {"@hourly", "2026-03-06T10:30:00Z", "2026-03-06T11:00:00+00:00"},
                         {"@daily", "2026-03-06T10:30:00Z", "2026-03-07T00:00:00+00:00"},
                         {"@midnight", "2026-03-06T00:00:00Z", "2026-03-07T00:00:00+00:00"},
                         {"@weekly", "2026-03-06T10:30:00Z", "2026-03-08T00:00:00+00:00"},
                         {"@monthly", "2026-03-06T10:30:00Z", "2026-04-01T00:00:00+00:00"},
                         {"@yearly", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00+00:00"},
                         {"@annually", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00+00:00"},
                     });
}

TEST(CronNextFire, FixedOffsetZones) {
  check_table("Asia/Tokyo", {{"0 9 * * *", "2026-01-01T00:00:00Z", "2026-01-02T09:00:00+09:00"},
                             {"0 9 * * *", "2025-12-31T23:59:00Z", "2026-01-01T09:00:00+09:00"}});
  check_table("Asia/Kolkata", {{"0 0 * * *", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00+05:30"},
                               {"0 0 1 1 *", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00+05:30"}});
  // The local date decides the day: Monday 08:00 in Tokyo is Sunday 23:00 UTC.
  check_table("Asia/Tokyo", {{"0 8 * * mon", "2026-03-07T00:00:00Z", "2026-03-09T08:00:00+09:00"}});
  EXPECT_EQ(*next_fire(cron("0 8 * * mon"), testing::zone("Asia/Tokyo"), at("2026-03-07T00:00:00Z")),
            at("2026-03-08T23:00:00Z"));
}

TEST(CronNextFire, EveryQuarterHourForADay) {
  const CronExpr e = cron("*/15 * * * *");
  const TimeZone utc = TimeZone::utc();
  Instant t = at("2026-01-01T00:00:00Z");
  int fires = 0;
  while (true) {
    auto n = next_fire(e, utc, t);
    ASSERT_TRUE(n);
    if (*n > at("2026-01-02T00:00:00Z")) break;
    EXPECT_EQ(*n - t, std::chrono::minutes(15));
    t = *n;
    ++fires;
  }
  EXPECT_EQ(fires, 96);
}

TEST(CronNextFire, InstantsOutsideTheCalendarNeverFire) {
  const CronExpr e = cron("* * * * *");
  EXPECT_FALSE(next_fire(e, TimeZone::utc(), Instant{std::chrono::milliseconds{INT64_MAX / 2}}));
  EXPECT_FALSE(next_fire(e, TimeZone::utc(), Instant{std::chrono::milliseconds{INT64_MIN / 2}}));
}

// Reference: walk local days one by one (UTC: no DST), then the minutes of a matching day.
std::optional<Instant> slow_next(const CronExpr& e, Instant after) {
  using namespace std::chrono;
  const auto first_minute = floor<minutes>(after) + minutes{1};
  auto day = floor<date::days>(first_minute);
  for (int i = 0; i < 4000; ++i, day += date::days{1}) {
    const date::year_month_day ymd{day};
    const int wd = static_cast<int>(date::weekday{day}.c_encoding());
    if (!e.matches_day(static_cast<int>(unsigned(ymd.month())), static_cast<int>(unsigned(ymd.day())), wd)) continue;
    for (int m = 0; m < 1440; ++m) {
      const auto t = time_point_cast<minutes>(day) + minutes{m};
      if (t < first_minute || !e.hour(m / 60) || !e.minute(m % 60)) continue;
      return Instant{t};
    }
  }
  return std::nullopt;
}

TEST(CronNextFire, AgreesWithAPlainSearchOnRandomExpressions) {
  std::mt19937 rng(20261127);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto field = [&](int lo, int hi) -> std::string {
    switch (pick(0, 5)) {
      case 0: return "*";
      case 1: return "*/" + std::to_string(pick(1, hi - lo + 1));
      case 2: return std::to_string(pick(lo, hi));
      case 3: {
        const int a = pick(lo, hi), b = pick(a, hi);
        return std::to_string(a) + "-" + std::to_string(b) + (pick(0, 1) ? "/" + std::to_string(pick(1, 4)) : "");
      }
      case 4: return std::to_string(pick(lo, hi)) + "," + std::to_string(pick(lo, hi));
      default: return std::to_string(pick(lo, hi)) + "/" + std::to_string(pick(1, std::min(9, hi - lo + 1)));
    }
  };
  const Instant base = at("2024-01-01T00:00:00Z");
  int compared = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string text =
        field(0, 59) + " " + field(0, 23) + " " + field(1, 31) + " " + field(1, 12) + " " + field(0, 7);
    const CronExpr e = cron(text.c_str());
    const Instant after = base + std::chrono::milliseconds{static_cast<std::int64_t>(rng() % (6ull * 365 * 86400000))};
    const auto fast = next_fire(e, TimeZone::utc(), after);
    const auto slow = slow_next(e, after);
    if (!slow && fast && *fast - after > date::days{3900}) continue;  // beyond the reference's reach
    EXPECT_EQ(show(fast, TimeZone::utc()), show(slow, TimeZone::utc()))
        << "\"" << text << "\" after " << format_instant(after, TimeZone::utc());
    ++compared;
  }
  EXPECT_GT(compared, 350);
}

}  // namespace
}  // namespace sb::schedule
