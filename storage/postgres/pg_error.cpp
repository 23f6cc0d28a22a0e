#include "storage/postgres/pg_error.hpp"

#include <cstddef>

namespace sb::storage::pg {

namespace {

bool is_sqlstate_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

std::string_view code_for(std::string_view s) {
  if (s.size() != 5) return kError;
  const std::string_view cls = s.substr(0, 2);
  if (cls == "08") return kUnreachable;  // connection_exception and its subclasses
  // admin_shutdown, crash_shutdown, cannot_connect_now: the server is going away or not
  // yet accepting; to the caller that is the same as not reachable.
  if (s == "57P01" || s == "57P02" || s == "57P03") return kUnreachable;
  if (s == "28P01" || s == "28000") return kAuth;
  // integrity_constraint_violation: unique, foreign key, not null, check, exclusion.
  // SQLite reports all of them as SQLITE_CONSTRAINT, so both engines agree.
  if (cls == "23") return kConstraintViolation;
  if (s == "40001" || s == "40P01") return kRetry;
  if (s == "3D000") return kNoDatabase;
  if (s == kFencedSqlstate) return kFenced;  // raised by sb_fence()
  return kError;
}

}  // namespace

Error error_for_sqlstate(std::string_view sqlstate, std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  message += " (SQLSTATE " + (sqlstate.empty() ? std::string("none") : std::string(sqlstate)) + ")";
  return make_error(std::string(code_for(sqlstate)), std::move(message));
}

std::string startup_sqlstate(std::string_view m) {
  // The verbose form is "SEVERITY:  CODE: text": two blanks after the (translated)
  // severity, then five code characters and ": ". Scan for that shape; keep the last.
  std::string found;
  for (size_t pos = m.find(":  "); pos != std::string_view::npos; pos = m.find(":  ", pos + 1)) {
    const size_t c = pos + 3;
    if (c + 7 > m.size()) break;  // room for "CODE: "
    bool ok = m[c + 5] == ':' && m[c + 6] == ' ';
    for (size_t k = 0; ok && k < 5; ++k) ok = is_sqlstate_char(m[c + k]);
    if (ok) found = std::string(m.substr(c, 5));
  }
  return found;
}

}  // namespace sb::storage::pg
