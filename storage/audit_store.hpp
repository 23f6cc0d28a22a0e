#pragma once
// The audit_log table: whole-chain verification and paged queries on a read-only
// connection, so they work next to a running node (WAL: readers never block the writer)
// and can never modify the log; the audit log actor's chain head read and its append (a
// pure WriteOp for the storage writer).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/result.hpp"
#include "runtime/security/audit/audit_chain.hpp"
#include "storage/sql_value.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// Opens the database read-only (a file or a postgres: locator) and verifies the chain in
// one read transaction (a consistent snapshot even while the node appends).
Result<security::audit::VerifyResult> verify_database(const std::string& db_path);
// The same on an open connection (e.g. one that holds the file's exclusive lock, where a
// second connection could not read). Reads the log in pages by seq, so a long log is never
// held whole in memory (a PostgreSQL result arrives whole); the pages share one snapshot:
// a read transaction of its own (REPEATABLE READ on PostgreSQL), or the caller's if one is
// open.
Result<security::audit::VerifyResult> verify_audit_chain(storage::Database& db);

// The seq of the record whose hash is `hash` (raw bytes), if any: with a verified chain,
// finding a head printed earlier proves nothing up to it was changed or cut off.
Result<std::optional<int64_t>> find_seq_by_hash(const std::string& db_path, const std::string& hash);

inline constexpr size_t kMaxQueryLimit = 1000;

struct AuditQuery {
  // Records with seq > after, oldest first. Without it: the newest `limit` records
  // (still returned oldest first), which is what `tail` shows.
  std::optional<int64_t> after;
  size_t limit = 100;  // clamped to [1, kMaxQueryLimit]
  // Only records whose detail JSON object has "namespace": <this string>
  // (detail_names_namespace; the limit counts matching records).
  std::optional<std::string> namespace_name;
};

// Whether `detail` is a JSON object whose top-level "namespace" member is the string `ns`
// (a detail that is not JSON never matches). Decided in C++ so that both engines filter
// alike: their JSON functions differ.
bool detail_names_namespace(std::string_view detail, std::string_view ns);

Result<std::vector<security::audit::ChainRecord>> query_records(storage::Database& db, const AuditQuery& query);

// The newest record's seq and hash (raw bytes): where the next append continues the chain.
struct AuditHead {
  int64_t seq = 0;
  std::string hash;
};
// nullopt: the log is empty.
Result<std::optional<AuditHead>> read_audit_head(storage::Database& db);

// INSERT of one record (its fields, prev_hash and hash as computed by the caller). The
// table is append-only: a seq that exists already fails with sqlite.constraint.
storage::WriteOp append_audit_record(const security::audit::ChainRecord& record);
// One INSERT of several consecutive records: one statement, so all of them or none.
storage::WriteOp append_audit_records(const std::vector<security::audit::ChainRecord>& records);
// Appends one record at once on `db` (its own transaction), chained after the head it
// reads: for the few events of a process that has no audit actor (yet), such as a node
// refused at start. Retries when another writer took the sequence number first.
Status append_audit_now(storage::Database& db, const AuditRecord& record, int64_t at_ms);

// A write that changes nothing: its answer means every op sent to the writer before it has
// been committed or has failed, so the head read afterwards is final.
storage::WriteOp writer_barrier();

}  // namespace sb::storage
