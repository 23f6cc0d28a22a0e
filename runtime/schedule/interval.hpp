#pragma once
// "Every N milliseconds", anchored to the planned time: the fires are anchor + k*N, so a
// late or slow run never shifts the ones after it (no drift), and runs that fell behind
// are counted and skipped on the same grid.
#include <chrono>
#include <cstdint>

#include "runtime/schedule/time_zone.hpp"

namespace sb::schedule {

// The smallest anchor + k*period (k >= 1) strictly after `now`. The anchor is the
// previous planned fire (not when it actually ran), or the creation time for the first.
// Precondition: period > 0.
Instant interval_next(Instant anchor, std::chrono::milliseconds period, Instant now);

struct IntervalCatchUp {
  std::uint64_t missed = 0;  // planned fires in (last_planned, now]: due but not run
  Instant next;              // the first planned fire after now, on the same grid
};

// Given the last planned fire that was run (or the anchor) and now: how many planned
// fires were missed and which is next. Precondition: period > 0.
IntervalCatchUp interval_catch_up(Instant last_planned, std::chrono::milliseconds period, Instant now);

}  // namespace sb::schedule
