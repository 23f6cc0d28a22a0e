#include "runtime/security/vault/secure_key.hpp"

#include <sodium.h>

#include <utility>

namespace sb::security::vault {

static_assert(SecureKey::kBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

Result<SecureKey> SecureKey::allocate() {
  if (sodium_init() < 0) return make_error("vault.memory", "libsodium failed to initialise");
  auto* p = static_cast<unsigned char*>(sodium_malloc(kBytes));
  if (!p) return make_error("vault.memory", "cannot allocate locked memory for the vault key");
  return SecureKey(p);
}

Result<SecureKey> SecureKey::generate() {
  auto key = allocate();
  if (!key) return key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key->bytes_);
  return key;
}

Result<SecureKey> SecureKey::from_hex(std::string_view hex) {
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ' || hex.back() == '\t'))
    hex.remove_suffix(1);
  while (!hex.empty() && (hex.front() == ' ' || hex.front() == '\t')) hex.remove_prefix(1);
  if (hex.size() != kHexChars)
    return make_error("vault.bad_key",
                      "a vault key must be exactly 64 hex digits (got " + std::to_string(hex.size()) + " characters)");
  auto key = allocate();
  if (!key) return key;
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(key->bytes_, kBytes, hex.data(), hex.size(), nullptr, &len, &end) != 0 || len != kBytes ||
      end != hex.data() + hex.size())
    return make_error("vault.bad_key", "a vault key must be exactly 64 hex digits (found a non-hex character)");
  return key;
}

SecureKey::SecureKey(SecureKey&& other) noexcept : bytes_(std::exchange(other.bytes_, nullptr)) {}

SecureKey& SecureKey::operator=(SecureKey&& other) noexcept {
  if (this != &other) {
    if (bytes_) sodium_free(bytes_);
    bytes_ = std::exchange(other.bytes_, nullptr);
  }
  return *this;
}

SecureKey::~SecureKey() {
  if (bytes_) sodium_free(bytes_);  // zeroes before unmapping
}

void SecureKey::write_hex(char* out) const {
  sodium_bin2hex(out, kHexChars + 1, bytes_, kBytes);
}

bool SecureKey::equals(const SecureKey& other) const {
  return sodium_memcmp(bytes_, other.bytes_, kBytes) == 0;
}

}  // namespace sb::security::vault
