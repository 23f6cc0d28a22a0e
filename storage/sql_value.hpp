#pragma once
// Plain data carried in messages between actors (e.g. to the database writer).
// Deliberately free of CAF and SQLite: simple aggregates with public fields so the
// protocol header can give them `inspect` overloads and any actor can build them.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sb::storage {

// One bound value of a statement. `kind` is a plain uint8_t (not the enum) so it
// serializes as a number without extra inspector support.
struct SqlParam {
  enum Kind : uint8_t { null_value = 0, integer = 1, real = 2, text = 3, blob = 4 };

  uint8_t kind = null_value;
  int64_t i = 0;
  double d = 0;
  std::string s;  // text (UTF-8) or blob bytes, depending on kind

  static SqlParam null() { return {}; }
  static SqlParam of(int64_t v) {
    SqlParam p;
    p.kind = integer;
    p.i = v;
    return p;
  }
  // Without this, of(42) would be ambiguous between int64_t and double.
  static SqlParam of(int v) { return of(static_cast<int64_t>(v)); }
  static SqlParam of(double v) {
    SqlParam p;
    p.kind = real;
    p.d = v;
    return p;
  }
  static SqlParam of(std::string v) {
    SqlParam p;
    p.kind = text;
    p.s = std::move(v);
    return p;
  }
  static SqlParam blob_of(std::string bytes) {
    SqlParam p;
    p.kind = blob;
    p.s = std::move(bytes);
    return p;
  }

  friend bool operator==(const SqlParam&, const SqlParam&) = default;
};

// The lease a write depends on (cluster_store.hpp): the write commits only if, in its own
// transaction, cluster_leases still has (resource, holder, epoch) unexpired by the
// database clock; otherwise it fails alone with "cluster.fenced" and writes nothing. On
// PostgreSQL the check locks the lease row FOR SHARE, so a takeover waits for the write's
// commit. An empty resource means unfenced.
struct Fence {
  std::string resource;
  std::string holder;
  int64_t epoch = 0;

  bool empty() const { return resource.empty(); }
  friend bool operator==(const Fence&, const Fence&) = default;
};

// One write statement (INSERT/UPDATE/DELETE) with its positional parameters:
// params[0] binds to ?1, params[1] to ?2, ... Placeholders are numbered (?1, ?2): the
// PostgreSQL engine turns ?N into $N, and a bare ? has no portable meaning.
struct WriteOp {
  // Constructors rather than aggregate initialisation: the many WriteOp{sql, params} of the
  // stores and tests stay valid without naming a fence (-Wmissing-field-initializers).
  WriteOp() = default;
  WriteOp(std::string sql_text, std::vector<SqlParam> bound, Fence lease = {})
      : sql(std::move(sql_text)), params(std::move(bound)), fence(std::move(lease)) {}

  std::string sql;
  std::vector<SqlParam> params;
  Fence fence;  // empty: unfenced
};

// Result of one WriteOp. ok == true means the write is committed and durable.
struct WriteOutcome {
  bool ok = false;
  // Column 0 of every row the op returned, as integers: the ids an INSERT ... RETURNING id
  // gave its new rows (empty for an op without RETURNING, or one that inserted nothing).
  // Carried explicitly because "the connection's last rowid" exists on SQLite only. The
  // engines promise no order for RETURNING rows: sort them where order matters.
  std::vector<int64_t> returned_ids;
  int64_t changes = 0;     // rows changed by this op (excluding trigger/cascade changes)
  std::string error_code;  // e.g. "sqlite.constraint"; empty when ok
  std::string error_message;
};

}  // namespace sb::storage
