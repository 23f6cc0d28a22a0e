#pragma once
// Pure vault cryptography: XChaCha20-Poly1305 (IETF) with a random 24-byte nonce per
// write and the secret's name as associated data. Binding the name means a ciphertext
// copied (or swapped) onto another row fails authentication instead of decrypting to
// the other secret's value.
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"
#include "runtime/security/vault/secure_key.hpp"

namespace sb::security::vault {

inline constexpr size_t kNonceBytes = 24;  // crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
inline constexpr size_t kMaxSecretBytes = 64 * 1024;

// ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$
bool valid_secret_name(std::string_view name);
inline constexpr const char* kSecretNamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";

struct Sealed {
  std::string ciphertext;  // plaintext length + 16-byte tag
  std::string nonce;       // kNonceBytes
};

Sealed seal(const SecureKey& key, std::string_view name, const Secret& value);
// Error "vault.decrypt" if the key, the name or the bytes do not match.
Result<Secret> unseal(const SecureKey& key, std::string_view name, std::string_view ciphertext, std::string_view nonce);

}  // namespace sb::security::vault
