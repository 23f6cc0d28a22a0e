// next_fire across daylight-saving changes, as cron does it: a fixed-time job whose
// local time is skipped fires once right after the jump, one whose local time repeats
// fires once (the first occurrence); wildcard jobs ('*' in minute or hour) follow the
// wall clock. New York, Berlin, Sydney (southern hemisphere), Lord Howe (30-minute DST).
#include <random>
#include <string>
#include <vector>

#include <date/tz.h>
#include <gtest/gtest.h>

#include "tests/runtime/schedule/schedule_test_support.hpp"

namespace sb::schedule {
namespace {

using testing::at;
using testing::check_table;
using testing::cron;
using testing::show;
using testing::zone;

// 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z): 02:00-02:59 does not exist.
TEST(CronNextFireDst, NewYorkSpringForward) {
  check_table("America/New_York", {
                                      // Fixed time inside the gap: once, at the jump (03:00 EDT), then back to normal.
                                      {"30 2 * * *", "2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00"},
                                      {"30 2 * * *", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"},
                                      // Several skipped times of one job coalesce into one fire.
                                      {"0,15,30,45 2 * * *", "2026-03-08T01:59:00-05:00", "2026-03-08T03:00:00-04:00"},
                                      {"0,15,30,45 2 * * *", "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"},
                                      // A skipped time and 03:00 itself: one fire at 03:00, then 03:30.
                                      {"0,30 2,3 * * *", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
                                      {"0,30 2,3 * * *", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"},
                                      // Fixed times outside the gap are untouched.
                                      {"30 1 * * *", "2026-03-07T01:30:00-05:00", "2026-03-08T01:30:00-05:00"},
                                      {"30 3 * * *", "2026-03-07T03:30:00-05:00", "2026-03-08T03:30:00-04:00"},
                                      {"0 12 * * *", "2026-03-07T12:00:00-05:00", "2026-03-08T12:00:00-04:00"},
                                      // Wildcard jobs: the skipped times do not fire; the wall clock goes on.
                                      {"*/15 * * * *", "2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00"},
                                      {"30 * * * *", "2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"},
                                      {"30 */2 * * *", "2026-03-08T00:30:00-05:00", "2026-03-08T04:30:00-04:00"},
                                      {"@hourly", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
                                      {"* 2 * * *", "2026-03-07T23:00:00-05:00", "2026-03-09T02:00:00-04:00"},
                                  });
}

// 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z): 01:00-01:59 happens twice.
TEST(CronNextFireDst, NewYorkFallBack) {
  check_table("America/New_York",
              {
                  // Fixed time inside the repeated hour: first occurrence only.
                  {"30 1 * * *", "2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00"},
                  {"30 1 * * *", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"},
                  {"30 1 * * *", "2026-11-01T01:10:00-05:00", "2026-11-02T01:30:00-05:00"},
                  // Outside it: untouched.
                  {"30 0 * * *", "2026-10-31T00:30:00-04:00", "2026-11-01T00:30:00-04:00"},
                  {"30 2 * * *", "2026-10-31T02:30:00-04:00", "2026-11-01T02:30:00-05:00"},
                  // Wildcard jobs fire in both occurrences: every 30 real minutes.
                  {"*/30 * * * *", "2026-11-01T00:30:00-04:00", "2026-11-01T01:00:00-04:00"},
                  {"*/30 * * * *", "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00"},
                  {"*/30 * * * *", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00"},
                  {"*/30 * * * *", "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00"},
                  {"*/30 * * * *", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"},
                  // Late in the first occurrence: the second occurrence of 01:00 is next, not 02:00.
                  {"*/30 * * * *", "2026-11-01T01:45:00-04:00", "2026-11-01T01:00:00-05:00"},
                  {"0 * * * *", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"},
                  {"0 * * * *", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"},
                  // A wildcard minute with a fixed hour: both occurrences of 01:58.
                  {"58 * * * *", "2026-11-01T01:59:00-04:00", "2026-11-01T01:58:00-05:00"},
              });
}

// Every wildcard fire through the repeated hour, one after the other: 120 real minutes.
TEST(CronNextFireDst, NewYorkFallBackEveryMinuteKeepsRealTime) {
  const TimeZone ny = zone("America/New_York");
  const CronExpr e = cron("* * * * *");
  Instant t = at("2026-11-01T00:59:00-04:00");
  for (int i = 0; i < 180; ++i) {
    auto n = next_fire(e, ny, t);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n - t, std::chrono::minutes(1)) << format_instant(t, ny);
    t = *n;
  }
  EXPECT_EQ(format_instant(t, ny), "2026-11-01T02:59:00-05:00");
}

// 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z).
TEST(CronNextFireDst, Berlin) {
  check_table("Europe/Berlin", {
                                   {"30 2 * * *", "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00"},
                                   {"30 2 * * *", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"},
                                   {"0 3 * * *", "2026-03-28T03:00:00+01:00", "2026-03-29T03:00:00+02:00"},
                                   {"30 1 * * *", "2026-03-28T01:30:00+01:00", "2026-03-29T01:30:00+01:00"},
                                   {"*/20 * * * *", "2026-03-29T01:40:00+01:00", "2026-03-29T03:00:00+02:00"},
                                   {"30 2 * * *", "2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00"},
                                   {"30 2 * * *", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"},
                                   {"15 3 * * *", "2026-10-24T03:15:00+02:00", "2026-10-25T03:15:00+01:00"},
                                   {"0 * * * *", "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00"},
                                   {"0 * * * *", "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"},
                                   {"0 * * * *", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"},
                               });
}

// Southern hemisphere: 2026-04-05 03:00 AEDT -> 02:00 AEST; 2026-10-04 02:00 AEST -> 03:00 AEDT.
TEST(CronNextFireDst, Sydney) {
  check_table("Australia/Sydney", {
                                      {"30 2 * * *", "2026-04-04T02:30:00+11:00", "2026-04-05T02:30:00+11:00"},
                                      {"30 2 * * *", "2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00"},
                                      {"30 2 * * *", "2026-10-03T02:30:00+10:00", "2026-10-04T03:00:00+11:00"},
                                      {"30 2 * * *", "2026-10-04T03:00:00+11:00", "2026-10-05T02:30:00+11:00"},
                                      {"*/30 * * * *", "2026-04-05T02:30:00+11:00", "2026-04-05T02:00:00+10:00"},
                                  });
}

// Lord Howe moves by 30 minutes: 2026-10-04 02:00 (+10:30) -> 02:30 (+11:00).
TEST(CronNextFireDst, LordHoweHalfHourShift) {
  check_table("Australia/Lord_Howe", {
                                         {"15 2 * * *", "2026-10-03T02:15:00+10:30", "2026-10-04T02:30:00+11:00"},
                                         {"45 2 * * *", "2026-10-03T02:45:00+10:30", "2026-10-04T02:45:00+11:00"},
                                         {"*/10 * * * *", "2026-10-04T01:50:00+10:30", "2026-10-04T02:30:00+11:00"},
                                     });
}

// Samoa skipped 2011-12-30 entirely (-10:00 -> +14:00 at 2011-12-30T10:00Z).
TEST(CronNextFireDst, SamoaSkippedDay) {
  check_table("Pacific/Apia",
              {
                  {"0 12 * * *", "2011-12-29T12:00:00-10:00", "2011-12-31T00:00:00+14:00"},  // at the jump
                  {"0 12 * * *", "2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"},
                  {"0 * * * *", "2011-12-29T23:30:00-10:00",
                   "2011-12-31T00:00:00+14:00"},  // wildcard: the next wall-clock hour
                  {"0 * * * *", "2011-12-31T00:00:00+14:00", "2011-12-31T01:00:00+14:00"},
              });
}

}  // namespace
}  // namespace sb::schedule

namespace sb::schedule {
namespace {

using testing::at;
using testing::cron;
using testing::show;
using testing::zone;

// Reference for the DST rule, minute by minute in real time: a wall-clock minute fires
// when it matches, except the second occurrence of a repeated local time for fixed-time
// jobs; at a spring-forward, a fixed-time job with any match inside the skipped local
// range fires at the jump.
std::optional<Instant> slow_next_dst(const CronExpr& e, const TimeZone& tz, Instant after) {
  namespace chr = std::chrono;
  auto matches = [&](date::local_time<chr::minutes> l) {
    const auto day = chr::floor<date::days>(l);
    const date::year_month_day ymd{day};
    const auto m = (l - day).count();
    return e.matches_day(static_cast<int>(unsigned(ymd.month())), static_cast<int>(unsigned(ymd.day())),
                         static_cast<int>(date::weekday{day}.c_encoding())) &&
           e.hour(static_cast<int>(m / 60)) && e.minute(static_cast<int>(m % 60));
  };
  for (auto t = chr::floor<chr::minutes>(after) + chr::minutes{1}; t < after + chr::hours{24 * 4};
       t += chr::minutes{1}) {
    const date::sys_info info = tz.zone()->get_info(t);
    const auto local =
        date::local_time<chr::minutes>{t.time_since_epoch() + chr::duration_cast<chr::minutes>(info.offset)};
    if (!e.wildcard_time() && t == info.begin) {
      const date::sys_info before = tz.zone()->get_info(t - chr::minutes{1});
      for (auto l = local - (info.offset - before.offset); l < local; l += chr::minutes{1})
        if (matches(chr::floor<chr::minutes>(l))) return Instant{t};
    }
    if (!matches(local)) continue;
    if (!e.wildcard_time()) {
      const date::local_info li = tz.zone()->get_info(date::local_seconds{local});
      if (li.result == date::local_info::ambiguous && info.offset != li.first.offset) continue;  // 2nd occurrence
    }
    return Instant{t};
  }
  return std::nullopt;
}

TEST(CronNextFireDst, AgreesWithAMinuteByMinuteWalkAroundTransitions) {
  std::mt19937 rng(42);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto field = [&](int lo, int hi) -> std::string {
    switch (pick(0, 4)) {
      case 0: return "*";
      case 1: return "*/" + std::to_string(pick(2, 20));
      case 2: return std::to_string(pick(lo, hi));
      case 3: return std::to_string(pick(lo, hi)) + "," + std::to_string(pick(lo, hi));
      default: {
        const int a = pick(lo, hi);
        return std::to_string(a) + "-" + std::to_string(pick(a, hi));
      }
    }
  };
  // Spring-forward and fall-back instants of 2026.
  const std::vector<std::pair<const char*, const char*>> transitions = {
      {"America/New_York", "2026-03-08T07:00:00Z"},    {"America/New_York", "2026-11-01T06:00:00Z"},
      {"Europe/Berlin", "2026-03-29T01:00:00Z"},       {"Europe/Berlin", "2026-10-25T01:00:00Z"},
      {"Australia/Sydney", "2026-04-04T16:00:00Z"},    {"Australia/Sydney", "2026-10-03T16:00:00Z"},
      {"Australia/Lord_Howe", "2026-04-04T15:00:00Z"}, {"Australia/Lord_Howe", "2026-10-03T15:30:00Z"},
  };
  int compared = 0;
  for (int i = 0; i < 240; ++i) {
    const auto& [zone_name, when] = transitions[static_cast<std::size_t>(i) % transitions.size()];
    const TimeZone tz = zone(zone_name);
    // Hours near the transitions' local hours (0-4) half of the time.
    const std::string hour =
        pick(0, 1) ? std::to_string(pick(0, 4)) + (pick(0, 1) ? "" : "," + std::to_string(pick(0, 4))) : field(0, 23);
    const std::string text = field(0, 59) + " " + hour + " * * *";
    const CronExpr e = cron(text.c_str());
    const Instant after = at(when) + std::chrono::minutes{pick(-180, 180)} + std::chrono::seconds{pick(0, 1) * 30};
    EXPECT_EQ(show(next_fire(e, tz, after), tz), show(slow_next_dst(e, tz, after), tz))
        << zone_name << " \"" << text << "\" after " << format_instant(after, tz);
    ++compared;
  }
  EXPECT_EQ(compared, 240);
}

}  // namespace
}  // namespace sb::schedule
