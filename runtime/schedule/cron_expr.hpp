#pragma once
// A parsed standard 5-field cron expression: minute hour day-of-month month day-of-week,
// one bitset per field. Syntax (docs/scheduling.md): lists "1,15", ranges "1-5", steps
// "*/15", "1-30/5", "5/10" (5 to the field's end every 10), month names JAN-DEC and day
// names SUN-SAT (any case, also in ranges), 0 and 7 both Sunday, and the macros @hourly
// @daily @midnight @weekly @monthly @yearly @annually. Pure: no clock, no zone.
#include <cstdint>
#include <string_view>

#include "runtime/core/result.hpp"

namespace sb::schedule {

class CronExpr {
 public:
  // Errors ("schedule.bad_cron") name the field and the reason, e.g.
  // "cron: field 2 (hour): 24 is out of range 0-23", "cron: expected 5 fields, got 4".
  static Result<CronExpr> parse(std::string_view text);

  bool minute(int m) const { return (minutes_ >> m) & 1u; }          // 0-59
  bool hour(int h) const { return (hours_ >> h) & 1u; }              // 0-23
  bool day_of_month(int d) const { return (days_ >> d) & 1u; }       // 1-31
  bool month(int m) const { return (months_ >> m) & 1u; }            // 1-12
  bool day_of_week(int wd) const { return (weekdays_ >> wd) & 1u; }  // 0-6, 0 = Sunday

  std::uint64_t minute_bits() const { return minutes_; }
  std::uint32_t hour_bits() const { return hours_; }
  std::uint32_t day_bits() const { return days_; }
  std::uint32_t month_bits() const { return months_; }
  std::uint32_t weekday_bits() const { return weekdays_; }

  // Classic cron day rule: when both day fields are restricted (neither starts with
  // '*'), a day matches if EITHER matches; otherwise both must (a bare '*' matches all).
  bool days_or() const { return flags_ & kDaysOr; }
  // Minute or hour field starts with '*' (this includes @hourly): such jobs follow the
  // wall clock across DST changes instead of the fixed-time rule (next_fire.hpp).
  bool wildcard_time() const { return flags_ & kWildcardTime; }
  // False when no (month, day) pair exists in any year (e.g. "0 0 30 2 *", "0 0 31 4,6 *"):
  // such an expression parses but never fires.
  bool can_fire() const { return flags_ & kCanFire; }

  bool matches_day(int month, int day, int weekday) const {
    const bool dom = day_of_month(day), dow = day_of_week(weekday);
    return this->month(month) && (days_or() ? (dom || dow) : (dom && dow));
  }

  friend bool operator==(const CronExpr&, const CronExpr&) = default;

 private:
  static constexpr std::uint8_t kDaysOr = 1, kWildcardTime = 2, kCanFire = 4;
  std::uint64_t minutes_ = 0;
  std::uint32_t hours_ = 0;
  std::uint32_t days_ = 0;
  std::uint16_t months_ = 0;
  std::uint8_t weekdays_ = 0;
  std::uint8_t flags_ = 0;
};

}  // namespace sb::schedule
