#include "runtime/schedule/schedule.hpp"

#include <cctype>

#include "runtime/core/text.hpp"
#include "runtime/schedule/interval.hpp"
#include "runtime/schedule/next_fire.hpp"
#include "runtime/schedule/once.hpp"

namespace sb::schedule {
namespace {

std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 32)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (s.size() > 32) out += "...";
  return out;
}

}  // namespace

std::string_view to_string(ScheduleType type) {
  switch (type) {
    case ScheduleType::cron: return "cron";
    case ScheduleType::interval: return "interval";
    case ScheduleType::once: return "once";
  }
  return "cron";
}

Result<ScheduleType> parse_schedule_type(std::string_view text) {
  if (text == "cron") return ScheduleType::cron;
  if (text == "interval") return ScheduleType::interval;
  if (text == "once") return ScheduleType::once;
  return make_error("schedule.bad_type", "schedule: unknown type \"" + shown(text) + "\" (use cron, interval or once)");
}

Result<std::chrono::milliseconds> parse_interval(std::string_view text) {
  text = trim(text);
  const std::string range = "1-" + std::to_string(kMaxIntervalMs);
  if (text.empty()) return make_error("schedule.bad_interval", "interval: empty value (milliseconds, e.g. \"300000\")");
  std::int64_t v = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return make_error("schedule.bad_interval", "interval: expected a whole number of milliseconds, got \"" +
                                                     shown(text) + "\" (e.g. \"300000\" for 5 minutes)");
    if (v > kMaxIntervalMs) continue;  // keep scanning for a bad character; already too large
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > kMaxIntervalMs)
    return make_error("schedule.bad_interval", "interval: " + shown(text) + " ms is out of range " + range);
  return std::chrono::milliseconds{v};
}

Result<Schedule> Schedule::compile(const ScheduleSpec& spec, const TimeZone& tz) {
  Schedule s;
  switch (spec.type) {
    case ScheduleType::cron: {
      auto expr = CronExpr::parse(spec.value);
      if (!expr) return expr.error();
      s.rule_ = *expr;
      return s;
    }
    case ScheduleType::interval: {
      auto period = parse_interval(spec.value);
      if (!period) return period.error();
      s.rule_ = *period;
      return s;
    }
    case ScheduleType::once: {
      auto at = parse_once(spec.value, tz);
      if (!at) return at.error();
      s.rule_ = *at;
      return s;
    }
  }
  return make_error("schedule.bad_type", "schedule: unknown type");
}

Result<Schedule> parse_schedule(std::string_view type, std::string_view value, const TimeZone& tz) {
  auto t = parse_schedule_type(type);
  if (!t) return t.error();
  return Schedule::compile(ScheduleSpec{*t, std::string(value)}, tz);
}

std::optional<Instant> next_after(const Schedule& schedule, const TimeZone& tz, Instant after, Instant anchor) {
  if (const auto* expr = schedule.cron()) return next_fire(*expr, tz, after);
  if (const auto* period = schedule.interval()) return interval_next(anchor, *period, std::max(after, anchor));
  if (const auto* at = schedule.once(); at && *at > after) return *at;
  return std::nullopt;
}

std::string_view to_string(CatchUpPolicy policy) {
  return policy == CatchUpPolicy::skip ? "skip" : "once";
}

Result<CatchUpPolicy> parse_catch_up(std::string_view text) {
  if (text == "once") return CatchUpPolicy::once;
  if (text == "skip") return CatchUpPolicy::skip;
  return make_error("schedule.bad_catch_up", "catchUp: unknown policy \"" + shown(text) + "\" (use once or skip)");
}

CatchUpPlan plan_catch_up(const Schedule& schedule, const TimeZone& tz, CatchUpPolicy policy, Instant planned,
                          Instant now) {
  CatchUpPlan plan;
  if (planned > now) {
    plan.next = planned;
    return plan;
  }
  if (const auto* expr = schedule.cron()) {
    plan.missed = 1;  // `planned` itself
    std::optional<Instant> at = next_fire(*expr, tz, planned);
    while (at && *at <= now) {
      if (plan.missed == kMaxCountedMisses) {
        plan.missed_capped = true;
        at = next_fire(*expr, tz, now);
        break;
      }
      ++plan.missed;
      at = next_fire(*expr, tz, *at);
    }
    plan.next = at;
  } else if (const auto* period = schedule.interval()) {
    // `planned` is on the grid: it and every planned + k*period <= now were missed.
    const IntervalCatchUp c = interval_catch_up(planned, *period, now);
    plan.missed = c.missed + 1;
    plan.next = c.next;
  } else {
    plan.missed = 1;  // a once schedule has nothing after its one fire
  }
  plan.run_now = policy == CatchUpPolicy::once;
  return plan;
}

}  // namespace sb::schedule
