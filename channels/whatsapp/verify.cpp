#include "channels/whatsapp/verify.hpp"

#include <algorithm>

#include "runtime/core/hex.hpp"

namespace sb::channels::whatsapp {
namespace {

constexpr std::string_view kSignatureHeader = "X-Hub-Signature-256";
constexpr std::size_t kMaxChallengeBytes = 256;

// The challenge is echoed back verbatim, so only short printable ASCII is echoed.
bool echoable(std::string_view s) {
  return !s.empty() && s.size() <= kMaxChallengeBytes &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

}  // namespace

Result<Verifier> Verifier::create(const Secret& app_secret, const Secret& verify_token) {
  if (app_secret.empty()) return make_error("whatsapp.config", "WhatsApp app secret is empty");
  if (verify_token.empty()) return make_error("whatsapp.config", "WhatsApp verify token is empty");
  if (!crypto_ready()) return make_error("whatsapp.config", "libsodium failed to initialise");
  return Verifier(app_secret.reveal(), verify_token.reveal());
}

std::string Verifier::sign(std::string_view body) const {
  return "sha256=" + hex_encode(hmac_.mac({body}));
}

Verdict Verifier::subscription_check(std::string_view query) const {
  auto mode = form_param(query, "hub.mode");
  auto token = form_param(query, "hub.verify_token");
  auto challenge = form_param(query, "hub.challenge");
  if (!mode || !token || !challenge) return Verdict::reject(400, "missing_parameter");
  if (*mode != "subscribe") return Verdict::reject(403, "bad_mode");
  if (!secrets_equal(*token, verify_token_.reveal())) return Verdict::reject(403, "bad_verify_token");
  if (!echoable(*challenge)) return Verdict::reject(400, "bad_challenge");
  return Verdict::respond(200, "text/plain", *challenge);
}

Verdict Verifier::verify(const WebhookRequest& req) const {
  if (req.method == "GET") return subscription_check(req.query);
  if (req.method != "POST") return Verdict::reject(405, "method_not_allowed");
  if (count_header(req.headers, kSignatureHeader) > 1) return Verdict::reject(401, "duplicate_header");
  auto sig_text = find_header(req.headers, kSignatureHeader);
  if (!sig_text) return Verdict::reject(401, "missing_signature");
  Sha256Digest presented{};
  if (!sig_text->starts_with("sha256=") || !hex_decode_exact(sig_text->substr(7), presented))
    return Verdict::reject(401, "malformed_signature");
  if (!digests_equal(presented, hmac_.mac({req.body}))) return Verdict::reject(401, "bad_signature");
  return Verdict::accept();
}

}  // namespace sb::channels::whatsapp
