#pragma once
// Append-only, hash-chained audit log. Each record's hash is
// BLAKE2b-256(prev_hash | seq | at | actor | event | subject | detail) with every field
// length-prefixed (runtime/security/audit/audit_chain.hpp), so editing or deleting any
// row breaks the chain from there on.
// Records are written through the storage writer; the receipt is sent once durable.
//
// The chain advances only on commit (M2 of the 2026-12 audit): one batch of records is in
// flight at a time, the rest wait in order. A batch that fails, or whose answer does not
// come within write_timeout, is settled by asking the writer for a barrier (every op sent
// before it is then committed or failed) and re-reading the head from disk; records not
// on disk are chained again from there and retried with backoff. So a transient failure
// or a stalled disk delays records but never leaves a gap or a fork in the chain.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/protocol.hpp"

namespace sb::actors {

struct AuditLogOptions {
  std::string db_path;  // read connection: the chain head at start and after a failure
  std::chrono::milliseconds write_timeout{30000};
  size_t max_batch = 64;       // records per INSERT
  size_t max_queued = 100000;  // beyond it an append is refused (audit.queue_full)
  std::chrono::milliseconds retry_base{100};
  std::chrono::milliseconds retry_max{5000};
};

audit_log_actor spawn_audit_log(caf::actor_system& system, AuditLogOptions options);

// Pure: the chained hash of one record (32 bytes); sb::security::audit::chain_hash.
std::string audit_hash(const std::string& prev_hash, int64_t seq, int64_t at_ms, const AuditRecord& event);

std::string to_hex(const std::string& bytes);

}  // namespace sb::actors
