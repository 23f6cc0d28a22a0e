#include "runtime/schedule/time_zone.hpp"

#include <exception>
#include <string>

#include <date/tz.h>

namespace sb::schedule {

Result<TimeZone> TimeZone::locate(std::string_view name) {
  if (name.empty()) return make_error("schedule.unknown_time_zone", "time zone: empty name");
  if (name.size() > 64) return make_error("schedule.unknown_time_zone", "time zone: name longer than 64 bytes");
  try {
    return TimeZone(date::locate_zone(name));
  } catch (const std::exception&) {
    // date throws std::runtime_error for names the tzdata lacks; nothing else is expected.
    return make_error("schedule.unknown_time_zone",
                      "time zone: unknown IANA zone \"" + std::string(name) + "\" (e.g. \"Europe/Berlin\", \"UTC\")");
  }
}

TimeZone TimeZone::utc() {
  static const date::time_zone* const zone = date::locate_zone("UTC");
  return TimeZone(zone);
}

std::string_view TimeZone::name() const {
  return zone_->name();
}

}  // namespace sb::schedule
