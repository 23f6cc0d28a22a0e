// Schedule expressions as an admin API body, a CLI flag or a container's tasks/ file
// carries them: cron (5 fields, names, ranges, steps, lists, macros), intervals and
// once timestamps (ISO-8601 with offsets, or local in the task's zone), compiled in a
// time zone, then asked for fires. Properties: a next fire lies after the instant asked
// about; a catch-up plan's next fire lies after now; a once instant formats to text that
// parses back to the same instant.
// Input: FuzzedDataProvider picks the type (cron | interval | once | free text), the zone
// (a fixed list with DST and odd offsets, or a fuzzed name), `after`, `anchor`, `planned`
// and `now` (years 1970-2200) and the catch-up policy; the rest is the expression.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "runtime/schedule/once.hpp"
#include "runtime/schedule/schedule.hpp"
#include "runtime/schedule/time_zone.hpp"

namespace {

using namespace sb::schedule;

constexpr std::int64_t kMaxMs = 7258118400000;  // 2200-01-01

Instant instant(FuzzedDataProvider& in) {
  return Instant(std::chrono::milliseconds(in.ConsumeIntegralInRange<std::int64_t>(0, kMaxMs)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  static const char* const kTypes[] = {"cron", "interval", "once"};
  static const char* const kZones[] = {"UTC",
                                       "Europe/Berlin",
                                       "America/New_York",
                                       "Australia/Lord_Howe",
                                       "Asia/Kathmandu",
                                       "Pacific/Chatham",
                                       "America/Santiago",
                                       "Pacific/Apia"};
  const std::uint8_t pick = in.ConsumeIntegral<std::uint8_t>();
  const std::string type = (pick & 3) < 3 ? kTypes[pick & 3] : in.ConsumeRandomLengthString(12);
  sb::Result<TimeZone> tz =
      (pick & 4) ? TimeZone::locate(in.ConsumeRandomLengthString(40)) : TimeZone::locate(kZones[(pick >> 3) & 7]);
  if (!tz) return 0;
  const Instant after = instant(in), anchor = instant(in), planned = instant(in), now = instant(in);
  const CatchUpPolicy policy = in.ConsumeBool() ? CatchUpPolicy::once : CatchUpPolicy::skip;
  const std::string value = in.ConsumeRemainingBytesAsString();

  auto schedule = parse_schedule(type, value, *tz);
  if (!schedule) return 0;
  if (auto next = next_after(*schedule, *tz, after, anchor); next && *next <= after) std::abort();
  const CatchUpPlan plan = plan_catch_up(*schedule, *tz, policy, planned, now);
  if (plan.next && *plan.next <= now && planned <= now) std::abort();
  if (const Instant* at = schedule->once()) {
    auto back = parse_once(format_instant(*at, *tz), *tz);
    if (!back || *back != *at) std::abort();
  }
  return 0;
}
