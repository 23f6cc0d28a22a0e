#include "channels/discord/verify.hpp"

#include <string>

#include "runtime/core/crypto.hpp"
#include "runtime/core/hex.hpp"
#include "runtime/core/json.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::discord {
namespace {

constexpr std::string_view kSignatureHeader = "X-Signature-Ed25519";
constexpr std::string_view kTimestampHeader = "X-Signature-Timestamp";
constexpr std::string_view kPong = R"({"type":1})";

bool is_ping(std::string_view body) {
  rapidjson::Document doc;
  if (!json::parse(doc, body) || !doc.IsObject()) return false;  // the parser says 400
  auto type = doc.FindMember("type");
  return type != doc.MemberEnd() && type->value.IsInt64() && type->value.GetInt64() == 1;
}

}  // namespace

Result<Verifier> Verifier::create(std::string_view public_key_hex) {
  if (!crypto_ready()) return make_error("discord.config", "libsodium failed to initialise");
  Verifier v;
  if (!hex_decode_exact(public_key_hex, v.key_))
    return make_error("discord.config", "Discord public key must be 64 hex characters");
  // Rejects points off the curve and small-order points, which would make any
  // signature check meaningless.
  unsigned char curve[crypto_scalarmult_curve25519_BYTES];
  if (crypto_sign_ed25519_pk_to_curve25519(curve, v.key_.data()) != 0)
    return make_error("discord.config", "Discord public key is not a valid Ed25519 key");
  return v;
}

Verdict Verifier::verify(const WebhookRequest& req) const {
  if (req.method != "POST") return Verdict::reject(405, "method_not_allowed");
  if (count_header(req.headers, kSignatureHeader) > 1 || count_header(req.headers, kTimestampHeader) > 1)
    return Verdict::reject(401, "duplicate_header");
  auto sig_text = find_header(req.headers, kSignatureHeader);
  if (!sig_text) return Verdict::reject(401, "missing_signature");
  auto ts = find_header(req.headers, kTimestampHeader);
  if (!ts) return Verdict::reject(401, "missing_timestamp");
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  if (!hex_decode_exact(*sig_text, sig)) return Verdict::reject(401, "malformed_signature");
  if (!messaging::all_digits(*ts) || ts->size() > 20) return Verdict::reject(401, "malformed_timestamp");

  std::string signed_bytes;
  signed_bytes.reserve(ts->size() + req.body.size());
  signed_bytes.append(*ts).append(req.body);
  if (crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(signed_bytes.data()),
                                  signed_bytes.size(), key_.data()) != 0)
    return Verdict::reject(401, "bad_signature");

  if (is_ping(req.body)) return Verdict::respond(200, "application/json", std::string(kPong));
  return Verdict::accept();
}

}  // namespace sb::channels::discord
