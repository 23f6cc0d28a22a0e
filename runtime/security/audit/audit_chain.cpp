#include "runtime/security/audit/audit_chain.hpp"

#include <sodium.h>

namespace sb::security::audit {
namespace {

// The 8-byte little-endian length prefix of a field.
struct LengthPrefix {
  explicit LengthPrefix(size_t n) {
    const uint64_t len = n;
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  }
  char bytes[8];
};

void append_field(std::string& out, std::string_view field) {
  out.append(LengthPrefix(field.size()).bytes, 8);
  out.append(field);
}

// Same bytes as canonical_form(), fed to the hash without building the string.
void hash_field(crypto_generichash_state& h, std::string_view field) {
  const LengthPrefix prefix(field.size());
  crypto_generichash_update(&h, reinterpret_cast<const unsigned char*>(prefix.bytes), 8);
  crypto_generichash_update(&h, reinterpret_cast<const unsigned char*>(field.data()), field.size());
}

}  // namespace

std::string canonical_form(std::string_view prev_hash, const RecordFields& f) {
  std::string out;
  out.reserve(7 * 8 + prev_hash.size() + 40 + f.actor.size() + f.event.size() + f.subject.size() + f.detail.size());
  append_field(out, prev_hash);
  append_field(out, std::to_string(f.seq));
  append_field(out, std::to_string(f.at_ms));
  append_field(out, f.actor);
  append_field(out, f.event);
  append_field(out, f.subject);
  append_field(out, f.detail);
  return out;
}

std::string chain_hash(std::string_view prev_hash, const RecordFields& fields) {
  static_assert(kHashBytes >= crypto_generichash_BYTES_MIN && kHashBytes <= crypto_generichash_BYTES_MAX);
  crypto_generichash_state h;
  crypto_generichash_init(&h, nullptr, 0, kHashBytes);
  hash_field(h, prev_hash);
  hash_field(h, std::to_string(fields.seq));
  hash_field(h, std::to_string(fields.at_ms));
  hash_field(h, fields.actor);
  hash_field(h, fields.event);
  hash_field(h, fields.subject);
  hash_field(h, fields.detail);
  unsigned char out[kHashBytes];
  crypto_generichash_final(&h, out, sizeof out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string to_hex(std::string_view bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  hex.pop_back();  // the terminating NUL
  return hex;
}

const char* to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::edited: return "edited";
    case FaultKind::deleted: return "deleted";
    case FaultKind::reordered: return "reordered";
  }
  return "unknown";
}

bool ChainVerifier::add(const ChainRecord& r) {
  if (fault_) return false;
  const int64_t seq = r.fields.seq;
  const int64_t expected = last_seq_ + 1;
  if (seq > expected) {
    const std::string range =
        seq - 1 == expected ? std::to_string(expected) : std::to_string(expected) + ".." + std::to_string(seq - 1);
    fault_ = ChainFault{expected, FaultKind::deleted,
                        "seq gap: record(s) " + range + " missing before seq " + std::to_string(seq)};
    return false;
  }
  if (seq < expected) {
    fault_ = ChainFault{seq, FaultKind::reordered,
                        "seq " + std::to_string(seq) + " arrived after seq " + std::to_string(last_seq_)};
    return false;
  }
  if (r.hash.size() != kHashBytes || chain_hash(r.prev_hash, r.fields) != r.hash) {
    fault_ = ChainFault{seq, FaultKind::edited, "hash mismatch: the stored hash does not match the record's content"};
    return false;
  }
  if (r.prev_hash != head_) {
    fault_ = ChainFault{
        seq, FaultKind::reordered,
        seq == 1 ? std::string("prev_hash of the first record is not empty (inserted before it)")
                 : "prev_hash does not match the hash of seq " + std::to_string(last_seq_) + " (moved or inserted)"};
    return false;
  }
  head_ = r.hash;
  last_seq_ = seq;
  ++records_;
  return true;
}

VerifyResult verify_chain(const std::vector<ChainRecord>& rows) {
  ChainVerifier v;
  for (const auto& r : rows)
    if (!v.add(r)) break;
  return VerifyResult{v.records(), v.head(), v.fault()};
}

}  // namespace sb::security::audit
