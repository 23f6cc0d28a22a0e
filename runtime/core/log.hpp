#pragma once
// Structured logging: one line per event, logfmt (default) or JSON, to stderr.
//   sb::log::info("admin.listening", {{"addr", addr}, {"port", port}});
// A Secret field is always written as "[redacted]".
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "runtime/core/secret.hpp"

namespace sb::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };
enum class Format { logfmt, json };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  Field(std::string_view k, const Secret&) : key(k), value(Secret::redacted) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}
  template <class T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), quoted(false) {}

  std::string_view key;
  std::string value;
  bool quoted = true;  // JSON: emit as string; numbers/bools are emitted bare
};

// Process-wide settings; safe to call before threads start.
void configure(Level level, Format format);
// Redirects output (tests). fd must stay open while logging.
void set_fd(int fd);
Level level();
bool parse_level(std::string_view text, Level& out);
bool parse_format(std::string_view text, Format& out);

void write(Level level, std::string_view event, std::initializer_list<Field> fields);
// Fields decided at run time (a pure core's log effects).
void write(Level level, std::string_view event, std::span<const Field> fields);

inline bool enabled(Level l) {
  return l >= level();
}
inline void debug(std::string_view e, std::initializer_list<Field> f = {}) {
  if (enabled(Level::debug)) write(Level::debug, e, f);
}
inline void info(std::string_view e, std::initializer_list<Field> f = {}) {
  if (enabled(Level::info)) write(Level::info, e, f);
}
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) {
  if (enabled(Level::warn)) write(Level::warn, e, f);
}
inline void error(std::string_view e, std::initializer_list<Field> f = {}) {
  if (enabled(Level::error)) write(Level::error, e, f);
}

// Pure formatting, exposed for tests.
std::string format_line(Format format, std::string_view timestamp, Level level, std::string_view event,
                        std::initializer_list<Field> fields);
std::string format_line(Format format, std::string_view timestamp, Level level, std::string_view event,
                        std::span<const Field> fields);

}  // namespace sb::log
