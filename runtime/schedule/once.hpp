#pragma once
// One-time schedules: an ISO-8601 timestamp, parsed to an instant.
//   2026-03-08T09:30:00Z, 2026-03-08T09:30:00+02:00, 2026-03-08T09:30+0200,
//   2026-03-08T09:30:00.250-05:00, 2026-03-08T09:30 (no offset: the task's time zone)
// Seconds and fractional seconds (up to 9 digits, kept to the millisecond, truncated)
// are optional; 'T' may also be 't' or one space; 'Z' may be 'z'. Without an offset the
// local time is read in the task's zone: a time repeated by a fall-back is the earlier
// instant; a time skipped by a spring-forward is the first instant after the jump (as a
// fixed-time cron job fires), e.g. 2026-03-08T02:30 in New York is 03:00 EDT.
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/schedule/time_zone.hpp"

namespace sb::schedule {

// Errors "schedule.bad_once", saying what is wrong and where ("once: month 13 is out of
// range 1-12 in \"2026-13-01T00:00\"").
Result<Instant> parse_once(std::string_view text, const TimeZone& tz);

// The inverse, for people: "2026-03-08T03:00:00-04:00" (".250" appended when the
// instant has milliseconds), in the given zone.
std::string format_instant(Instant at, const TimeZone& tz);

}  // namespace sb::schedule
