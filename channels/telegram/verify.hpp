#pragma once
// Telegram webhooks carry no signature: setWebhook's secret_token comes back in
// X-Telegram-Bot-Api-Secret-Token on every delivery, compared in constant time.
#include <string_view>

#include "channels/bot/webhook.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::telegram {

// Telegram's rule for secret_token: 1-256 characters of A-Z a-z 0-9 _ -.
bool valid_secret_token(std::string_view token);

class Verifier {
 public:
  // Error "telegram.config" unless the token follows Telegram's rule.
  static Result<Verifier> create(const Secret& secret_token);

  // accept | reject 405 method_not_allowed; 401 missing_token, bad_token, duplicate_header.
  Verdict verify(const WebhookRequest& request) const;

 private:
  explicit Verifier(Secret token) : token_(std::move(token)) {}
  Secret token_;
};

}  // namespace sb::channels::telegram
