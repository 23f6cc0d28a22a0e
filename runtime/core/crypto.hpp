#pragma once
// The two primitives webhook verification needs: keyed HMAC-SHA256 and constant-time
// comparison of secrets. libsodium underneath.
#include <sodium.h>

#include <array>
#include <initializer_list>
#include <string_view>

namespace sb {

using Sha256Digest = std::array<unsigned char, 32>;

// HMAC-SHA256 with a key of any length. The key schedule is computed once, so a
// verifier pays only for hashing the message per request. The state is wiped on
// destruction (it is as good as the key).
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);
  HmacSha256(const HmacSha256&) = default;
  HmacSha256& operator=(const HmacSha256&) = default;
  ~HmacSha256();

  // MAC of the concatenation of parts.
  Sha256Digest mac(std::initializer_list<std::string_view> parts) const;

 private:
  crypto_auth_hmacsha256_state keyed_{};
};

// Constant time in the contents (crypto_verify_32).
bool digests_equal(const Sha256Digest& a, const Sha256Digest& b);

// Constant-time equality of two secrets of possibly different lengths: both are hashed
// first, so neither the position of the first difference nor the expected length leaks.
bool secrets_equal(std::string_view presented, std::string_view expected);

// sodium_init(), once; false if libsodium cannot initialise (then nothing verifies).
bool crypto_ready();

}  // namespace sb
