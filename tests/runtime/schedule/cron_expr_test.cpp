// CronExpr::parse: the field syntax, names, macros, the classic DOM/DOW flag and the
// errors, which must say which field and why.
#include "runtime/schedule/cron_expr.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sb::schedule {
namespace {

CronExpr parsed(const std::string& text) {
  auto e = CronExpr::parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << (e.ok() ? "" : e.error().message);
  return e.ok() ? *e : CronExpr{};
}

std::vector<int> minutes_of(const CronExpr& e) {
  std::vector<int> out;
  for (int m = 0; m < 60; ++m)
    if (e.minute(m)) out.push_back(m);
  return out;
}

std::vector<int> weekdays_of(const CronExpr& e) {
  std::vector<int> out;
  for (int d = 0; d < 7; ++d)
    if (e.day_of_week(d)) out.push_back(d);
  return out;
}

TEST(CronExpr, StepsRangesAndLists) {
  EXPECT_EQ(minutes_of(parsed("*/15 * * * *")), (std::vector<int>{0, 15, 30, 45}));
  EXPECT_EQ(minutes_of(parsed("1-30/5 * * * *")), (std::vector<int>{1, 6, 11, 16, 21, 26}));
  EXPECT_EQ(minutes_of(parsed("5/10 * * * *")), (std::vector<int>{5, 15, 25, 35, 45, 55}));
  EXPECT_EQ(minutes_of(parsed("1,15,30 * * * *")), (std::vector<int>{1, 15, 30}));
  EXPECT_EQ(minutes_of(parsed("0-2,58-59 * * * *")), (std::vector<int>{0, 1, 2, 58, 59}));
  EXPECT_EQ(minutes_of(parsed("59 * * * *")), (std::vector<int>{59}));
  EXPECT_EQ(minutes_of(parsed("*/60 * * * *")), (std::vector<int>{0}));
  const CronExpr e = parsed("0 */6 1,15 * *");
  for (int h = 0; h < 24; ++h) EXPECT_EQ(e.hour(h), h % 6 == 0) << h;
  for (int d = 1; d <= 31; ++d) EXPECT_EQ(e.day_of_month(d), d == 1 || d == 15) << d;
  for (int m = 1; m <= 12; ++m) EXPECT_TRUE(e.month(m));
}

TEST(CronExpr, MonthAndDayNamesAnyCaseAlsoInRanges) {
  const CronExpr e = parsed("0 0 * jan-MAR,Jul sun,Wed-fri");
  for (int m = 1; m <= 12; ++m) EXPECT_EQ(e.month(m), m <= 3 || m == 7) << m;
  EXPECT_EQ(weekdays_of(e), (std::vector<int>{0, 3, 4, 5}));
  EXPECT_EQ(parsed("0 0 * DEC *").month_bits(), 1u << 12);
  EXPECT_EQ(parsed("0 0 * * SAT"), parsed("0 0 * * 6"));
}

TEST(CronExpr, ZeroAndSevenAreBothSunday) {
  EXPECT_EQ(parsed("0 9 * * 7"), parsed("0 9 * * 0"));
  EXPECT_EQ(parsed("0 9 * * 7"), parsed("0 9 * * sun"));
  EXPECT_EQ(weekdays_of(parsed("0 9 * * 5-7")), (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(weekdays_of(parsed("0 9 * * 0-7")), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(CronExpr, MacrosExpandToTheirFiveFields) {
  EXPECT_EQ(parsed("@hourly"), parsed("0 * * * *"));
  EXPECT_EQ(parsed("@daily"), parsed("0 0 * * *"));
  EXPECT_EQ(parsed("@midnight"), parsed("0 0 * * *"));
  EXPECT_EQ(parsed("@weekly"), parsed("0 0 * * 0"));
  EXPECT_EQ(parsed("@monthly"), parsed("0 0 1 * *"));
  EXPECT_EQ(parsed("@yearly"), parsed("0 0 1 1 *"));
  EXPECT_EQ(parsed("@annually"), parsed("0 0 1 1 *"));
  EXPECT_EQ(parsed("  @Daily "), parsed("0 0 * * *"));
}

TEST(CronExpr, WhitespaceBetweenFieldsIsFree) {
  EXPECT_EQ(parsed("  0\t9  *  * \t1-5 "), parsed("0 9 * * 1-5"));
}

TEST(CronExpr, DayFieldsAreOredOnlyWhenBothAreRestricted) {
  EXPECT_TRUE(parsed("0 0 13 * 5").days_or());
  EXPECT_TRUE(parsed("0 0 1-7 * mon").days_or());
  EXPECT_FALSE(parsed("0 0 * * 5").days_or());
  EXPECT_FALSE(parsed("0 0 13 * *").days_or());
  // Classic cron looks at the first character: "*/2" counts as unrestricted.
  EXPECT_FALSE(parsed("0 0 */2 * 5").days_or());
  EXPECT_FALSE(parsed("0 0 13 * */2").days_or());
  // matches_day: 13th or Friday, in months the month field allows.
  const CronExpr e = parsed("0 0 13 1-6 5");
  EXPECT_TRUE(e.matches_day(2, 13, 3));
  EXPECT_TRUE(e.matches_day(2, 6, 5));
  EXPECT_FALSE(e.matches_day(2, 7, 6));
  EXPECT_FALSE(e.matches_day(7, 13, 5));
}

TEST(CronExpr, WildcardTimeMeansStarInMinuteOrHour) {
  EXPECT_TRUE(parsed("*/15 * * * *").wildcard_time());
  EXPECT_TRUE(parsed("0 * * * *").wildcard_time());
  EXPECT_TRUE(parsed("@hourly").wildcard_time());
  EXPECT_TRUE(parsed("* 3 * * *").wildcard_time());
  EXPECT_TRUE(parsed("30 */2 * * *").wildcard_time());
  EXPECT_FALSE(parsed("30 2 * * *").wildcard_time());
  EXPECT_FALSE(parsed("0,30 1-3 * * *").wildcard_time());
  EXPECT_FALSE(parsed("@daily").wildcard_time());
}

TEST(CronExpr, ImpossibleDatesParseButCannotFire) {
  EXPECT_FALSE(parsed("0 0 30 2 *").can_fire());
  EXPECT_FALSE(parsed("0 0 31 4,6,9,11 *").can_fire());
  EXPECT_FALSE(parsed("0 0 30,31 feb *").can_fire());
  EXPECT_TRUE(parsed("0 0 29 2 *").can_fire());    // leap years
  EXPECT_TRUE(parsed("0 0 31 4,5 *").can_fire());  // May has a 31st
  EXPECT_TRUE(parsed("0 0 30 2 mon").can_fire());  // OR: every Monday in February
  EXPECT_TRUE(parsed("0 0 29 2 */7").can_fire());  // AND: Feb 29 on a Sunday (2032, ...)
}

struct BadCase {
  const char* text;
  const char* message;
};

TEST(CronExpr, ErrorsNameTheFieldAndTheReason) {
  const std::vector<BadCase> cases = {
      {"", "cron: empty expression"},
      {"   ", "cron: empty expression"},
      {"* * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
      {"0 0 * * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
      {"60 * * * *", "cron: field 1 (minute): 60 is out of range 0-59"},
      {"0 24 * * *", "cron: field 2 (hour): 24 is out of range 0-23"},
      {"0 0 0 * *", "cron: field 3 (day-of-month): 0 is out of range 1-31"},
      {"0 0 32 * *", "cron: field 3 (day-of-month): 32 is out of range 1-31"},
      {"0 0 * 13 *", "cron: field 4 (month): 13 is out of range 1-12"},
      {"0 0 * 0 *", "cron: field 4 (month): 0 is out of range 1-12"},
      {"0 0 * * 8", "cron: field 5 (day-of-week): 8 is out of range 0-7"},
      {"99999 * * * *", "cron: field 1 (minute): 99999 is out of range 0-59"},
      {"*/0 * * * *", "cron: field 1 (minute): step 0 is out of range 1-60"},
      {"0 */25 * * *", "cron: field 2 (hour): step 25 is out of range 1-24"},
      {"0 0 1-31/0 * *", "cron: field 3 (day-of-month): step 0 is out of range 1-31"},
      {"0 5-2 * * *", "cron: field 2 (hour): range 5-2 is reversed (the start must not exceed the end)"},
      {"0 0 * * fri-mon", "cron: field 5 (day-of-week): range 5-1 is reversed (the start must not exceed the end)"},
      {"0 0 * foo *", "cron: field 4 (month): unknown name \"foo\" (use JAN-DEC)"},
      {"0 0 * january *", "cron: field 4 (month): unknown name \"january\" (use JAN-DEC)"},
      {"0 0 * * jan", "cron: field 5 (day-of-week): unknown name \"jan\" (use SUN-SAT)"},
      {"0 mon * * *", "cron: field 2 (hour): names are not allowed here: \"mon\""},
      {"0 0 L * *", "cron: field 3 (day-of-month): names are not allowed here: \"L\""},
      {"1,,2 * * * *", "cron: field 1 (minute): empty list item in \"1,,2\""},
      {"1, * * * *", "cron: field 1 (minute): empty list item in \"1,\""},
      {"1- * * * *", "cron: field 1 (minute): missing value"},
      {"-5 * * * *", "cron: field 1 (minute): missing value"},
      {"*/ * * * *", "cron: field 1 (minute): missing step after '/' in \"*/\""},
      {"*/x * * * *", "cron: field 1 (minute): bad step \"x\" in \"*/x\""},
      {"1/2/3 * * * *", "cron: field 1 (minute): bad step \"2/3\" in \"1/2/3\""},
      {"1-5-7 * * * *", "cron: field 1 (minute): bad number \"5-7\""},
      {"? * * * *", "cron: field 1 (minute): unexpected character '?' in \"?\""},
      {"*-5 * * * *", "cron: field 1 (minute): unexpected character '*' in \"*\""},
      {"0 0 * * 1#2", "cron: field 5 (day-of-week): bad number \"1#2\""},
      {"@reboot", "cron: unknown macro \"@reboot\" (use @hourly @daily @midnight @weekly @monthly @yearly @annually)"},
      {"@daily 5",
       "cron: unknown macro \"@daily 5\" (use @hourly @daily @midnight @weekly @monthly @yearly @annually)"},
      {"\x01 * * * *", "cron: field 1 (minute): unexpected character '?' in \"?\""},
  };
  for (const auto& c : cases) {
    auto e = CronExpr::parse(c.text);
    ASSERT_FALSE(e.ok()) << "accepted: \"" << c.text << "\"";
    EXPECT_EQ(e.error().code, "schedule.bad_cron") << c.text;
    EXPECT_EQ(e.error().message, c.message) << "input: \"" << c.text << "\"";
  }
}

TEST(CronExpr, HostileInputIsBoundedAndPrintable) {
  auto long_text = CronExpr::parse(std::string(10000, '1'));
  ASSERT_FALSE(long_text.ok());
  EXPECT_EQ(long_text.error().message, "cron: expression longer than 512 bytes");

  auto long_item = CronExpr::parse(std::string(100, 'x') + " * * * *");
  ASSERT_FALSE(long_item.ok());
  EXPECT_LT(long_item.error().message.size(), 120u) << long_item.error().message;

  std::string binary = "0 0 * * ";
  binary += std::string("\xff\xfe\n\0", 4);
  auto b = CronExpr::parse(binary);
  ASSERT_FALSE(b.ok());
  for (char c : b.error().message) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << b.error().message;
}

}  // namespace
}  // namespace sb::schedule
