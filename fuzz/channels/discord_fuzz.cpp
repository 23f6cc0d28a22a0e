// Discord interactions: the Ed25519 check over timestamp + body and the interaction
// parser behind it (PING, application commands with nested options, components), through
// the real DiscordBot. Input layout: fuzz/common/webhook_input.hpp.
#include "fuzz/common/webhook_input.hpp"

namespace {

using namespace sb::fuzz;

SignedRequest sign(std::uint8_t, std::string_view body) {
  const std::string ts = std::to_string(kNowSeconds);
  SignedRequest r;
  r.headers = {{"X-Signature-Ed25519", discord_sign(ts, body)},
               {"X-Signature-Timestamp", ts},
               {"Content-Type", "application/json"}};
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto bot = make_fuzz_bot(sb::messaging::ChannelKind::discord);
  static const PlatformDriver driver{*bot, {"X-Signature-Ed25519", "X-Signature-Timestamp", "Content-Type"}, sign};
  return run_webhook_input(driver, data, size);
}
