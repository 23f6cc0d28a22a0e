#pragma once
// Signed platform webhooks for the end-to-end tests and benchmarks: a Slack message
// event, a Discord slash command interaction, a WhatsApp text message and a Telegram
// update, each with the chat, sender and text the test chooses, signed the way the
// platform signs (REFERENCE §3).
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "channels/slack/verify.hpp"
#include "channels/whatsapp/verify.hpp"
#include "runtime/core/hex.hpp"
#include "runtime/core/secret.hpp"
#include "runtime/http/message.hpp"
#include "tests/e2e/credentials.hpp"

namespace sb::test::e2e {

struct Webhook {
  std::string path;  // "/webhooks/slack/main"
  http::Headers headers;
  std::string body;
};

inline int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
// Distinct small numbers for ids within one process.
inline int64_t next_seq() {
  static std::atomic<int64_t> n{1};
  return n++;
}

inline std::string q(std::string_view s) {
  return "\"" + http::json_escape(s) + "\"";
}

// A Slack `message` event. dm: channel_type "im" (no trigger needed).
inline Webhook slack_message(const std::string& bot, const std::string& channel, const std::string& user,
                             const std::string& text, bool dm, std::string event_id = "") {
  const int64_t seq = next_seq();
  if (event_id.empty()) event_id = "EvE2E" + std::to_string(seq);
  const std::string ts = std::to_string(unix_seconds()) + "." + std::to_string(100000 + seq % 900000);
  Webhook w;
  w.path = "/webhooks/slack/" + bot;
  w.body = R"({"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"message",)"
           R"("channel":)" +
           q(channel) + R"(,"user":)" + q(user) + R"(,"text":)" + q(text) + R"(,"ts":")" + ts + R"(","event_ts":")" +
           ts + R"(","channel_type":)" + q(dm ? "im" : "channel") + R"(},"type":"event_callback","event_id":)" +
           q(event_id) + R"(,"event_time":)" + std::to_string(unix_seconds()) + "}";
  const std::string now = std::to_string(unix_seconds());
  auto v = channels::slack::Verifier::create(Secret(kSlackSigning));
  w.headers = {{"Content-Type", "application/json"},
               {"X-Slack-Request-Timestamp", now},
               {"X-Slack-Signature", v->sign(now, w.body)}};
  return w;
}

// Signs a Discord interaction's body (again) with the test application's key and the
// current time, as Discord does for each delivery.
inline Webhook resign_discord(Webhook w) {
  if (sodium_init() < 0) return w;
  unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  sodium_hex2bin(seed, sizeof seed, kDiscordSeed, 64, nullptr, nullptr, nullptr);
  crypto_sign_seed_keypair(pk, sk, seed);
  const std::string ts = std::to_string(unix_seconds());
  const std::string message = ts + w.body;
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(), sk);
  w.headers = {{"Content-Type", "application/json"},
               {"X-Signature-Ed25519", hex_encode({sig, sizeof sig})},
               {"X-Signature-Timestamp", ts}};
  return w;
}

// A Discord slash command (/ask TEXT) in a guild channel; the interaction token is
// returned in `token` (the follow-up's path carries it).
inline Webhook discord_command(const std::string& bot, const std::string& channel_id, const std::string& user_id,
                               const std::string& text, std::string* token) {
  const int64_t seq = next_seq();
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const uint64_t snowflake =
      (static_cast<uint64_t>(now_ms - 1420070400000LL) << 22) | static_cast<uint64_t>(seq & 0xfff);
  *token = "e2eInteraction_" + std::to_string(seq) + ".tok-" + std::to_string(now_ms);
  Webhook w;
  w.path = "/webhooks/discord/" + bot;
  w.body =
      std::string(R"({"application_id":")") + kDiscordApplication + R"(","channel_id":)" + q(channel_id) +
      R"(,"data":{"id":"866818195033292851","name":"ask","type":1,"options":[{"name":"question","type":3,"value":)" +
      q(text) + R"(}]},"guild_id":"772904309264089089","id":")" + std::to_string(snowflake) +
      R"(","member":{"user":{"global_name":"Ada","id":)" + q(user_id) + R"(,"username":"ada_l"}},"token":)" +
      q(*token) + R"(,"type":2,"version":1})";
  return resign_discord(std::move(w));
}

// A WhatsApp Cloud API text message from `from` (digits; the chat is wa:{from}).
inline Webhook whatsapp_message(const std::string& bot, const std::string& from, const std::string& text) {
  const int64_t seq = next_seq();
  Webhook w;
  w.path = "/webhooks/whatsapp/" + bot;
  w.body = R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",)"
           R"("value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",)"
           R"("phone_number_id":")" +
           std::string(kWhatsAppPhone) + R"("},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":)" + q(from) +
           R"(}],"messages":[{"from":)" + q(from) + R"(,"id":"wamid.e2e)" + std::to_string(seq) + R"(","timestamp":")" +
           std::to_string(unix_seconds()) + R"(","type":"text","text":{"body":)" + q(text) + "}}]}}]}]}";
  auto v = channels::whatsapp::Verifier::create(Secret(kWhatsAppAppSecret), Secret(kWhatsAppVerify));
  w.headers = {{"Content-Type", "application/json"}, {"X-Hub-Signature-256", v->sign(w.body)}};
  return w;
}

// A Telegram message update. group: a supergroup (then `text` decides the trigger);
// otherwise a private chat.
inline Webhook telegram_message(const std::string& bot, int64_t chat_id, int64_t from_id, const std::string& text,
                                bool group) {
  const int64_t seq = next_seq();
  Webhook w;
  w.path = "/webhooks/telegram/" + bot;
  const std::string chat = group
                               ? R"({"id":)" + std::to_string(chat_id) + R"(,"title":"Ops squad","type":"supergroup"})"
                               : R"({"id":)" + std::to_string(chat_id) + R"(,"first_name":"Grace","type":"private"})";
  w.body = R"({"update_id":)" + std::to_string(900000 + seq) + R"(,"message":{"message_id":)" +
           std::to_string(4000 + seq) + R"(,"from":{"id":)" + std::to_string(from_id) +
           R"(,"is_bot":false,"first_name":"Grace","username":"ghopper"},"chat":)" + chat + R"(,"date":)" +
           std::to_string(unix_seconds()) + R"(,"text":)" + q(text) + "}}";
  w.headers = {{"Content-Type", "application/json"}, {"X-Telegram-Bot-Api-Secret-Token", kTelegramSecret}};
  return w;
}

}  // namespace sb::test::e2e
