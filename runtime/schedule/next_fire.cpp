#include "runtime/schedule/next_fire.hpp"

#include <bit>
#include <cstdint>

#include <date/tz.h>

namespace sb::schedule {
namespace {

namespace chr = std::chrono;
using LocalMinutes = date::local_time<chr::minutes>;

constexpr int kHorizonYears = 400;
// Neighbouring periods' offsets differ by at most a day (Samoa 2011: -10 h to +14 h), so a
// local time more than two days from both ends of the period it falls in is unique.
constexpr chr::hours kUniqueMargin{48};

// Bits 1, 8, 15, 22, 29: the days of a month that share the 1st's weekday.
constexpr std::uint64_t kSameWeekday = (1ull << 1) | (1ull << 8) | (1ull << 15) | (1ull << 22) | (1ull << 29);

std::uint64_t lowest_from(std::uint64_t bits, unsigned from) {
  return from >= 64 ? 0 : (bits >> from) << from;
}

// The days (bits 1..31) of month y-m that match the expression's day fields.
std::uint64_t day_mask(const CronExpr& e, int y, unsigned m) {
  const date::year_month ym{date::year{y}, date::month{m}};
  const unsigned last = unsigned(date::year_month_day_last{ym / date::last}.day());
  const unsigned first_wd = date::weekday{date::sys_days{ym / 1}}.c_encoding();
  std::uint64_t by_weekday = 0;
  for (unsigned k = 0; k < 7; ++k)
    if (e.day_of_week(static_cast<int>((first_wd + k) % 7))) by_weekday |= kSameWeekday << k;
  const std::uint64_t by_day = e.day_bits();
  const std::uint64_t valid = ((1ull << (last + 1)) - 1) & ~1ull;
  return (e.days_or() ? (by_day | by_weekday) : (by_day & by_weekday)) & valid;
}

// The first local minute >= from that matches every field, walking field by field.
std::optional<LocalMinutes> next_local_match(const CronExpr& e, LocalMinutes from, int last_year) {
  const auto day = chr::floor<date::days>(from);
  const date::year_month_day ymd{day};
  int y = int(ymd.year());
  unsigned mo = unsigned(ymd.month()), d = unsigned(ymd.day());
  const auto minute_of_day = (from - day).count();
  unsigned h = static_cast<unsigned>(minute_of_day / 60), mi = static_cast<unsigned>(minute_of_day % 60);

  int mask_y = 0;
  unsigned mask_mo = 0;
  std::uint64_t days = 0;
  while (y <= last_year) {
    const std::uint64_t months = lowest_from(e.month_bits(), mo);
    if (months == 0) {
      ++y, mo = 1, d = 1, h = 0, mi = 0;
      continue;
    }
    if (const unsigned m2 = static_cast<unsigned>(std::countr_zero(months)); m2 != mo) mo = m2, d = 1, h = 0, mi = 0;
    if (mask_y != y || mask_mo != mo) days = day_mask(e, y, mo), mask_y = y, mask_mo = mo;
    const std::uint64_t ds = lowest_from(days, d);
    if (ds == 0) {
      if (++mo > 12) ++y, mo = 1;
      d = 1, h = 0, mi = 0;
      continue;
    }
    if (const unsigned d2 = static_cast<unsigned>(std::countr_zero(ds)); d2 != d) d = d2, h = 0, mi = 0;
    const std::uint64_t hs = lowest_from(e.hour_bits(), h);
    if (hs == 0) {
      ++d, h = 0, mi = 0;  // past the month's end: the day mask sends us to the next month
      continue;
    }
    if (const unsigned h2 = static_cast<unsigned>(std::countr_zero(hs)); h2 != h) h = h2, mi = 0;
    const std::uint64_t ms = lowest_from(e.minute_bits(), mi);
    if (ms == 0) {
      ++h, mi = 0;
      continue;
    }
    mi = static_cast<unsigned>(std::countr_zero(ms));
    return LocalMinutes{date::local_days{date::year{y} / date::month{mo} / date::day{d}}} + chr::hours{h} +
           chr::minutes{mi};
  }
  return std::nullopt;
}

Instant earlier(const std::optional<Instant>& best, Instant candidate) {
  return best && *best < candidate ? *best : candidate;
}

}  // namespace

std::optional<Instant> next_fire(const CronExpr& expr, const TimeZone& tz, Instant after) {
  if (!expr.can_fire()) return std::nullopt;
  // date's civil calendar stops at year 32767; schedules past year 9000 are not served.
  constexpr auto kFirst = date::sys_days{date::year{1} / 1 / 1};
  constexpr auto kLast = date::sys_days{date::year{9000} / 1 / 1};
  if (after < kFirst || after >= kLast) return std::nullopt;

  const date::time_zone* zone = tz.zone();
  date::sys_info period = zone->get_info(after);
  const auto local_after = date::local_time<chr::milliseconds>{after.time_since_epoch() + period.offset};
  LocalMinutes from = chr::floor<chr::minutes>(local_after) + chr::minutes{1};

  // A wildcard job fires in both occurrences of a repeated hour: when `after` lies in the
  // first occurrence, the second occurrences of earlier local times are still ahead.
  if (expr.wildcard_time() && period.end - after < kUniqueMargin) {
    const date::sys_info next = zone->get_info(period.end);
    const auto repeat_start = LocalMinutes{chr::floor<chr::minutes>(period.end.time_since_epoch() + next.offset)};
    if (next.offset < period.offset && repeat_start < from) from = repeat_start;
  }

  const int last_year = int(date::year_month_day{chr::floor<date::days>(from)}.year()) + kHorizonYears;
  std::optional<Instant> best;
  while (auto local = next_local_match(expr, from, last_year)) {
    from = *local + chr::minutes{1};
    const date::sys_seconds guess{local->time_since_epoch() - period.offset};
    if (guess >= period.begin + kUniqueMargin && guess < period.end - kUniqueMargin && guess > after)
      return earlier(best, guess);  // the common case: no transition within a day

    const auto seconds = date::local_seconds{*local};
    const date::local_info info = zone->get_info(seconds);
    switch (info.result) {
      case date::local_info::unique: {
        period = info.first;
        const Instant at{(seconds - info.first.offset).time_since_epoch()};
        if (at > after) return earlier(best, at);
        break;
      }
      case date::local_info::nonexistent:
        // Skipped by a spring-forward: fixed-time jobs fire at the jump, wildcard jobs not.
        if (!expr.wildcard_time() && Instant{info.second.begin} > after)
          return earlier(best, Instant{info.second.begin});
        break;
      case date::local_info::ambiguous: {
        // Repeated by a fall-back: keep scanning the window, where a later local time's
        // first occurrence can come before an earlier one's second occurrence.
        const Instant first{(seconds - info.first.offset).time_since_epoch()};
        const Instant second{(seconds - info.second.offset).time_since_epoch()};
        if (first > after) best = earlier(best, first);
        if (expr.wildcard_time() && second > after) best = earlier(best, second);
        break;
      }
    }
  }
  return best;
}

}  // namespace sb::schedule
