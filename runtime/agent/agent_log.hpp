#pragma once
// The agent's own one-line-per-event logger (logfmt on stderr). The agent is a static
// binary with our code only, so it cannot link runtime/core's fmt-based logger; the
// line shape matches it (ts, level, event, fields).
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sb::agent {

using LogField = std::pair<std::string_view, std::string>;
void log_event(std::string_view level, std::string_view event, std::initializer_list<LogField> fields = {});

}  // namespace sb::agent
