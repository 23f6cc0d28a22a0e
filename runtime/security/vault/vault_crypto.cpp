#include "runtime/security/vault/vault_crypto.hpp"

#include <sodium.h>

namespace sb::security::vault {

static_assert(kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);

namespace {
bool name_char(char c, bool first) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}
}  // namespace

bool valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0)) return false;
  return true;
}

Sealed seal(const SecureKey& key, std::string_view name, const Secret& value) {
  const std::string& plain = value.reveal();
  Sealed out;
  out.nonce.resize(kNonceBytes);
  randombytes_buf(out.nonce.data(), kNonceBytes);
  out.ciphertext.resize(plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out.ciphertext.data()), &clen,
                                             reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                                             reinterpret_cast<const unsigned char*>(name.data()), name.size(), nullptr,
                                             reinterpret_cast<const unsigned char*>(out.nonce.data()), key.data());
  out.ciphertext.resize(static_cast<size_t>(clen));
  return out;
}

Result<Secret> unseal(const SecureKey& key, std::string_view name, std::string_view ciphertext,
                      std::string_view nonce) {
  if (nonce.size() != kNonceBytes || ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES)
    return make_error("vault.decrypt", "stored secret is malformed");
  std::string plain(ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &plen, nullptr,
                                                 reinterpret_cast<const unsigned char*>(ciphertext.data()),
                                                 ciphertext.size(), reinterpret_cast<const unsigned char*>(name.data()),
                                                 name.size(), reinterpret_cast<const unsigned char*>(nonce.data()),
                                                 key.data()) != 0) {
    sodium_memzero(plain.data(), plain.size());
    return make_error("vault.decrypt", "authentication failed");
  }
  plain.resize(static_cast<size_t>(plen));
  return Secret(std::move(plain));
}

}  // namespace sb::security::vault
