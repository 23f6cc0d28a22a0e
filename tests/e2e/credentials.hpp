#pragma once
// The credentials of the end-to-end bots: the fixture stores them in the node's vault,
// the signers sign webhooks with them, the fake platform expects them on replies.
// Test values only (the Discord key pair is RFC 8032 test 1).
namespace sb::test::e2e {

// Webhook verification.
inline constexpr const char* kSlackSigning = "8f742231b10e8888abcd99yyyzzz85a5";
inline constexpr const char* kDiscordSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
inline constexpr const char* kDiscordPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
inline constexpr const char* kWhatsAppAppSecret = "It's a Secret to Everybody";
inline constexpr const char* kWhatsAppVerify = "verify-me-7";
inline constexpr const char* kTelegramSecret = "tg_Secret-token_42";

// Sending.
inline constexpr const char* kSlackBotToken = "xoxb-e2e-bot-token";
inline constexpr const char* kDiscordBotToken = "MTIz.e2e-discord-bot";
inline constexpr const char* kDiscordApplication = "775799577604522054";
inline constexpr const char* kWhatsAppAccess = "EAAe2e-access";
inline constexpr const char* kWhatsAppPhone = "106540352242922";
inline constexpr const char* kTelegramBotToken = "7654321:AAHe2e_token-abcdefghijklmnop";

}  // namespace sb::test::e2e
