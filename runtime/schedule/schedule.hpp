#pragma once
// A task's schedule as the product states it, {"type": "cron"|"interval"|"once",
// "value": "..."} (REFERENCE §1), validated and compiled, and the two decisions the
// scheduler takes on it: when it fires next, and what to do about fires it missed.
// Pure functions: the scheduler actor, the store and the API sit on top.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "runtime/core/result.hpp"
#include "runtime/schedule/cron_expr.hpp"
#include "runtime/schedule/time_zone.hpp"

namespace sb::schedule {

enum class ScheduleType { cron, interval, once };
std::string_view to_string(ScheduleType type);
// "cron", "interval", "once" (exact). Error "schedule.bad_type".
Result<ScheduleType> parse_schedule_type(std::string_view text);

// The stored pair: type and the value text exactly as given.
struct ScheduleSpec {
  ScheduleType type = ScheduleType::cron;
  std::string value;
};

// Interval values are whole milliseconds as a decimal string ("300000"), 1 ms to 10 years.
constexpr std::int64_t kMaxIntervalMs = 3650LL * 24 * 60 * 60 * 1000;
// Error "schedule.bad_interval".
Result<std::chrono::milliseconds> parse_interval(std::string_view text);

// A compiled schedule: a CronExpr, an interval period, or a one-time instant.
class Schedule {
 public:
  // Validates the value for its type; errors say what is wrong ("schedule.bad_cron"
  // naming the field, "schedule.bad_interval", "schedule.bad_once"). A once value
  // without an offset is read in `tz`.
  static Result<Schedule> compile(const ScheduleSpec& spec, const TimeZone& tz);

  ScheduleType type() const { return static_cast<ScheduleType>(rule_.index()); }
  const CronExpr* cron() const { return std::get_if<CronExpr>(&rule_); }
  const std::chrono::milliseconds* interval() const { return std::get_if<std::chrono::milliseconds>(&rule_); }
  const Instant* once() const { return std::get_if<Instant>(&rule_); }

 private:
  // Index order matches ScheduleType.
  std::variant<CronExpr, std::chrono::milliseconds, Instant> rule_;
};

// Convenience: parse_schedule_type + Schedule::compile.
Result<Schedule> parse_schedule(std::string_view type, std::string_view value, const TimeZone& tz);

// The next planned fire strictly after `after`, or nullopt when there is none (a once
// schedule already past, a cron expression that never fires). `anchor` matters to
// intervals only: the previous planned fire (or the creation time before the first),
// so fires stay on the grid anchor + k*period.
std::optional<Instant> next_after(const Schedule& schedule, const TimeZone& tz, Instant after, Instant anchor);

// What to do when the planned fire is already due (a restart after downtime, a busy
// node): `once` (the default) runs one catch-up run now, however many were missed;
// `skip` runs none. Both then continue at the first planned fire after now.
enum class CatchUpPolicy { once, skip };
std::string_view to_string(CatchUpPolicy policy);
// "once", "skip" (exact). Error "schedule.bad_catch_up".
Result<CatchUpPolicy> parse_catch_up(std::string_view text);

struct CatchUpPlan {
  bool run_now = false;         // start one run now (policy once, something was missed)
  std::uint64_t missed = 0;     // planned fires in [planned, now]
  bool missed_capped = false;   // a cron schedule missed more than kMaxCountedMisses
  std::optional<Instant> next;  // the next planned fire after now; nullopt: none (a
                                // once schedule whose time is past: the task ends)
};
constexpr std::uint64_t kMaxCountedMisses = 10000;

// `planned` is the stored next planned fire. When planned > now nothing is missed and
// next == planned.
CatchUpPlan plan_catch_up(const Schedule& schedule, const TimeZone& tz, CatchUpPolicy policy, Instant planned,
                          Instant now);

}  // namespace sb::schedule
