#pragma once
// ISO-8601 UTC timestamps for API answers ("2024-05-01T12:00:00.123Z"); the database
// keeps unix epoch milliseconds.
#include <cstdint>
#include <string>

namespace sb {

std::string iso8601_utc(int64_t unix_ms);

}  // namespace sb
