#include "channels/telegram/verify.hpp"

#include "runtime/core/crypto.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::telegram {
namespace {
constexpr std::string_view kTokenHeader = "X-Telegram-Bot-Api-Secret-Token";
}

bool valid_secret_token(std::string_view token) {
  return messaging::token_chars(token, "_-", 256);
}

Result<Verifier> Verifier::create(const Secret& secret_token) {
  if (!valid_secret_token(secret_token.reveal()))
    return make_error("telegram.config", "Telegram secret token must be 1-256 characters of A-Z a-z 0-9 _ -");
  if (!crypto_ready()) return make_error("telegram.config", "libsodium failed to initialise");
  return Verifier(secret_token);
}

Verdict Verifier::verify(const WebhookRequest& req) const {
  if (req.method != "POST") return Verdict::reject(405, "method_not_allowed");
  if (count_header(req.headers, kTokenHeader) > 1) return Verdict::reject(401, "duplicate_header");
  auto token = find_header(req.headers, kTokenHeader);
  if (!token) return Verdict::reject(401, "missing_token");
  if (!secrets_equal(*token, token_.reveal())) return Verdict::reject(401, "bad_token");
  return Verdict::accept();
}

}  // namespace sb::channels::telegram
