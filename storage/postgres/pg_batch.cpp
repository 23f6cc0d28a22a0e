#include "storage/postgres/pg_batch.hpp"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/postgres/pg_error.hpp"
#include "storage/postgres/pg_internal.hpp"
#include "storage/postgres/placeholders.hpp"
#include "storage/sql_text.hpp"

namespace sb::storage::pg {

using internal::changes_of;
using internal::result_error;
using internal::ResultPtr;

namespace {

// The lease check of a fenced write (sb_fence: schema_postgres.cpp), already in $N form.
const std::string kFenceSql = "SELECT sb_fence($1, $2, $3)";

// One op's parameters as libpq sends them (text format, blobs binary), following
// PgStatement's binding rules.
struct Params {
  std::vector<std::string> text;
  std::vector<char> is_null;
  std::vector<int> formats;
};

Result<Params> encode(const WriteOp& op) {
  Params p;
  const size_t n = op.params.size();
  p.text.resize(n);
  p.is_null.assign(n, 0);
  p.formats.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const SqlParam& v = op.params[i];
    switch (v.kind) {
      case SqlParam::null_value: p.is_null[i] = 1; break;
      case SqlParam::integer: p.text[i] = std::to_string(v.i); break;
      case SqlParam::real: p.text[i] = internal::double_text(v.d); break;
      case SqlParam::text:
        if (v.s.find('\0') != std::string::npos) {
          return make_error(std::string(kBadParam), "text parameter " + std::to_string(i + 1) +
                                                        " contains a NUL byte, which PostgreSQL text cannot hold");
        }
        p.text[i] = v.s;
        break;
      case SqlParam::blob:
        p.text[i] = v.s;
        p.formats[i] = 1;
        break;
      default:
        return make_error(std::string(kBadParam), "unknown SqlParam kind " + std::to_string(v.kind) +
                                                      " for parameter " + std::to_string(i + 1));
    }
  }
  return p;
}

// Sends what libpq has buffered, reading while it writes: a large batch must not fill
// both directions' socket buffers and deadlock (libpq's advice for pipelines).
Status flush_all(PGconn* conn) {
  for (;;) {
    const int r = PQflush(conn);
    if (r == 0) return {};
    if (r < 0) return result_error(conn, nullptr);
    pollfd p{PQsocket(conn), POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
      return make_error(std::string(kUnreachable), std::string("poll: ") + strerror(errno));
    }
    if ((p.revents & POLLIN) && !PQconsumeInput(conn)) return result_error(conn, nullptr);
  }
}

// Back to ordinary mode (PQexec refuses to run in pipeline mode). libpq refuses to leave
// while a result is still queued; consume it and try again.
void leave_pipeline(PGconn* conn) {
  for (int i = 0; i < 8 && PQpipelineStatus(conn) != PQ_PIPELINE_OFF; ++i) {
    if (PQexitPipelineMode(conn)) return;
    ResultPtr stray(PQgetResult(conn));
  }
}

struct Attempt {
  bool committed = false;
  bool resend = false;  // nothing's own failure: send the same writes again
  int failed = -1;      // index into `pending` of the write that failed on its own
  Error error;          // that write's error, or the batch's
  std::vector<int64_t> changes;
  std::vector<std::vector<int64_t>> returned_ids;  // column 0 of each write's rows
};

// Column 0 of every row as an integer: what INSERT ... RETURNING id gave back
// (WriteOutcome::returned_ids, as the SQLite committer reports it).
std::vector<int64_t> column0_ids(const PGresult* r) {
  std::vector<int64_t> ids;
  if (PQnfields(r) < 1) return ids;
  const int rows = PQntuples(r);
  ids.reserve(static_cast<size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    const char* v = PQgetvalue(r, row, 0);
    int64_t id = 0;
    std::from_chars(v, v + PQgetlength(r, row, 0), id);
    ids.push_back(id);
  }
  return ids;
}

// One pipeline: every pending write, one Sync. Leaves the connection out of pipeline mode.
// A statement text the session has not prepared yet is prepared in the same pipeline
// (Parse once per session; each write is then Bind/Execute only), so the server does not
// parse and plan every write of every batch again.
Attempt send_once(PgDatabase& db, const std::vector<size_t>& pending, const std::vector<const std::string*>& sql,
                  const std::vector<Params>& params, const std::vector<std::optional<Params>>& fences) {
  PGconn* conn = db.handle();
  Attempt a;
  a.changes.assign(pending.size(), 0);
  a.returned_ids.assign(pending.size(), {});
  if (!PQenterPipelineMode(conn)) {
    a.error = result_error(conn, nullptr);
    return a;
  }
  PQsetnonblocking(conn, 1);
  // What the server answers, in order: a Parse for `sql_text` (prepare), write k's fence
  // check, or write k's result.
  struct Item {
    bool prepare;
    bool fence;
    size_t k;
    const std::string* sql_text;
  };
  std::vector<Item> items;
  items.reserve(pending.size() + 4);
  std::vector<const std::string*> parsing;  // texts whose Parse this pipeline sends
  bool sent = true;
  std::vector<const char*> values;
  std::vector<int> lengths;
  const auto send = [&](const std::string& text, const Params& p, size_t k, bool fence) {
    values.assign(p.text.size(), nullptr);
    lengths.assign(p.text.size(), 0);
    for (size_t j = 0; j < p.text.size(); ++j) {
      if (!p.is_null[j]) values[j] = p.text[j].c_str();
      lengths[j] = static_cast<int>(p.text[j].size());
    }
    const PgDatabase::BatchStatement stmt = db.batch_statement(text);
    if (!stmt.name.empty() && !stmt.prepared && std::find(parsing.begin(), parsing.end(), &text) == parsing.end()) {
      sent = PQsendPrepare(conn, stmt.name.c_str(), text.c_str(), static_cast<int>(values.size()), nullptr) == 1;
      parsing.push_back(&text);
      items.push_back({true, false, k, &text});
    }
    // libpq copies the query and the values into its output buffer here.
    if (sent && stmt.name.empty()) {
      sent = PQsendQueryParams(conn, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               lengths.data(), p.formats.data(), 0) == 1;
    } else if (sent) {
      sent = PQsendQueryPrepared(conn, stmt.name.c_str(), static_cast<int>(values.size()), values.data(),
                                 lengths.data(), p.formats.data(), 0) == 1;
    }
    items.push_back({false, fence, k, &text});
  };
  for (size_t k = 0; k < pending.size() && sent; ++k) {
    // The fence check goes first, in the write's own transaction: a stale lease fails it
    // (SQLSTATE SBF01, cluster.fenced) before the write runs, and a live one stays locked
    // FOR SHARE until the Sync commits.
    if (const auto& fence = fences[pending[k]]; fence) send(kFenceSql, *fence, k, true);
    if (sent) send(*sql[pending[k]], params[pending[k]], k, false);
  }
  sent = sent && PQpipelineSync(conn) == 1;
  Status flushed = sent ? flush_all(conn) : Status(result_error(conn, nullptr));
  PQsetnonblocking(conn, 0);
  if (!flushed) {
    a.error = flushed.error();
    leave_pipeline(conn);
    return a;
  }
  // Results come in order: each item's result then a NULL, at the end the Sync's.
  bool batch_failed = false;
  for (const Item& item : items) {
    ResultPtr r(PQgetResult(conn));
    if (!r) {
      a.error = result_error(conn, nullptr);
      leave_pipeline(conn);
      return a;
    }
    const ExecStatusType s = PQresultStatus(r.get());
    if (item.prepare) {
      // A prepared statement belongs to the session, not to the transaction: it stays
      // even if the batch rolls back. A bad text fails here, as its write's own error.
      if (s == PGRES_COMMAND_OK) db.batch_statement_prepared(*item.sql_text);
      const char* state = s == PGRES_FATAL_ERROR ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
      if (state && std::string_view(state) == "42P05" && !batch_failed) {
        // duplicate_prepared_statement: the server has it though this side did not learn
        // so (an earlier batch cut short). Known now; the whole batch goes again.
        db.batch_statement_prepared(*item.sql_text);
        batch_failed = true;
        a.resend = true;
        a.error = result_error(conn, r.get());
      }
    } else if (!item.fence && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)) {
      a.changes[item.k] = changes_of(r.get());
      if (s == PGRES_TUPLES_OK) a.returned_ids[item.k] = column0_ids(r.get());
    }
    if (s == PGRES_FATAL_ERROR && !batch_failed) {
      batch_failed = true;
      a.failed = static_cast<int>(item.k);
      a.error = result_error(conn, r.get());
    }
    // PGRES_PIPELINE_ABORTED: skipped after the failure; it is sent again. Each item's
    // results end with a NULL.
    for (;;) {
      ResultPtr extra(PQgetResult(conn));
      if (!extra) break;
    }
  }
  // The Sync: the implicit transaction committed here, unless the commit itself failed.
  for (int nulls = 0;;) {
    ResultPtr r(PQgetResult(conn));
    if (!r) {
      if (PQstatus(conn) != CONNECTION_OK || ++nulls > 2) {
        a.failed = -1;
        a.error = PQstatus(conn) != CONNECTION_OK
                      ? result_error(conn, nullptr)
                      : make_error(std::string(kError), "pipeline ended without its sync result");
        leave_pipeline(conn);
        return a;
      }
      continue;
    }
    const ExecStatusType s = PQresultStatus(r.get());
    if (s == PGRES_PIPELINE_SYNC) break;
    if (s == PGRES_FATAL_ERROR && !batch_failed) {
      batch_failed = true;
      a.failed = -1;  // not one write's fault: the commit failed
      a.error = result_error(conn, r.get());
    }
  }
  leave_pipeline(conn);
  a.committed = !batch_failed;
  return a;
}

// A statement that begins or ends a transaction. In a pipeline it does not fail: ROLLBACK
// undoes the writes before it (which would still be reported committed), COMMIT commits
// them apart from the rest, BEGIN leaves a transaction open past the Sync. The SQLite
// committer fails such a batch as a whole (storage.batch_aborted); so does this one, before
// sending anything.
bool is_transaction_statement(std::string_view sql) {
  const std::string w = leading_keyword(sql);
  return w == "BEGIN" || w == "START" || w == "COMMIT" || w == "END" || w == "ROLLBACK" || w == "ABORT" ||
         w == "SAVEPOINT" || w == "RELEASE";
}

// A write's own failure, worth leaving out and sending the rest again; anything else
// (lost connection, a serialization failure, the commit) fails the whole batch.
bool is_own_failure(const Error& e) {
  return e.code != kUnreachable && e.code != kRetry;
}

}  // namespace

std::vector<WriteOutcome> run_batch(PgDatabase& db, const std::vector<WriteOp>& ops) {
  std::vector<WriteOutcome> out(ops.size());
  const auto fail = [&](size_t i, const Error& e) {
    out[i].ok = false;
    out[i].error_code = e.code;
    out[i].error_message = e.message;
  };
  if (ops.empty()) return out;
  Status usable = db.is_connected() ? Status() : db.ping();
  if (usable && db.in_transaction()) {
    usable = make_error(std::string(kError), "run_batch inside an open transaction: the batch is its own transaction");
  }
  if (!usable) {
    for (size_t i = 0; i < ops.size(); ++i) fail(i, usable.error());
    return out;
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!is_transaction_statement(ops[i].sql)) continue;
    const Error aborted = make_error("storage.batch_aborted", "batch transaction aborted: op " + std::to_string(i + 1) +
                                                                  " begins or ends a transaction: " + ops[i].sql);
    for (size_t k = 0; k < ops.size(); ++k) fail(k, aborted);
    return out;
  }
  // Translate (once per distinct text) and encode once; a write whose parameters cannot be
  // sent fails alone.
  std::map<std::string, TranslatedSql, std::less<>> translated;
  std::vector<const std::string*> sql(ops.size(), nullptr);
  std::vector<size_t> pending;
  std::vector<Params> params(ops.size());
  std::vector<std::optional<Params>> fences(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    auto p = encode(ops[i]);
    if (!p) {
      fail(i, p.error());
      continue;
    }
    params[i] = std::move(*p);
    if (const Fence& f = ops[i].fence; !f.empty()) {
      auto fp = encode(WriteOp{"", {SqlParam::of(f.resource), SqlParam::of(f.holder), SqlParam::of(f.epoch)}});
      if (!fp) {
        fail(i, fp.error());
        continue;
      }
      fences[i] = std::move(*fp);
    }
    auto it = translated.find(ops[i].sql);
    if (it == translated.end()) it = translated.emplace(ops[i].sql, translate_sql(ops[i].sql)).first;
    // A count mismatch is a caller bug (the SQLite committer reports it the same way). Sent
    // anyway, the server would answer with a protocol error, which is no one write's own
    // and would fail the whole batch.
    if (static_cast<size_t>(it->second.max_parameter) != ops[i].params.size()) {
      fail(i, make_error("storage.param_count", "statement takes " + std::to_string(it->second.max_parameter) +
                                                    " parameters, got " + std::to_string(ops[i].params.size()) + ": " +
                                                    ops[i].sql));
      continue;
    }
    sql[i] = &it->second.sql;  // std::map nodes do not move
    pending.push_back(i);
  }
  int resends = 0;
  while (!pending.empty()) {
    Attempt a = send_once(db, pending, sql, params, fences);
    if (a.committed) {
      for (size_t k = 0; k < pending.size(); ++k) {
        out[pending[k]].ok = true;
        out[pending[k]].changes = a.changes[k];
        out[pending[k]].returned_ids = std::move(a.returned_ids[k]);
      }
      return out;
    }
    if (a.resend && resends++ == 0) continue;
    if (a.failed < 0 || !is_own_failure(a.error)) {
      for (size_t i : pending) fail(i, a.error);
      return out;
    }
    fail(pending[static_cast<size_t>(a.failed)], a.error);
    pending.erase(pending.begin() + a.failed);
  }
  return out;
}

}  // namespace sb::storage::pg
