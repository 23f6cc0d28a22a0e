#include "runtime/schedule/interval.hpp"

#include <cassert>

namespace sb::schedule {

IntervalCatchUp interval_catch_up(Instant last_planned, std::chrono::milliseconds period, Instant now) {
  assert(period.count() > 0);
  if (now < last_planned) return {0, last_planned + period};  // the clock stepped back
  // Integer arithmetic only: the k-th fire is exactly last_planned + k*period.
  const auto elapsed = (now - last_planned).count();
  const auto missed = static_cast<std::uint64_t>(elapsed / period.count());
  return {missed, last_planned + period * static_cast<std::int64_t>(missed + 1)};
}

Instant interval_next(Instant anchor, std::chrono::milliseconds period, Instant now) {
  return interval_catch_up(anchor, period, now).next;
}

}  // namespace sb::schedule
