#pragma once
// The vault's 32-byte master key, held in libsodium's guarded memory: sodium_malloc
// puts it between guard pages and mlocks it (never swapped out); sodium_free zeroes it.
// Move-only, so exactly one owner frees it.
#include <cstddef>
#include <string_view>

#include "runtime/core/result.hpp"

namespace sb::security::vault {

class SecureKey {
 public:
  static constexpr size_t kBytes = 32;  // crypto_aead_xchacha20poly1305_ietf_KEYBYTES
  static constexpr size_t kHexChars = 2 * kBytes;

  // A fresh random key. Error "vault.memory" if guarded memory cannot be allocated.
  static Result<SecureKey> generate();
  // Exactly 64 hex digits (surrounding whitespace ignored). Errors never echo the input.
  static Result<SecureKey> from_hex(std::string_view hex);

  SecureKey(SecureKey&& other) noexcept;
  SecureKey& operator=(SecureKey&& other) noexcept;
  SecureKey(const SecureKey&) = delete;
  SecureKey& operator=(const SecureKey&) = delete;
  ~SecureKey();

  const unsigned char* data() const { return bytes_; }
  // Writes 64 hex digits and a NUL into `out` (kHexChars + 1 bytes); the caller zeroes it.
  void write_hex(char* out) const;
  bool equals(const SecureKey& other) const;  // constant-time

 private:
  explicit SecureKey(unsigned char* bytes) : bytes_(bytes) {}
  static Result<SecureKey> allocate();
  unsigned char* bytes_ = nullptr;
};

}  // namespace sb::security::vault
