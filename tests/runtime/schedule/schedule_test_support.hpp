#pragma once
// Helpers for the schedule tables: instants written as ISO-8601 with an explicit offset
// (parse_once, checked on its own in once_test.cpp) and results shown the same way.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "runtime/schedule/next_fire.hpp"
#include "runtime/schedule/once.hpp"

namespace sb::schedule::testing {

inline TimeZone zone(const char* name) {
  auto tz = TimeZone::locate(name);
  EXPECT_TRUE(tz.ok()) << name;
  return tz.ok() ? *tz : TimeZone::utc();
}

inline Instant at(const std::string& iso) {
  auto t = parse_once(iso, TimeZone::utc());
  EXPECT_TRUE(t.ok()) << iso << ": " << (t.ok() ? "" : t.error().message);
  return t.ok() ? *t : Instant{};
}

inline std::string show(const std::optional<Instant>& t, const TimeZone& tz) {
  return t ? format_instant(*t, tz) : "never";
}

inline CronExpr cron(const char* text) {
  auto e = CronExpr::parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << (e.ok() ? "" : e.error().message);
  return e.ok() ? *e : CronExpr{};
}

struct NextCase {
  const char* expr;
  const char* after;     // ISO-8601 with offset
  const char* expected;  // format_instant in the zone, or "never"
};

inline void check_table(const char* zone_name, std::initializer_list<NextCase> cases) {
  const TimeZone tz = zone(zone_name);
  for (const auto& c : cases)
    EXPECT_EQ(show(next_fire(cron(c.expr), tz, at(c.after)), tz), c.expected)
        << zone_name << " \"" << c.expr << "\" after " << c.after;
}

}  // namespace sb::schedule::testing
