#pragma once
// Append-only, hash-chained audit log. Each record's hash is
// BLAKE2b-256(prev_hash | seq | at | actor | event | subject | detail) with every field
// length-prefixed (runtime/security/audit/audit_chain.hpp), so editing or deleting any
// row breaks the chain from there on.
// Records are written through the storage writer; the receipt is sent once durable.
#include <cstdint>
#include <string>
#include <vector>

#include "actors/protocol.hpp"

namespace sb::actors {

struct AuditLogOptions {
  std::string db_path;  // read connection: the chain head at start
};

audit_log_actor spawn_audit_log(caf::actor_system& system, AuditLogOptions options);

// Pure: the chained hash of one record (32 bytes); sb::security::audit::chain_hash.
std::string audit_hash(const std::string& prev_hash, int64_t seq, int64_t at_ms, const AuditRecord& event);

std::string to_hex(const std::string& bytes);

}  // namespace sb::actors
