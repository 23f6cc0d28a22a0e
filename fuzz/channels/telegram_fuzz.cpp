// Telegram: the secret-token check and the update parser behind it (messages, entities,
// mentions, replies), through the real TelegramBot; the same bytes also go to the
// getUpdates answer parser (polling bots read api.telegram.org's reply with it).
// Input layout: fuzz/common/webhook_input.hpp.
#include "fuzz/common/webhook_input.hpp"

namespace {

using namespace sb::fuzz;

SignedRequest sign(std::uint8_t, std::string_view) {
  SignedRequest r;
  r.headers = {{"X-Telegram-Bot-Api-Secret-Token", std::string(kTelegramSecretToken)},
               {"Content-Type", "application/json"}};
  return r;
}

void parse_poll(const sb::channels::ChannelBot&, std::uint8_t, std::string_view body) {
  // A polling bot of the same identity: parse_poll is what reads getUpdates answers.
  static const auto poller = [] {
    sb::config::ChannelBotConfig c;
    c.platform = "telegram";
    c.name = "poller";
    c.mode = sb::config::BotMode::polling;
    c.secrets = {{"bot_token", "token"}};
    c.settings = {{"username", std::string(kTelegramUsername)}};
    auto bot = sb::channels::telegram::make_bot(
        c, [](const std::string&) -> sb::Result<sb::Secret> { return sb::Secret(std::string(kTelegramBotToken)); });
    if (!bot) std::abort();
    return std::move(bot.value());
  }();
  auto polled = poller->parse_poll(body);
  if (polled && polled->next_offset && polled->delivery.messages.empty() && polled->delivery.ignored.empty())
    std::abort();  // an offset to move to means at least one update was read
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto bot = make_fuzz_bot(sb::messaging::ChannelKind::telegram);
  static const PlatformDriver driver{*bot, {"X-Telegram-Bot-Api-Secret-Token", "Content-Type"}, sign, parse_poll};
  return run_webhook_input(driver, data, size);
}
