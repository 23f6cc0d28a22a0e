#pragma once
// Time as the product stores it: unix epoch milliseconds (the database, the IPC file
// names), shown as ISO-8601 UTC in API answers ("2024-05-01T12:00:00.123Z").
// The static in-container agent compiles time.cpp too: nothing beyond libc here.
#include <cstdint>
#include <string>

namespace sb {

// Now, in unix epoch milliseconds, from the system (wall) clock: for timestamps that
// are stored or shown. It can jump; measure durations and timeouts with
// std::chrono::steady_clock instead.
int64_t now_ms();

std::string iso8601_utc(int64_t unix_ms);

}  // namespace sb
