#pragma once
// The four platforms' real ChannelBot adapters, configured with fixed test credentials,
// for the channel and webhook fuzz targets. A target signs a fuzzed body with these same
// secrets so that the parser behind the signature check is reached.
#include <sodium.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channels/bot/channel_bot.hpp"
#include "channels/discord/discord_bot.hpp"
#include "channels/slack/slack_bot.hpp"
#include "channels/telegram/telegram_bot.hpp"
#include "channels/whatsapp/whatsapp_bot.hpp"
#include "runtime/core/crypto.hpp"
#include "runtime/core/hex.hpp"

namespace sb::fuzz {

inline constexpr std::string_view kSlackSigningSecret = "fuzz-slack-signing-secret";
inline constexpr std::string_view kSlackBotUserId = "U0FUZZBOT";
inline constexpr std::string_view kDiscordApplicationId = "1100000000000000000";
inline constexpr std::string_view kTelegramBotToken = "123456:fuzz-telegram-token";
inline constexpr std::string_view kTelegramSecretToken = "fuzz_secret_token";
inline constexpr std::string_view kTelegramUsername = "fuzzbot";
inline constexpr std::string_view kWhatsAppAppSecret = "fuzz-whatsapp-app-secret";
inline constexpr std::string_view kWhatsAppVerifyToken = "fuzz-verify-token";
inline constexpr std::string_view kWhatsAppPhoneNumberId = "1234567890";
// The clock every target verifies against; seeds carry this Slack timestamp.
inline constexpr std::int64_t kNowSeconds = 1700000000;
inline std::chrono::system_clock::time_point fixed_now() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(kNowSeconds));
}

// Discord's Ed25519 key pair from a fixed seed: the bot holds the public key, the target
// signs with the secret key.
struct DiscordKeys {
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
};
inline const DiscordKeys& discord_keys() {
  static const DiscordKeys keys = [] {
    if (sodium_init() < 0) std::abort();
    DiscordKeys k;
    std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
    seed.fill(0x42);
    crypto_sign_seed_keypair(k.pk.data(), k.sk.data(), seed.data());
    return k;
  }();
  return keys;
}
inline std::string discord_sign(std::string_view timestamp, std::string_view body) {
  std::string message = std::string(timestamp) + std::string(body);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       discord_keys().sk.data());
  return hex_encode(sig);
}

inline std::unique_ptr<channels::ChannelBot> make_fuzz_bot(messaging::ChannelKind kind) {
  const std::map<std::string, std::string> vault{
      {"slack_signing", std::string(kSlackSigningSecret)},
      {"slack_token", "xoxb-fuzz"},
      {"discord_token", "fuzz-discord-token"},
      {"telegram_token", std::string(kTelegramBotToken)},
      {"telegram_secret", std::string(kTelegramSecretToken)},
      {"whatsapp_app_secret", std::string(kWhatsAppAppSecret)},
      {"whatsapp_verify", std::string(kWhatsAppVerifyToken)},
      {"whatsapp_access", "fuzz-access-token"},
  };
  SecretLookup lookup = [vault](const std::string& name) -> Result<Secret> {
    auto it = vault.find(name);
    if (it == vault.end()) return make_error("vault.not_found", name);
    return Secret(it->second);
  };
  config::ChannelBotConfig c;
  c.name = "main";
  Result<std::unique_ptr<channels::ChannelBot>> bot = make_error("fuzz", "unknown kind");
  switch (kind) {
    case messaging::ChannelKind::slack:
      c.platform = "slack";
      c.secrets = {{"signing_secret", "slack_signing"}, {"bot_token", "slack_token"}};
      c.settings = {{"bot_user_id", std::string(kSlackBotUserId)}};
      bot = channels::slack::make_bot(c, lookup);
      break;
    case messaging::ChannelKind::discord:
      c.platform = "discord";
      c.secrets = {{"bot_token", "discord_token"}};
      c.settings = {{"public_key", hex_encode(discord_keys().pk)},
                    {"application_id", std::string(kDiscordApplicationId)}};
      bot = channels::discord::make_bot(c, lookup);
      break;
    case messaging::ChannelKind::telegram:
      c.platform = "telegram";
      c.secrets = {{"bot_token", "telegram_token"}, {"secret_token", "telegram_secret"}};
      c.settings = {{"username", std::string(kTelegramUsername)}};
      bot = channels::telegram::make_bot(c, lookup);
      break;
    case messaging::ChannelKind::whatsapp:
      c.platform = "whatsapp";
      c.secrets = {{"app_secret", "whatsapp_app_secret"},
                   {"verify_token", "whatsapp_verify"},
                   {"access_token", "whatsapp_access"}};
      c.settings = {{"phone_number_id", std::string(kWhatsAppPhoneNumberId)}};
      bot = channels::whatsapp::make_bot(c, lookup);
      break;
    default: break;
  }
  if (!bot) std::abort();  // the fixed test configuration must be valid
  return std::move(bot.value());
}

}  // namespace sb::fuzz
