#include "runtime/schedule/once.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <date/tz.h>

#include "runtime/core/text.hpp"

namespace sb::schedule {
namespace {

namespace chr = std::chrono;

constexpr std::size_t kMaxBytes = 64;

std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kMaxBytes)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return out;
}

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  Error error(const std::string& why) const {
    return make_error("schedule.bad_once",
                      "once: " + why + " in \"" + shown(text_) + "\" (expected e.g. 2026-03-08T09:30:00+01:00)");
  }
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  std::size_t pos() const { return pos_; }
  void skip() { ++pos_; }

  // Exactly n digits.
  Result<int> digits(int n, const char* what) {
    int v = 0;
    for (int i = 0; i < n; ++i, ++pos_) {
      if (done() || !std::isdigit(static_cast<unsigned char>(text_[pos_])))
        return error(std::string("expected ") + std::to_string(n) + " digits for the " + what + " at position " +
                     std::to_string(pos_ + 1));
      v = v * 10 + (text_[pos_] - '0');
    }
    return v;
  }

  Status expect(char c, const char* what) {
    if (peek() != c)
      return error(std::string("expected '") + c + "' " + what + " at position " + std::to_string(pos_ + 1));
    ++pos_;
    return {};
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

Error out_of_range(const Reader& r, const char* what, int v, int lo, int hi) {
  return r.error(std::string(what) + " " + std::to_string(v) + " is out of range " + std::to_string(lo) + "-" +
                 std::to_string(hi));
}

}  // namespace

Result<Instant> parse_once(std::string_view text, const TimeZone& tz) {
  text = trim(text);
  if (text.empty()) return make_error("schedule.bad_once", "once: empty timestamp");
  if (text.size() > kMaxBytes)
    return make_error("schedule.bad_once", "once: timestamp longer than " + std::to_string(kMaxBytes) + " bytes");
  Reader r(text);

  auto year = r.digits(4, "year");
  if (!year) return year.error();
  if (auto s = r.expect('-', "after the year"); !s) return s.error();
  auto month = r.digits(2, "month");
  if (!month) return month.error();
  if (auto s = r.expect('-', "after the month"); !s) return s.error();
  auto day = r.digits(2, "day");
  if (!day) return day.error();
  if (r.done()) return r.error("missing the time of day (a date alone is not a timestamp)");
  if (r.peek() != 'T' && r.peek() != 't' && r.peek() != ' ')
    return r.error("expected 'T' between date and time at position " + std::to_string(r.pos() + 1));
  r.skip();
  auto hour = r.digits(2, "hour");
  if (!hour) return hour.error();
  if (auto s = r.expect(':', "after the hour"); !s) return s.error();
  auto minute = r.digits(2, "minute");
  if (!minute) return minute.error();
  int second = 0;
  chr::milliseconds fraction{0};
  if (r.peek() == ':') {
    r.skip();
    auto s = r.digits(2, "second");
    if (!s) return s.error();
    second = *s;
    if (r.peek() == '.' || r.peek() == ',') {
      r.skip();
      int n = 0, ms = 0;
      while (std::isdigit(static_cast<unsigned char>(r.peek()))) {
        if (++n > 9) return r.error("more than 9 fractional digits");
        if (n <= 3) ms = ms * 10 + (r.peek() - '0');
        r.skip();
      }
      if (n == 0) return r.error("expected digits after the decimal point");
      for (int i = n; i < 3; ++i) ms *= 10;
      fraction = chr::milliseconds{ms};
    }
  }

  bool has_offset = false;
  chr::minutes offset{0};
  if (r.peek() == 'Z' || r.peek() == 'z') {
    r.skip();
    has_offset = true;
  } else if (r.peek() == '+' || r.peek() == '-') {
    const int sign = r.peek() == '-' ? -1 : 1;
    r.skip();
    auto oh = r.digits(2, "offset hours");
    if (!oh) return oh.error();
    int om = 0;
    const bool colon = r.peek() == ':';
    if (colon) r.skip();
    if (colon || !r.done()) {
      auto m = r.digits(2, "offset minutes");
      if (!m) return m.error();
      om = *m;
    }
    if (*oh > 23) return out_of_range(r, "offset hour", *oh, 0, 23);
    if (om > 59) return out_of_range(r, "offset minute", om, 0, 59);
    offset = chr::minutes{sign * (*oh * 60 + om)};
    has_offset = true;
  }
  if (!r.done())
    return r.error("unexpected '" + shown(text.substr(r.pos(), 1)) + "' at position " + std::to_string(r.pos() + 1));

  if (*year < 1970 || *year > 8999) return out_of_range(r, "year", *year, 1970, 8999);
  if (*month < 1 || *month > 12) return out_of_range(r, "month", *month, 1, 12);
  const date::year_month_day ymd{date::year{*year}, date::month{static_cast<unsigned>(*month)},
                                 date::day{static_cast<unsigned>(*day)}};
  if (*day < 1 || !ymd.ok()) {
    const unsigned last = unsigned(date::year_month_day_last{ymd.year(), date::month_day_last{ymd.month()}}.day());
    return out_of_range(r, "day", *day, 1, static_cast<int>(last));
  }
  if (*hour > 23) return out_of_range(r, "hour", *hour, 0, 23);
  if (*minute > 59) return out_of_range(r, "minute", *minute, 0, 59);
  if (second > 59) return out_of_range(r, "second", second, 0, 59);  // no leap seconds

  const auto local = date::local_days{ymd} + chr::hours{*hour} + chr::minutes{*minute} + chr::seconds{second};
  if (has_offset) return Instant{(local.time_since_epoch() - offset) + fraction};

  const date::local_info info = tz.zone()->get_info(local);
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:  // the earlier of the two instants
      return Instant{(local - info.first.offset).time_since_epoch() + fraction};
    case date::local_info::nonexistent:  // skipped: the first instant after the jump
      return Instant{info.second.begin};
  }
  return r.error("unreachable");
}

std::string format_instant(Instant at, const TimeZone& tz) {
  const date::sys_info info = tz.zone()->get_info(at);
  const auto local = date::local_time<chr::milliseconds>{at.time_since_epoch() + info.offset};
  const auto day = chr::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<chr::milliseconds> t{local - day};
  const auto off = chr::duration_cast<chr::minutes>(info.offset).count();
  char buf[128];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()), unsigned(ymd.month()),
                        unsigned(ymd.day()), static_cast<int>(t.hours().count()), static_cast<int>(t.minutes().count()),
                        static_cast<int>(t.seconds().count()));
  if (t.subseconds().count() != 0)
    n += std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(t.subseconds().count()));
  std::snprintf(buf + n, sizeof buf - n, "%c%02d:%02d", off < 0 ? '-' : '+', static_cast<int>(std::abs(off) / 60),
                static_cast<int>(std::abs(off) % 60));
  return buf;
}

}  // namespace sb::schedule
