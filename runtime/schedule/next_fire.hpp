#pragma once
// When a cron expression fires next, in an IANA time zone, strictly after an instant.
//
// Daylight saving, as cron (Vixie/cronie) does it (docs/scheduling.md, "Time zones"):
//  - fixed-time jobs (neither the minute nor the hour field starts with '*'):
//    a local time skipped by a spring-forward fires once, at the first instant after the
//    jump (02:30 on the gap day in New York fires at 03:00 EDT; several skipped times
//    coalesce into that one fire); a local time repeated by a fall-back fires once, at its
//    first (daylight) occurrence.
//  - wildcard jobs ('*' first in the minute or hour field, @hourly): follow the wall clock:
//    skipped local times do not fire, repeated ones fire in both occurrences, so
//    "*/15 * * * *" keeps firing every 15 real minutes through the change.
// Impossible dates (Feb 30) never fire: nullopt. The search walks matching months, days,
// hours and minutes (never minute by minute) and gives up after 400 years (one full
// Gregorian cycle, so nothing found means never).
#include <optional>

#include "runtime/schedule/cron_expr.hpp"
#include "runtime/schedule/time_zone.hpp"

namespace sb::schedule {

std::optional<Instant> next_fire(const CronExpr& expr, const TimeZone& tz, Instant after);

}  // namespace sb::schedule
