#pragma once
// TokenRegistry: the placeholder tokens handed to containers. A token is "sbp_" plus
// 64 hex digits (32 random bytes from libsodium). Only the SHA-256 of each token is
// kept, as the key of a hash map: a lookup compares digests, never the token itself
// byte by byte, and the registry holds nothing a memory dump could replay. Thread-safe.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "runtime/core/secret.hpp"

namespace sb::proxy {

// What a token grants: the container run it was minted for.
struct Grant {
  std::string run_id;
  std::string namespace_name;
  uint64_t lease_id = 0;
};

class TokenRegistry {
 public:
  static constexpr std::string_view kPrefix = "sbp_";
  static constexpr size_t kTokenLength = 4 + 64;

  // A fresh random token bound to `grant`.
  Secret mint(Grant grant);
  // The grant of a live token; nullopt for unknown, revoked or malformed tokens.
  std::optional<Grant> lookup(std::string_view token) const;
  // True if the token was live.
  bool revoke(std::string_view token);
  size_t size() const;

  // Format only (prefix, length, lower-case hex); says nothing about validity.
  static bool well_formed(std::string_view token);

 private:
  static std::string digest(std::string_view token);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Grant> grants_;  // SHA-256(token) -> grant
};

}  // namespace sb::proxy
