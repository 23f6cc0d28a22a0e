#pragma once
// WhatsApp Cloud API webhooks. GET: Meta's subscription check
// (hub.mode=subscribe, hub.verify_token, hub.challenge) -> the challenge. POST:
// X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>.
#include <string_view>

#include "channels/bot/webhook.hpp"
#include "runtime/core/crypto.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::whatsapp {

class Verifier {
 public:
  // Error "whatsapp.config" when either secret is empty.
  static Result<Verifier> create(const Secret& app_secret, const Secret& verify_token);

  // GET: respond 200 text/plain challenge | reject 400 missing_parameter, bad_challenge;
  // 403 bad_mode, bad_verify_token. POST: accept | reject 401 missing_signature,
  // malformed_signature, bad_signature, duplicate_header. Other methods: 405.
  Verdict verify(const WebhookRequest& request) const;

  // "sha256=<64 hex>" for a body (what Meta would send).
  std::string sign(std::string_view body) const;

 private:
  Verifier(std::string_view app_secret, std::string verify_token)
      : hmac_(app_secret), verify_token_(std::move(verify_token)) {}
  Verdict subscription_check(std::string_view query) const;
  HmacSha256 hmac_;
  Secret verify_token_;
};

}  // namespace sb::channels::whatsapp
