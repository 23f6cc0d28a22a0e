#pragma once
// "90s", "30m", "1h", "250ms", "0" (none) -> milliseconds. Pure.
#include <chrono>
#include <string_view>

#include "runtime/core/result.hpp"

namespace sb::app::cli {

Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace sb::app::cli
