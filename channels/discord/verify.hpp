#pragma once
// Discord interactions endpoint: Ed25519 signature (X-Signature-Ed25519, hex) over
// X-Signature-Timestamp + raw body with the application's public key; PING -> PONG.
// Discord probes endpoints with bad signatures and drops those that accept them.
#include <sodium.h>

#include <array>
#include <string_view>

#include "channels/bot/webhook.hpp"
#include "runtime/core/result.hpp"

namespace sb::channels::discord {

class Verifier {
 public:
  // From the application's public key: exactly 64 hex characters that decode to a valid
  // Ed25519 point. Error "discord.config" otherwise.
  static Result<Verifier> create(std::string_view public_key_hex);

  // accept | respond 200 {"type":1} to a PING | reject: 405 method_not_allowed;
  // 401 missing_signature, missing_timestamp, malformed_signature, malformed_timestamp,
  // bad_signature, duplicate_header.
  // Discord documents no freshness window for the timestamp; a replayed interaction is
  // caught by the interaction-id dedupe, and its token expires after 15 minutes.
  Verdict verify(const WebhookRequest& request) const;

 private:
  Verifier() = default;
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> key_{};
};

}  // namespace sb::channels::discord
