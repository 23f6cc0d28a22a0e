#include "runtime/core/crypto.hpp"

namespace sb {
namespace {
const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
}  // namespace

bool crypto_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

HmacSha256::HmacSha256(std::string_view key) {
  crypto_ready();
  crypto_auth_hmacsha256_init(&keyed_, bytes(key), key.size());
}

HmacSha256::~HmacSha256() {
  sodium_memzero(&keyed_, sizeof keyed_);
}

Sha256Digest HmacSha256::mac(std::initializer_list<std::string_view> parts) const {
  crypto_auth_hmacsha256_state state = keyed_;
  for (std::string_view part : parts) crypto_auth_hmacsha256_update(&state, bytes(part), part.size());
  Sha256Digest out{};
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
  return out;
}

bool digests_equal(const Sha256Digest& a, const Sha256Digest& b) {
  return crypto_verify_32(a.data(), b.data()) == 0;
}

bool secrets_equal(std::string_view presented, std::string_view expected) {
  Sha256Digest a{}, b{};
  crypto_hash_sha256(a.data(), bytes(presented), presented.size());
  crypto_hash_sha256(b.data(), bytes(expected), expected.size());
  return digests_equal(a, b);
}

}  // namespace sb
