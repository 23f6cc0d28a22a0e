#include "storage/postgres/pg_internal.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

#include "storage/postgres/pg_error.hpp"

namespace sb::storage::pg::internal {

std::string trimmed(const char* s) {
  std::string m = s ? s : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

Error result_error(PGconn* conn, const PGresult* r) {
  std::string msg = trimmed(r ? PQresultErrorMessage(r) : nullptr);
  if (msg.empty()) msg = trimmed(PQerrorMessage(conn));
  if (PQstatus(conn) != CONNECTION_OK) {
    return make_error(std::string(kUnreachable), "connection to the PostgreSQL server lost: " + msg);
  }
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return error_for_sqlstate(state ? state : "", std::move(msg));
}

int64_t changes_of(const PGresult* r) {
  // PQcmdTuples also counts the rows of a SELECT, which are not changes (the SQLite
  // wrapper's changes() counts writes only), so the command tag decides.
  auto* res = const_cast<PGresult*>(r);  // libpq's accessors take non-const pointers
  const std::string_view tag = PQcmdStatus(res);
  for (std::string_view verb : {"INSERT ", "UPDATE ", "DELETE ", "MERGE "}) {
    if (tag.substr(0, verb.size()) == verb) {
      const std::string_view n = PQcmdTuples(res);
      int64_t v = 0;
      std::from_chars(n.data(), n.data() + n.size(), v);
      return v;
    }
  }
  return 0;
}

std::string double_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace sb::storage::pg::internal
