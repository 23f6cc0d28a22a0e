#include "channels/slack/verify.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/hex.hpp"
#include "runtime/core/json.hpp"

namespace sb::channels::slack {
namespace {

constexpr std::string_view kTimestampHeader = "X-Slack-Request-Timestamp";
constexpr std::string_view kSignatureHeader = "X-Slack-Signature";
constexpr std::size_t kMaxChallengeBytes = 256;

// Unix seconds: 1 to 12 digits, nothing else (no sign, no spaces, no fraction).
std::optional<std::int64_t> parse_timestamp(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool starts_like_json(std::string_view body) {
  std::size_t i = body.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && body[i] == '{';
}

// Handshakes that come after a valid signature; nullopt: an ordinary delivery.
std::optional<Verdict> handshake(std::string_view body) {
  if (!starts_like_json(body)) {
    if (form_param(body, "ssl_check") == "1") return Verdict::respond(200, "text/plain", "");
    return std::nullopt;
  }
  // Cheap pre-check: almost every delivery is an event, and parsing it twice would cost
  // as much as the HMAC.
  if (body.find("url_verification") == std::string_view::npos) return std::nullopt;
  rapidjson::Document doc;
  if (!json::parse(doc, body) || !doc.IsObject()) return std::nullopt;  // the parser says 400
  auto type = doc.FindMember("type");
  if (type == doc.MemberEnd() || !type->value.IsString() || json::view(type->value) != "url_verification")
    return std::nullopt;
  auto challenge = doc.FindMember("challenge");
  if (challenge == doc.MemberEnd() || !challenge->value.IsString() || challenge->value.GetStringLength() == 0 ||
      challenge->value.GetStringLength() > kMaxChallengeBytes)
    return Verdict::reject(400, "bad_challenge");
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("challenge");
  w.String(challenge->value.GetString(), challenge->value.GetStringLength());
  w.EndObject();
  return Verdict::respond(200, "application/json", out.GetString());
}

}  // namespace

Result<Verifier> Verifier::create(const Secret& signing_secret) {
  if (signing_secret.empty()) return make_error("slack.config", "Slack signing secret is empty");
  if (!crypto_ready()) return make_error("slack.config", "libsodium failed to initialise");
  return Verifier(signing_secret.reveal());
}

std::string Verifier::sign(std::string_view timestamp, std::string_view body) const {
  Sha256Digest mac = hmac_.mac({"v0:", timestamp, ":", body});
  return "v0=" + hex_encode(mac);
}

Verdict Verifier::verify(const WebhookRequest& req, std::chrono::system_clock::time_point now) const {
  if (req.method != "POST") return Verdict::reject(405, "method_not_allowed");
  if (count_header(req.headers, kTimestampHeader) > 1 || count_header(req.headers, kSignatureHeader) > 1)
    return Verdict::reject(401, "duplicate_header");

  auto ts_text = find_header(req.headers, kTimestampHeader);
  if (!ts_text) return Verdict::reject(401, "missing_timestamp");
  auto ts = parse_timestamp(*ts_text);
  if (!ts) return Verdict::reject(401, "malformed_timestamp");
  std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (now_s - *ts > kMaxClockSkew.count()) return Verdict::reject(401, "stale_timestamp");
  if (*ts - now_s > kMaxClockSkew.count()) return Verdict::reject(401, "future_timestamp");

  auto sig_text = find_header(req.headers, kSignatureHeader);
  if (!sig_text) return Verdict::reject(401, "missing_signature");
  Sha256Digest presented{};
  if (!sig_text->starts_with("v0=") || !hex_decode_exact(sig_text->substr(3), presented))
    return Verdict::reject(401, "malformed_signature");
  if (!digests_equal(presented, hmac_.mac({"v0:", *ts_text, ":", req.body})))
    return Verdict::reject(401, "bad_signature");

  if (auto answer = handshake(req.body)) return *answer;
  return Verdict::accept();
}

}  // namespace sb::channels::slack
