#include "runtime/core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include <fmt/format.h>

namespace sb::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::logfmt};
std::atomic<int> g_fd{STDERR_FILENO};
std::mutex g_write_mutex;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "info";
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

bool logfmt_needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (unsigned char c : s)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  return false;
}

void append_logfmt_value(std::string& out, std::string_view s) {
  if (!logfmt_needs_quotes(s)) {
    out += s;
    return;
  }
  append_json_string(out, s);  // logfmt quoting rules match JSON string escapes
}

std::string now_timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto ms = duration_cast<milliseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace

void configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}
void set_fd(int fd) {
  g_fd = fd;
}
Level level() {
  return g_level.load(std::memory_order_relaxed);
}

bool parse_level(std::string_view t, Level& out) {
  if (t == "debug")
    out = Level::debug;
  else if (t == "info")
    out = Level::info;
  else if (t == "warn")
    out = Level::warn;
  else if (t == "error")
    out = Level::error;
  else if (t == "off")
    out = Level::off;
  else
    return false;
  return true;
}

bool parse_format(std::string_view t, Format& out) {
  if (t == "logfmt")
    out = Format::logfmt;
  else if (t == "json")
    out = Format::json;
  else
    return false;
  return true;
}

std::string format_line(Format format, std::string_view ts, Level level, std::string_view event,
                        std::initializer_list<Field> fields) {
  return format_line(format, ts, level, event, std::span<const Field>(fields.begin(), fields.size()));
}

std::string format_line(Format format, std::string_view ts, Level level, std::string_view event,
                        std::span<const Field> fields) {
  std::string out;
  out.reserve(128);
  if (format == Format::json) {
    out += "{\"ts\":";
    append_json_string(out, ts);
    out += ",\"level\":";
    append_json_string(out, level_name(level));
    out += ",\"event\":";
    append_json_string(out, event);
    for (const auto& f : fields) {
      out.push_back(',');
      append_json_string(out, f.key);
      out.push_back(':');
      if (f.quoted)
        append_json_string(out, f.value);
      else
        out += f.value;
    }
    out += "}\n";
  } else {
    out += "ts=";
    out += ts;
    out += " level=";
    out += level_name(level);
    out += " event=";
    append_logfmt_value(out, event);
    for (const auto& f : fields) {
      out.push_back(' ');
      out += f.key;
      out.push_back('=');
      append_logfmt_value(out, f.value);
    }
    out.push_back('\n');
  }
  return out;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  write(level, event, std::span<const Field>(fields.begin(), fields.size()));
}

void write(Level level, std::string_view event, std::span<const Field> fields) {
  std::string line = format_line(g_format.load(), now_timestamp(), level, event, fields);
  std::lock_guard lock(g_write_mutex);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(g_fd.load(), p, left);
    if (n <= 0) return;  // logging must never take the process down
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace sb::log
