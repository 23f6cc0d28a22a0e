#include "runtime/schedule/cron_expr.hpp"

#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "runtime/core/text.hpp"

namespace sb::schedule {
namespace {

constexpr std::size_t kMaxExpressionBytes = 512;

struct FieldSpec {
  int index;  // 1-based, as the error messages count
  const char* name;
  int lo, hi;
  const std::array<const char*, 12>* names;  // names[i] is the value names_base + i
  int names_base;
};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kDayNames = {"sun", "mon",   "tue",   "wed",   "thu",   "fri",
                                                   "sat", nullptr, nullptr, nullptr, nullptr, nullptr};

constexpr std::array<FieldSpec, 5> kFields = {{
    {1, "minute", 0, 59, nullptr, 0},
    {2, "hour", 0, 23, nullptr, 0},
    {3, "day-of-month", 1, 31, nullptr, 0},
    {4, "month", 1, 12, &kMonthNames, 1},
    {5, "day-of-week", 0, 7, &kDayNames, 0},
}};

// Hostile input may reach an error message: keep it short and printable.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 32)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (s.size() > 32) out += "...";
  return out;
}

Error field_error(const FieldSpec& f, const std::string& why) {
  return make_error("schedule.bad_cron", "cron: field " + std::to_string(f.index) + " (" + f.name + "): " + why);
}

std::string range_text(const FieldSpec& f) {
  return std::to_string(f.lo) + "-" + std::to_string(f.hi);
}

// One value: a number, or (month and day-of-week fields) a three-letter name.
Result<int> parse_value(std::string_view s, const FieldSpec& f) {
  if (s.empty()) return field_error(f, "missing value");
  if (std::isdigit(static_cast<unsigned char>(s[0]))) {
    if (s.size() > 4) return field_error(f, shown(s) + " is out of range " + range_text(f));
    int v = 0;
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return field_error(f, "bad number \"" + shown(s) + "\"");
      v = v * 10 + (c - '0');
    }
    if (v < f.lo || v > f.hi) return field_error(f, std::to_string(v) + " is out of range " + range_text(f));
    return v;
  }
  if (std::isalpha(static_cast<unsigned char>(s[0]))) {
    if (f.names == nullptr) return field_error(f, "names are not allowed here: \"" + shown(s) + "\"");
    if (s.size() == 3) {
      std::string lower;
      for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (std::size_t i = 0; i < f.names->size(); ++i)
        if ((*f.names)[i] != nullptr && lower == (*f.names)[i]) return f.names_base + static_cast<int>(i);
    }
    return field_error(f, std::string("unknown name \"") + shown(s) + "\" (use " +
                              (f.names == &kMonthNames ? "JAN-DEC" : "SUN-SAT") + ")");
  }
  return field_error(f, "unexpected character '" + shown(s.substr(0, 1)) + "' in \"" + shown(s) + "\"");
}

struct FieldBits {
  std::uint64_t bits = 0;
  bool star = false;  // the field starts with '*' (the classic cron DOM/DOW and DST rules)
};

Result<FieldBits> parse_field(std::string_view text, const FieldSpec& f) {
  FieldBits out;
  out.star = text.front() == '*';
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = text.find(',', pos);
    const std::string_view item = text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    if (item.empty()) return field_error(f, "empty list item in \"" + shown(text) + "\"");

    std::string_view base = item;
    int step = 1;
    bool has_step = false;
    if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      if (step_text.empty()) return field_error(f, "missing step after '/' in \"" + shown(item) + "\"");
      const int span = f.hi - f.lo + 1;
      if (step_text.size() > 4)
        return field_error(f, "step " + shown(step_text) + " is out of range 1-" + std::to_string(span));
      int v = 0;
      for (char c : step_text) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
          return field_error(f, "bad step \"" + shown(step_text) + "\" in \"" + shown(item) + "\"");
        v = v * 10 + (c - '0');
      }
      if (v < 1 || v > span)
        return field_error(f, "step " + std::to_string(v) + " is out of range 1-" + std::to_string(span));
      step = v;
      has_step = true;
    }

    int first = f.lo, last = f.hi;
    if (base == "*") {
      // all values
    } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
      auto a = parse_value(base.substr(0, dash), f);
      if (!a) return a.error();
      auto b = parse_value(base.substr(dash + 1), f);
      if (!b) return b.error();
      if (*a > *b)
        return field_error(f, "range " + std::to_string(*a) + "-" + std::to_string(*b) +
                                  " is reversed (the start must not exceed the end)");
      first = *a;
      last = *b;
    } else {
      auto a = parse_value(base, f);
      if (!a) return a.error();
      first = *a;
      last = has_step ? f.hi : *a;  // "5/10": from 5 to the field's end, every 10
    }
    for (int v = first; v <= last; v += step) out.bits |= std::uint64_t{1} << v;

    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

Result<std::string_view> expand_macro(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "@hourly") return std::string_view("0 * * * *");
  if (lower == "@daily" || lower == "@midnight") return std::string_view("0 0 * * *");
  if (lower == "@weekly") return std::string_view("0 0 * * 0");
  if (lower == "@monthly") return std::string_view("0 0 1 * *");
  if (lower == "@yearly" || lower == "@annually") return std::string_view("0 0 1 1 *");
  return make_error("schedule.bad_cron", "cron: unknown macro \"" + shown(text) +
                                             "\" (use @hourly @daily @midnight @weekly @monthly @yearly @annually)");
}

constexpr int kMaxDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};  // Feb: leap years

}  // namespace

Result<CronExpr> CronExpr::parse(std::string_view text) {
  if (text.size() > kMaxExpressionBytes)
    return make_error("schedule.bad_cron",
                      "cron: expression longer than " + std::to_string(kMaxExpressionBytes) + " bytes");
  text = trim(text);
  if (text.empty()) return make_error("schedule.bad_cron", "cron: empty expression");
  if (text.front() == '@') {
    auto expanded = expand_macro(text);
    if (!expanded) return expanded.error();
    text = *expanded;
  }

  std::vector<std::string_view> fields;
  for (std::size_t i = 0; i < text.size();) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5)
    return make_error(
        "schedule.bad_cron",
        "cron: expected 5 fields (minute hour day-of-month month day-of-week), got " + std::to_string(fields.size()));

  FieldBits parsed[5];
  for (int i = 0; i < 5; ++i) {
    auto bits = parse_field(fields[i], kFields[i]);
    if (!bits) return bits.error();
    parsed[i] = *bits;
  }

  CronExpr e;
  e.minutes_ = parsed[0].bits;
  e.hours_ = static_cast<std::uint32_t>(parsed[1].bits);
  e.days_ = static_cast<std::uint32_t>(parsed[2].bits);
  e.months_ = static_cast<std::uint16_t>(parsed[3].bits);
  std::uint64_t dow = parsed[4].bits;
  if (dow & (std::uint64_t{1} << 7)) dow = (dow | 1u) & 0x7fu;  // 7 is Sunday too
  e.weekdays_ = static_cast<std::uint8_t>(dow);
  if (!parsed[2].star && !parsed[4].star) e.flags_ |= kDaysOr;
  if (parsed[0].star || parsed[1].star) e.flags_ |= kWildcardTime;

  // Every day-of-month occurs on every weekday over the 400-year Gregorian cycle, so only
  // (month, day) pairs decide whether the expression can ever fire.
  bool can_fire = false;
  for (int m = 1; m <= 12; ++m) {
    if (!e.month(m)) continue;
    const std::uint64_t valid_days = ((std::uint64_t{1} << (kMaxDays[m] + 1)) - 1) & ~std::uint64_t{1};
    if (e.days_or() || (e.days_ & valid_days) != 0) can_fire = true;
  }
  if (can_fire) e.flags_ |= kCanFire;
  return e;
}

}  // namespace sb::schedule
