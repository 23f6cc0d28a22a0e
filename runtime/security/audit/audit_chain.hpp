#pragma once
// The audit log's hash chain (security layer 6), pure: no I/O.
//
// Canonical form of one record: seven fields, each written as an 8-byte little-endian
// length followed by that many bytes, in this order:
//   prev_hash (raw 32 bytes; empty for seq 1), seq (decimal ASCII), at (unix ms, decimal
//   ASCII), actor, event, subject, detail (the JSON text exactly as stored).
// hash = BLAKE2b-256(canonical form) (libsodium crypto_generichash, no key).
// Length prefixes make the encoding injective: moving bytes from one field to the next
// changes the hash.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::security::audit {

inline constexpr size_t kHashBytes = 32;

// The fields a record's hash covers.
struct RecordFields {
  int64_t seq = 0;
  int64_t at_ms = 0;
  std::string actor;
  std::string event;
  std::string subject;
  std::string detail;
};

// A row of the audit_log table as stored.
struct ChainRecord {
  RecordFields fields;
  std::string prev_hash;  // raw bytes
  std::string hash;       // raw bytes
};

std::string canonical_form(std::string_view prev_hash, const RecordFields& fields);
// Raw 32 bytes.
std::string chain_hash(std::string_view prev_hash, const RecordFields& fields);

std::string to_hex(std::string_view bytes);

enum class FaultKind {
  edited,     // the record's hash does not match its content: a field was changed
  deleted,    // seq gap: records before this seq are missing
  reordered,  // prev_hash does not link to the previous record: reordered or inserted
};
const char* to_string(FaultKind kind);

struct ChainFault {
  int64_t seq = 0;  // the first bad record (for `deleted`: the first missing seq)
  FaultKind kind = FaultKind::edited;
  std::string reason;  // one sentence for operators
};

// Walks a chain record by record in seq order and stops at the first fault. Streaming,
// so a verifier of millions of rows holds one record at a time.
class ChainVerifier {
 public:
  // false once a fault was found (the record and all later ones are not checked).
  bool add(const ChainRecord& record);
  const std::optional<ChainFault>& fault() const { return fault_; }
  size_t records() const { return records_; }        // records checked and found good
  const std::string& head() const { return head_; }  // hash of the last good record

 private:
  std::optional<ChainFault> fault_;
  size_t records_ = 0;
  int64_t last_seq_ = 0;
  std::string head_;
};

struct VerifyResult {
  size_t records = 0;
  std::string head;  // raw hash of the last good record ("" for an empty chain)
  std::optional<ChainFault> fault;
};

// rows in ascending seq order (as `ORDER BY seq` returns them).
VerifyResult verify_chain(const std::vector<ChainRecord>& rows);

}  // namespace sb::security::audit
