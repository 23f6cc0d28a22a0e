#include "runtime/agent/agent_log.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace sb::agent {
namespace {

void append_value(std::string& line, std::string_view v) {
  bool plain = !v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) plain = false;
  if (plain) {
    line += v;
    return;
  }
  line += '"';
  for (char c : v) {
    if (c == '"' || c == '\\')
      line += '\\', line += c;
    else if (c == '\n')
      line += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      line += ' ';
    else
      line += c;
  }
  line += '"';
}

}  // namespace

void log_event(std::string_view level, std::string_view event, std::initializer_list<LogField> fields) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
  std::string line = "ts=";
  line += stamp;
  line += " level=";
  line += level;
  line += " event=";
  line += event;
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    append_value(line, v);
  }
  line += '\n';
  // One write() per line so concurrent writers (the exec'd command) never split it.
  (void)!::write(2, line.data(), line.size());
}

}  // namespace sb::agent
