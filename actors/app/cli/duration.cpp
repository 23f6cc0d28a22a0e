#include "actors/app/cli/duration.hpp"

#include <charconv>
#include <string>

namespace sb::app::cli {

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto bad = [&] {
    return make_error("cli.duration",
                      "\"" + std::string(text) + "\" is not a duration (e.g. 250ms, 90s, 30m, 2h, 0 for none)");
  };
  if (text.empty()) return bad();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n < 0) return bad();
  std::string_view unit(p, static_cast<size_t>(text.data() + text.size() - p));
  int64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60 * 1000;
  else if (unit == "h")
    factor = 3600 * 1000;
  else if (unit.empty() && n == 0)
    factor = 1;
  else
    return bad();
  if (n > INT64_MAX / factor) return bad();
  return std::chrono::milliseconds(n * factor);
}

}  // namespace sb::app::cli
