#pragma once
// One fuzz input -> one webhook request to a platform's real ChannelBot (verify, then
// parse). Byte 0 chooses how the request is built:
//   bit 0 clear ("signed"): the rest of the input is the body, and the request carries
//     exactly the headers the platform would send, signed over that body with the fixed
//     test secret (fuzz_bots.hpp). A signature check never rejects it, so the parser
//     behind the check sees every body the fuzzer makes. Bits 1-7 are the platform's
//     variant (Slack: form-encoded; WhatsApp: GET subscription check; ...).
//   bit 0 set ("raw"): method, up to 8 headers (names mostly from the platform's own),
//     query and body all come from the input: the verifier itself is fuzzed.
// Whatever verify accepts is parsed; parse errors are fine, crashes are not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "channels/bot/channel_bot.hpp"
#include "fuzz/common/fuzz_bots.hpp"

namespace sb::fuzz {

struct SignedRequest {
  std::string method = "POST";
  std::vector<channels::Header> headers;
  std::string query;
};

struct PlatformDriver {
  const channels::ChannelBot& bot;
  std::vector<std::string> header_names;  // what raw mode picks names from
  // Fills in what a genuine delivery of `body` carries (variant: byte 0 >> 1).
  SignedRequest (*sign)(std::uint8_t variant, std::string_view body);
  // Extra parsers of the same bytes (Telegram's getUpdates answer); may be null.
  void (*extra)(const channels::ChannelBot& bot, std::uint8_t variant, std::string_view body) = nullptr;
};

inline void parse_if_accepted(const channels::ChannelBot& bot, const channels::WebhookRequest& request,
                              bool must_accept) {
  const channels::Verdict verdict = bot.verify(request, fixed_now());
  if (must_accept && verdict.kind == channels::Verdict::Kind::reject &&
      (verdict.reason == "bad_signature" || verdict.reason == "malformed_signature" || verdict.reason == "bad_token" ||
       verdict.reason.find("timestamp") != std::string::npos)) {
    std::abort();  // a correctly signed request must pass the signature check
  }
  if (!verdict.accepted()) return;
  auto parsed = bot.parse(request, kNowSeconds * 1000);
  if (!parsed) return;
  for (const auto& m : parsed->messages) {
    // Every accepted message names this bot and carries text (parsers ignore empty text).
    if (m.text.empty()) std::abort();
  }
}

inline int run_webhook_input(const PlatformDriver& driver, const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  if ((mode & 1) == 0) {
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    const SignedRequest s = driver.sign(static_cast<std::uint8_t>(mode >> 1), body);
    channels::WebhookRequest request{s.method, s.headers, s.query, body};
    parse_if_accepted(driver.bot, request, /*must_accept=*/true);
    if (driver.extra) driver.extra(driver.bot, static_cast<std::uint8_t>(mode >> 1), body);
    return 0;
  }
  FuzzedDataProvider in(data + 1, size - 1);
  static const char* const kMethods[] = {"POST", "GET", "PUT", "HEAD"};
  const std::string method =
      in.ConsumeBool() ? kMethods[in.ConsumeIntegralInRange<std::size_t>(0, 3)] : in.ConsumeRandomLengthString(8);
  std::vector<channels::Header> headers;
  const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 8);
  for (std::size_t i = 0; i < n; ++i) {
    std::string name =
        in.ConsumeBool() && !driver.header_names.empty()
            ? driver.header_names[in.ConsumeIntegralInRange<std::size_t>(0, driver.header_names.size() - 1)]
            : in.ConsumeRandomLengthString(32);
    headers.emplace_back(std::move(name), in.ConsumeRandomLengthString(160));
  }
  const std::string query = in.ConsumeRandomLengthString(256);
  const std::string body = in.ConsumeRemainingBytesAsString();
  channels::WebhookRequest request{method, headers, query, body};
  parse_if_accepted(driver.bot, request, /*must_accept=*/false);
  return 0;
}

}  // namespace sb::fuzz
