#include "bench/channels/slack_requests.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sb::bench {

std::string slack_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string base = fmt::format("v0:{}:{}", timestamp, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(base.data()), base.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "v0=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

std::string slack_event_request(const SlackRequestSpec& spec, uint64_t n) {
  // ts: seconds from the request timestamp, microseconds from n, so every ts differs.
  const std::string ts =
      fmt::format("{}.{:06d}", spec.timestamp + static_cast<int64_t>(n / 1000000), static_cast<int>(n % 1000000));
  const std::string body =
      fmt::format(R"({{"token":"bench","team_id":"T0BENCH01","api_app_id":"A0BENCH01","type":"event_callback",)"
                  R"("event_id":"Ev{}{}","event_time":{},"event":{{"type":"message","channel":"C0BENCH{:02d}",)"
                  R"("user":"U0BENCH01","text":"benchmark message {}","ts":"{}","channel_type":"channel"}}}})",
                  spec.id_prefix, n, spec.timestamp, n % 16, n, ts);
  const std::string stamp = std::to_string(spec.timestamp);
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n"
      "X-Slack-Request-Timestamp: {}\r\nX-Slack-Signature: {}\r\nContent-Length: {}\r\n\r\n{}",
      spec.path, spec.host, stamp, slack_signature(spec.signing_secret, stamp, body), body.size(), body);
}

}  // namespace sb::bench
