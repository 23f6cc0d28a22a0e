#pragma once
// An IANA time zone resolved once (date::locate_zone scans the system tzdata on first
// use and binary-searches names after that), then carried by pointer: the zone objects
// live as long as the process, so a TimeZone is a cheap value to keep per task.
#include <chrono>
#include <string_view>

#include "runtime/core/result.hpp"

namespace date {
class time_zone;
}

namespace sb::schedule {

// Every schedule instant: UTC, millisecond resolution (what the store keeps).
using Instant = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

class TimeZone {
 public:
  // "America/New_York", "Europe/Berlin", "UTC", ... (exact IANA names, case-sensitive).
  // Error "schedule.unknown_time_zone" for anything the system tzdata lacks.
  static Result<TimeZone> locate(std::string_view name);
  static TimeZone utc();

  const date::time_zone* zone() const { return zone_; }
  std::string_view name() const;

 private:
  explicit TimeZone(const date::time_zone* zone) : zone_(zone) {}
  const date::time_zone* zone_;
};

}  // namespace sb::schedule
