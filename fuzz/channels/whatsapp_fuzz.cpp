// WhatsApp Cloud API: the X-Hub-Signature-256 check, Meta's GET subscription check
// (hub.mode / hub.verify_token / hub.challenge in the query) and the delivery parser,
// through the real WhatsAppBot. Input layout: fuzz/common/webhook_input.hpp; variant bit 0
// makes the signed request a GET whose query is the input (the subscription check).
#include "fuzz/common/webhook_input.hpp"

namespace {

using namespace sb::fuzz;

SignedRequest sign(std::uint8_t variant, std::string_view body) {
  static const sb::HmacSha256 hmac(kWhatsAppAppSecret);
  SignedRequest r;
  if (variant & 1) {
    r.method = "GET";
    r.query = std::string(body);
    return r;
  }
  r.headers = {{"X-Hub-Signature-256", "sha256=" + sb::hex_encode(hmac.mac({body}))},
               {"Content-Type", "application/json"}};
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto bot = make_fuzz_bot(sb::messaging::ChannelKind::whatsapp);
  static const PlatformDriver driver{*bot, {"X-Hub-Signature-256", "Content-Type"}, sign};
  return run_webhook_input(driver, data, size);
}
