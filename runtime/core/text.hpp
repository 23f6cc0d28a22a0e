#pragma once
// ASCII text helpers for protocol text (headers, cron fields, triggers, config values):
// locale-independent on purpose, so "I" never folds differently on a Turkish system.
// The static in-container agent compiles text.cpp too: nothing beyond the C++ library.
#include <string_view>

namespace sb {

// The ASCII whitespace of the C locale's isspace: space, \t, \n, \v, \f, \r.
inline constexpr std::string_view kAsciiSpace = " \t\n\v\f\r";
constexpr bool is_ascii_space(char c) {
  return kAsciiSpace.find(c) != std::string_view::npos;
}
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// `s` without leading and trailing ASCII whitespace: trim("  a b \t") == "a b".
std::string_view trim(std::string_view s);
// Without leading and trailing characters from `chars` (HTTP's OWS is " \t").
std::string_view trim(std::string_view s, std::string_view chars);
// Without trailing characters from `chars` only (a tool's output, a line read from a file).
std::string_view trim_right(std::string_view s, std::string_view chars = kAsciiSpace);

// ASCII case-insensitive equality (header names, usernames): only A-Z fold.
bool iequals(std::string_view a, std::string_view b);

}  // namespace sb
