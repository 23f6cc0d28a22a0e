// Slack webhooks: the signing check (v0 HMAC, timestamp window, url_verification,
// ssl_check) and both parsers behind it (Events API JSON, slash-command forms), through
// the real SlackBot. Input layout: fuzz/common/webhook_input.hpp; variant bit 0 sends the
// body form-encoded (a slash command).
#include "fuzz/common/webhook_input.hpp"

namespace {

using namespace sb::fuzz;

SignedRequest sign(std::uint8_t variant, std::string_view body) {
  static const sb::HmacSha256 hmac(kSlackSigningSecret);
  const std::string ts = std::to_string(kNowSeconds);
  const sb::Sha256Digest mac = hmac.mac({"v0:", ts, ":", body});
  SignedRequest r;
  r.headers = {{"X-Slack-Request-Timestamp", ts},
               {"X-Slack-Signature", "v0=" + sb::hex_encode(mac)},
               {"Content-Type", (variant & 1) ? "application/x-www-form-urlencoded" : "application/json"}};
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto bot = make_fuzz_bot(sb::messaging::ChannelKind::slack);
  static const PlatformDriver driver{
      *bot, {"X-Slack-Request-Timestamp", "X-Slack-Signature", "Content-Type", "x-slack-signature"}, sign};
  return run_webhook_input(driver, data, size);
}
