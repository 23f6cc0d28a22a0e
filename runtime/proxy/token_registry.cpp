#include "runtime/proxy/token_registry.hpp"

#include <sodium.h>

#include "runtime/core/ids.hpp"

namespace sb::proxy {

Secret TokenRegistry::mint(Grant grant) {
  std::string token;
  std::lock_guard lock(mutex_);
  do {                                 // a collision of 256 random bits will not happen; the loop only documents it
    std::string hex = random_hex(32);  // throws if libsodium cannot initialise
    token = std::string(kPrefix) + hex;
    sodium_memzero(hex.data(), hex.size());
  } while (grants_.count(digest(token)) != 0);
  grants_.emplace(digest(token), std::move(grant));
  return Secret(std::move(token));
}

std::optional<Grant> TokenRegistry::lookup(std::string_view token) const {
  if (!well_formed(token)) return std::nullopt;
  auto key = digest(token);
  std::lock_guard lock(mutex_);
  auto it = grants_.find(key);
  if (it == grants_.end()) return std::nullopt;
  return it->second;
}

bool TokenRegistry::revoke(std::string_view token) {
  if (!well_formed(token)) return false;
  auto key = digest(token);
  std::lock_guard lock(mutex_);
  return grants_.erase(key) > 0;
}

size_t TokenRegistry::size() const {
  std::lock_guard lock(mutex_);
  return grants_.size();
}

bool TokenRegistry::well_formed(std::string_view token) {
  if (token.size() != kTokenLength || token.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : token.substr(kPrefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string TokenRegistry::digest(std::string_view token) {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

}  // namespace sb::proxy
