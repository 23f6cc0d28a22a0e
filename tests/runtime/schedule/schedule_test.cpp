// The product's {type, value} pair: validation, next_after for each type, the catch-up
// policies and time-zone lookup.
#include "runtime/schedule/schedule.hpp"

#include <gtest/gtest.h>

#include "tests/runtime/schedule/schedule_test_support.hpp"

namespace sb::schedule {
namespace {

using std::chrono::milliseconds;
using testing::at;
using testing::zone;

Schedule compiled(const char* type, const char* value, const TimeZone& tz = TimeZone::utc()) {
  auto s = parse_schedule(type, value, tz);
  EXPECT_TRUE(s.ok()) << type << " " << value << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : *parse_schedule("interval", "1000", tz);
}

TEST(ScheduleMath, ParsesEachType) {
  const Schedule c = compiled("cron", "0 9 * * 1-5");
  EXPECT_EQ(c.type(), ScheduleType::cron);
  ASSERT_NE(c.cron(), nullptr);
  EXPECT_TRUE(c.cron()->hour(9));
  const Schedule i = compiled("interval", "300000");
  EXPECT_EQ(i.type(), ScheduleType::interval);
  ASSERT_NE(i.interval(), nullptr);
  EXPECT_EQ(*i.interval(), milliseconds{300000});
  const Schedule o = compiled("once", "2026-03-08T09:30:00+01:00");
  EXPECT_EQ(o.type(), ScheduleType::once);
  ASSERT_NE(o.once(), nullptr);
  EXPECT_EQ(*o.once(), at("2026-03-08T08:30:00Z"));
  // Without an offset the task's zone decides.
  EXPECT_EQ(*compiled("once", "2026-03-08T09:30", zone("Europe/Berlin")).once(), at("2026-03-08T08:30:00Z"));
  EXPECT_EQ(to_string(ScheduleType::interval), "interval");
  EXPECT_EQ(*parse_schedule_type("once"), ScheduleType::once);
}

TEST(ScheduleMath, BadInputSaysWhatIsWrong) {
  struct Case {
    const char *type, *value, *code, *message;
  };
  const std::vector<Case> cases = {
      {"weekly", "x", "schedule.bad_type", "schedule: unknown type \"weekly\" (use cron, interval or once)"},
      {"Cron", "* * * * *", "schedule.bad_type", "schedule: unknown type \"Cron\" (use cron, interval or once)"},
      {"cron", "0 24 * * *", "schedule.bad_cron", "cron: field 2 (hour): 24 is out of range 0-23"},
      {"cron", "0 9 * *", "schedule.bad_cron",
       "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
      {"interval", "", "schedule.bad_interval", "interval: empty value (milliseconds, e.g. \"300000\")"},
      {"interval", "5m", "schedule.bad_interval",
       "interval: expected a whole number of milliseconds, got \"5m\" (e.g. \"300000\" for 5 minutes)"},
      {"interval", "-5", "schedule.bad_interval",
       "interval: expected a whole number of milliseconds, got \"-5\" (e.g. \"300000\" for 5 minutes)"},
      {"interval", "1.5", "schedule.bad_interval",
       "interval: expected a whole number of milliseconds, got \"1.5\" (e.g. \"300000\" for 5 minutes)"},
      {"interval", "0", "schedule.bad_interval", "interval: 0 ms is out of range 1-315360000000"},
      {"interval", "99999999999999999999999", "schedule.bad_interval",
       "interval: 99999999999999999999999 ms is out of range 1-315360000000"},
      {"once", "2026-02-30T10:00Z", "schedule.bad_once",
       "once: day 30 is out of range 1-28 in \"2026-02-30T10:00Z\" (expected e.g. 2026-03-08T09:30:00+01:00)"},
  };
  for (const auto& c : cases) {
    auto s = parse_schedule(c.type, c.value, TimeZone::utc());
    ASSERT_FALSE(s.ok()) << c.type << " " << c.value;
    EXPECT_EQ(s.error().code, c.code) << c.value;
    EXPECT_EQ(s.error().message, c.message) << c.value;
  }
  EXPECT_EQ(*parse_interval(" 1000 "), milliseconds{1000});
  EXPECT_EQ(*parse_interval("315360000000"), milliseconds{315360000000});
  EXPECT_FALSE(parse_interval("315360000001").ok());
}

TEST(ScheduleMath, NextAfterForEachType) {
  const TimeZone berlin = zone("Europe/Berlin");
  const Schedule c = compiled("cron", "0 9 * * *", berlin);
  EXPECT_EQ(*next_after(c, berlin, at("2026-03-08T08:00:00Z"), Instant{}), at("2026-03-09T08:00:00Z"));

  // Interval: on the grid of the anchor, strictly after `after`.
  const Schedule i = compiled("interval", "60000");
  const Instant anchor = at("2026-03-08T09:00:00.500Z");
  EXPECT_EQ(*next_after(i, berlin, anchor, anchor), at("2026-03-08T09:01:00.500Z"));
  EXPECT_EQ(*next_after(i, berlin, at("2026-03-08T09:03:10Z"), anchor),
            at("2026-03-08T09:03:00.500Z") + milliseconds{60000});
  EXPECT_EQ(*next_after(i, berlin, at("2026-03-08T08:00:00Z"), anchor), at("2026-03-08T09:01:00.500Z"));

  const Schedule o = compiled("once", "2026-03-08T09:30:00Z");
  EXPECT_EQ(*next_after(o, berlin, at("2026-03-08T09:29:59Z"), Instant{}), at("2026-03-08T09:30:00Z"));
  EXPECT_FALSE(next_after(o, berlin, at("2026-03-08T09:30:00Z"), Instant{}));

  EXPECT_FALSE(next_after(compiled("cron", "0 0 30 2 *"), berlin, at("2026-01-01T00:00:00Z"), Instant{}));
}

TEST(ScheduleMath, CatchUpCron) {
  const Schedule hourly = compiled("cron", "0 * * * *");
  const TimeZone utc = TimeZone::utc();
  // Down from 09:40 to 13:30: planned 10:00, then 11, 12, 13 were missed too.
  CatchUpPlan p =
      plan_catch_up(hourly, utc, CatchUpPolicy::once, at("2026-03-08T10:00:00Z"), at("2026-03-08T13:30:00Z"));
  EXPECT_TRUE(p.run_now);
  EXPECT_EQ(p.missed, 4u);
  EXPECT_FALSE(p.missed_capped);
  EXPECT_EQ(*p.next, at("2026-03-08T14:00:00Z"));
  p = plan_catch_up(hourly, utc, CatchUpPolicy::skip, at("2026-03-08T10:00:00Z"), at("2026-03-08T13:30:00Z"));
  EXPECT_FALSE(p.run_now);
  EXPECT_EQ(p.missed, 4u);
  EXPECT_EQ(*p.next, at("2026-03-08T14:00:00Z"));
  // Exactly at the planned time: that one is due (missed 1), the next is 11:00.
  p = plan_catch_up(hourly, utc, CatchUpPolicy::once, at("2026-03-08T10:00:00Z"), at("2026-03-08T10:00:00Z"));
  EXPECT_TRUE(p.run_now);
  EXPECT_EQ(p.missed, 1u);
  EXPECT_EQ(*p.next, at("2026-03-08T11:00:00Z"));
  // Nothing due yet.
  p = plan_catch_up(hourly, utc, CatchUpPolicy::once, at("2026-03-08T10:00:00Z"), at("2026-03-08T09:59:59Z"));
  EXPECT_FALSE(p.run_now);
  EXPECT_EQ(p.missed, 0u);
  EXPECT_EQ(*p.next, at("2026-03-08T10:00:00Z"));
  // Two months of an every-minute job: counting stops at the cap, next is still right.
  p = plan_catch_up(compiled("cron", "* * * * *"), utc, CatchUpPolicy::once, at("2026-01-01T00:00:00Z"),
                    at("2026-03-01T00:00:30Z"));
  EXPECT_TRUE(p.missed_capped);
  EXPECT_EQ(p.missed, kMaxCountedMisses);
  EXPECT_EQ(*p.next, at("2026-03-01T00:01:00Z"));
}

TEST(ScheduleMath, CatchUpInterval) {
  const Schedule every_minute = compiled("interval", "60000");
  const Instant planned = at("2026-03-08T10:00:00.250Z");
  CatchUpPlan p =
      plan_catch_up(every_minute, TimeZone::utc(), CatchUpPolicy::once, planned, planned + milliseconds{150000});
  EXPECT_TRUE(p.run_now);
  EXPECT_EQ(p.missed, 3u);  // +0, +60 s, +120 s
  EXPECT_EQ(*p.next, planned + milliseconds{180000});
  p = plan_catch_up(every_minute, TimeZone::utc(), CatchUpPolicy::skip, planned, planned + milliseconds{150000});
  EXPECT_FALSE(p.run_now);
  EXPECT_EQ(*p.next, planned + milliseconds{180000});
}

TEST(ScheduleMath, CatchUpOnce) {
  const Schedule o = compiled("once", "2026-03-08T09:30:00Z");
  const Instant planned = *o.once();
  CatchUpPlan p = plan_catch_up(o, TimeZone::utc(), CatchUpPolicy::once, planned, planned + milliseconds{3600000});
  EXPECT_TRUE(p.run_now);
  EXPECT_EQ(p.missed, 1u);
  EXPECT_FALSE(p.next);
  p = plan_catch_up(o, TimeZone::utc(), CatchUpPolicy::skip, planned, planned + milliseconds{3600000});
  EXPECT_FALSE(p.run_now);
  EXPECT_FALSE(p.next);  // never ran: the scheduler ends the task
}

TEST(ScheduleMath, CatchUpPolicyNames) {
  EXPECT_EQ(*parse_catch_up("once"), CatchUpPolicy::once);
  EXPECT_EQ(*parse_catch_up("skip"), CatchUpPolicy::skip);
  auto bad = parse_catch_up("all");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "schedule.bad_catch_up");
  EXPECT_EQ(bad.error().message, "catchUp: unknown policy \"all\" (use once or skip)");
  EXPECT_EQ(to_string(CatchUpPolicy::skip), "skip");
}

TEST(ScheduleTimeZone, LocatesIanaNamesOnly) {
  auto ny = TimeZone::locate("America/New_York");
  ASSERT_TRUE(ny.ok());
  EXPECT_EQ(ny->name(), "America/New_York");
  EXPECT_EQ(TimeZone::utc().name(), "UTC");
  for (const char* bad : {"", "Mars/Olympus_Mons", "america/new_york", "../../etc/passwd", "EST5EDT,M3.2.0,M11.1.0"}) {
    auto tz = TimeZone::locate(bad);
    ASSERT_FALSE(tz.ok()) << bad;
    EXPECT_EQ(tz.error().code, "schedule.unknown_time_zone");
  }
  EXPECT_EQ(TimeZone::locate("Mars/Olympus_Mons").error().message,
            "time zone: unknown IANA zone \"Mars/Olympus_Mons\" (e.g. \"Europe/Berlin\", \"UTC\")");
  EXPECT_FALSE(TimeZone::locate(std::string(100, 'a')).ok());
}

}  // namespace
}  // namespace sb::schedule
