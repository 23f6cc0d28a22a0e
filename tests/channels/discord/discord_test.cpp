// Discord: RFC 8032 test 1, Ed25519 verification of signed interactions, PING -> PONG,
// golden interaction payloads, hostile input, messages and follow-ups, 429 handling.
#include <sodium.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "channels/discord/outbound.hpp"
#include "channels/discord/parse.hpp"
#include "channels/discord/verify.hpp"
#include "runtime/core/hex.hpp"
#include "tests/channels/print.hpp"

namespace sb::channels::discord {
namespace {

using Kind = DeliveryOutcome::Kind;

// RFC 8032 section 7.1, test 1 (REFERENCE §3).
constexpr std::string_view kSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kEmptySig =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe2465"
    "5141438e7a100b";

struct Keys {
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
};

Keys rfc_keys() {
  EXPECT_GE(sodium_init(), 0);
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
  EXPECT_TRUE(hex_decode_exact(kSeed, seed));
  Keys k;
  crypto_sign_seed_keypair(k.pk.data(), k.sk.data(), seed.data());
  return k;
}

std::string sign(const Keys& k, std::string_view message) {
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       k.sk.data());
  return hex_encode(sig);
}

struct Req {
  std::string method = "POST";
  std::vector<Header> headers;
  std::string body;
  WebhookRequest view() const { return {method, headers, "", body}; }
};

Req signed_request(const Keys& k, std::string body, std::string ts = "1700000000") {
  Req r;
  r.body = std::move(body);
  r.headers = {{"X-Signature-Ed25519", sign(k, ts + r.body)},
               {"X-Signature-Timestamp", ts},
               {"Content-Type", "application/json"}};
  return r;
}

Verifier verifier() {
  auto v = Verifier::create(kPublic);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return std::move(v).value();
}

TEST(DiscordVerify, Rfc8032Test1) {
  Keys k = rfc_keys();
  EXPECT_EQ(hex_encode(k.pk), kPublic);
  EXPECT_EQ(sign(k, ""), kEmptySig);
  std::array<unsigned char, 64> sig{};
  ASSERT_TRUE(hex_decode_exact(kEmptySig, sig));
  EXPECT_EQ(crypto_sign_verify_detached(sig.data(), nullptr, 0, k.pk.data()), 0);
}

TEST(DiscordVerify, AcceptsSignedCommandAndAnswersPing) {
  Keys k = rfc_keys();
  Verifier v = verifier();
  Req cmd = signed_request(k, R"({"type":2,"id":"1"})");
  EXPECT_TRUE(v.verify(cmd.view()).accepted());
  Req ping = signed_request(k, R"({"application_id":"123","id":"456","type":1,"version":1})");
  Verdict d = v.verify(ping.view());
  EXPECT_EQ(d.kind, Verdict::Kind::respond);
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.content_type, "application/json");
  EXPECT_EQ(d.body, R"({"type":1})");
  // Header names in any case; uppercase hex signature.
  Req lower = signed_request(k, R"({"type":1})");
  for (auto& h : lower.headers) {
    for (auto& c : h.first) c = static_cast<char>(tolower(c));
  }
  for (auto& c : lower.headers[0].second) c = static_cast<char>(toupper(c));
  EXPECT_EQ(v.verify(lower.view()).kind, Verdict::Kind::respond);
}

TEST(DiscordVerify, RejectsEverySortOfBadSignature) {
  Keys k = rfc_keys();
  Verifier v = verifier();
  auto reason = [&](const Req& r) {
    Verdict d = v.verify(r.view());
    EXPECT_EQ(d.kind, Verdict::Kind::reject);
    return d.reason;
  };
  Req good = signed_request(k, R"({"type":1})");
  Req r = good;
  r.body += " ";
  EXPECT_EQ(reason(r), "bad_signature");
  r = good;
  r.headers[1].second = "1700000001";  // signature made for another timestamp
  EXPECT_EQ(reason(r), "bad_signature");
  r = good;
  r.headers[0].second[10] = r.headers[0].second[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(reason(r), "bad_signature");
  r = good;
  r.headers[0].second = std::string(128, '0');
  EXPECT_EQ(reason(r), "bad_signature");
  r = good;
  r.headers[0].second = std::string(kEmptySig);  // a valid signature of something else
  EXPECT_EQ(reason(r), "bad_signature");
  r = good;
  r.headers[0].second.pop_back();
  EXPECT_EQ(reason(r), "malformed_signature");
  r = good;
  r.headers[0].second += "00";
  EXPECT_EQ(reason(r), "malformed_signature");
  r = good;
  r.headers[0].second[0] = 'x';
  EXPECT_EQ(reason(r), "malformed_signature");
  r = good;
  r.headers[0].second = "";
  EXPECT_EQ(reason(r), "malformed_signature");
  r = good;
  r.headers[1].second = "17e8";
  EXPECT_EQ(reason(r), "malformed_timestamp");
  r = good;
  r.headers[1].second = "";
  EXPECT_EQ(reason(r), "malformed_timestamp");
  r = good;
  r.headers.erase(r.headers.begin());
  EXPECT_EQ(reason(r), "missing_signature");
  r = good;
  r.headers.erase(r.headers.begin() + 1);
  EXPECT_EQ(reason(r), "missing_timestamp");
  r = good;
  r.headers.push_back({"x-signature-ed25519", std::string(128, '0')});
  EXPECT_EQ(reason(r), "duplicate_header");
  r = good;
  r.method = "GET";
  Verdict d = v.verify(r.view());
  EXPECT_EQ(d.status, 405);
  // Unsigned PING: Discord's probe. Must never be answered with a PONG.
  Req probe;
  probe.body = R"({"type":1})";
  probe.headers = {{"X-Signature-Ed25519", std::string(128, 'a')}, {"X-Signature-Timestamp", "1"}};
  d = v.verify(probe.view());
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.reason, "bad_signature");
}

TEST(DiscordVerify, RefusesBadPublicKeys) {
  for (std::string key : {std::string(""), std::string(kPublic.substr(0, 62)), std::string(kPublic) + "00",
                          std::string(kPublic.substr(0, 63)), "g" + std::string(kPublic.substr(1)),
                          // the neutral element: a small-order point accepts forgeries
                          "01" + std::string(62, '0')}) {
    auto v = Verifier::create(key);
    ASSERT_FALSE(v.ok()) << key;
    EXPECT_EQ(v.error().code, "discord.config");
  }
}

// A guild slash command (shape of Discord's "Receiving an Interaction" docs).
constexpr std::string_view kGuildCommand = R"({
  "app_permissions": "442368", "application_id": "775799577604522054",
  "channel": {"id": "772908445358620702", "name": "general", "type": 0},
  "channel_id": "772908445358620702",
  "data": {"id": "866818195033292851", "name": "ask", "type": 1,
           "options": [{"name": "question", "type": 3, "value": "What is the capital of France?"},
                       {"name": "private", "type": 5, "value": false},
                       {"name": "count", "type": 4, "value": 3},
                       {"name": "temperature", "type": 10, "value": 0.5}]},
  "entitlements": [], "guild_id": "772904309264089089", "guild_locale": "en-US",
  "id": "786008729715212338", "locale": "en-US",
  "member": {"deaf": false, "mute": false, "nick": null, "roles": [], "permissions": "2147483647",
             "user": {"avatar": null, "discriminator": "0", "global_name": "Ada", "id": "53908232506183680",
                      "public_flags": 131141, "username": "ada_l"}},
  "token": "aW50ZXJhY3Rpb246Nzg2MDA4NzI5NzE1MjEyMzM4OmFiYw.x_y-z", "type": 2, "version": 1
})";

const BotIdentity kBot{"helper", "775799577604522054"};

TEST(DiscordParse, GoldenGuildCommand) {
  auto parsed = parse_interaction(kBot, kGuildCommand);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->ack_body, R"({"type":5})");
  messaging::InboundMessage expected;
  expected.channel = messaging::ChannelKind::discord;
  expected.bot = "helper";
  expected.chat_jid = "dc:772908445358620702";
  expected.sender_id = "53908232506183680";
  expected.sender_name = "Ada";
  expected.text = "What is the capital of France? false 3 0.5";
  expected.reply_ref = "aW50ZXJhY3Rpb246Nzg2MDA4NzI5NzE1MjEyMzM4OmFiYw.x_y-z";
  expected.message_ref = "786008729715212338";
  expected.platform_message_id = "786008729715212338";
  expected.timestamp_ms = 1607469484500;  // from the snowflake: (id >> 22) + 2015-01-01
  expected.is_group = true;
  expected.mentions_bot = true;
  ASSERT_EQ(parsed->messages.size(), 1u);
  EXPECT_EQ(parsed->messages[0], expected);
}

TEST(DiscordParse, DirectMessageSubcommandAndBareCommand) {
  std::string dm = R"({"id":"786008729715212338","application_id":"775799577604522054","type":2,
    "token":"tok","channel_id":"772908445358620703",
    "user":{"id":"53908232506183680","username":"ada_l","global_name":null},
    "data":{"name":"todo","options":[{"name":"add","type":1,"options":[
      {"name":"item","type":3,"value":"buy milk"}]}]}})";
  auto parsed = parse_interaction(kBot, dm);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const messaging::InboundMessage& m = parsed->messages.at(0);
  EXPECT_EQ(m.text, "add buy milk");
  EXPECT_FALSE(m.is_group);
  EXPECT_EQ(m.sender_name, "ada_l");
  EXPECT_EQ(m.chat_jid, "dc:772908445358620703");

  std::string bare = R"({"id":"786008729715212338","type":2,"token":"tok",
    "channel":{"id":"1"},"guild_id":"2","member":{"user":{"id":"3"}},"data":{"name":"status"}})";
  auto b = parse_interaction(kBot, bare);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->messages.at(0).text, "/status");
  EXPECT_EQ(b->messages.at(0).chat_jid, "dc:1");  // channel.id when channel_id is absent
}

TEST(DiscordParse, NonCommandInteractions) {
  auto ack = [](std::string type) {
    auto p = parse_interaction(kBot, R"({"id":"786008729715212338","type":)" + type + "}");
    EXPECT_TRUE(p.ok());
    EXPECT_TRUE(p->messages.empty());
    return p->ack_body + "|" + p->ignored.at(0).reason;
  };
  EXPECT_EQ(ack("1"), R"({"type":1}|ping)");
  EXPECT_EQ(ack("3"), R"({"type":6}|interaction:component)");
  EXPECT_EQ(ack("4"), R"({"type":8,"data":{"choices":[]}}|interaction:autocomplete)");
  EXPECT_EQ(ack("5"), R"({"type":6}|interaction:modal_submit)");
}

TEST(DiscordParse, HostileInput) {
  auto code = [](std::string_view body) {
    auto p = parse_interaction(kBot, body);
    EXPECT_FALSE(p.ok()) << body;
    return p.ok() ? std::string("ok") : p.error().code;
  };
  const std::string base = R"("id":"786008729715212338","token":"t","channel_id":"1","member":{"user":{"id":"3"}})";
  EXPECT_EQ(code(""), "channel.malformed_json");
  EXPECT_EQ(code("{\"type\":2"), "channel.malformed_json");
  EXPECT_EQ(code("[1]"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"type":2})"), "channel.missing_field");
  EXPECT_EQ(code(R"({"id":"786008729715212338"})"), "channel.missing_field");
  EXPECT_EQ(code(R"({"id":786008729715212338,"type":2})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"id":"abc","type":2})"), "channel.bad_value");
  EXPECT_EQ(code(R"({"id":"99999999999999999999999","type":2})"), "channel.bad_value");
  EXPECT_EQ(code(R"({"id":"1","type":99})"), "channel.bad_value");
  EXPECT_EQ(code(R"({"id":"1","type":1e300})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"id":"1","type":"2"})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"id":"1","type":1,"application_id":"999"})"), "channel.bad_value");
  EXPECT_EQ(code("{" + base + R"(,"type":2})"), "channel.missing_field");  // no data
  EXPECT_EQ(code(R"({"id":"1","type":2,"channel_id":"1","member":{"user":{"id":"3"}},"data":{"name":"a"}})"),
            "channel.missing_field");  // no token
  EXPECT_EQ(code(R"({"id":"1","type":2,"token":"t","member":{"user":{"id":"3"}},"data":{"name":"a"}})"),
            "channel.missing_field");  // no channel
  EXPECT_EQ(code(R"({"id":"1","type":2,"token":"t","channel_id":"1","data":{"name":"a"}})"),
            "channel.missing_field");  // no user
  EXPECT_EQ(code(R"({"id":"1","type":2,"token":"t","channel_id":"1","member":{},"data":{"name":"a"}})"),
            "channel.missing_field");
  EXPECT_EQ(code("{" + base + R"(,"type":2,"data":{"name":"a","options":[{"name":"q","type":3,"value":{"x":1}}]}})"),
            "channel.wrong_type");
  EXPECT_EQ(code("{" + base + R"(,"type":2,"data":{"name":"a","options":"q"}})"), "channel.wrong_type");
  EXPECT_EQ(code("{" + base + R"(,"type":2,"data":{"name":"a","options":[5]}})"), "channel.wrong_type");
  std::string deep = R"({"name":"x","type":3,"value":"v"})";
  for (int i = 0; i < 4; ++i) deep = R"({"name":"s","type":1,"options":[)" + deep + "]}";
  EXPECT_EQ(code("{" + base + R"(,"type":2,"data":{"name":"a","options":[)" + deep + "]}}"), "channel.bad_value");
  EXPECT_EQ(code(R"({"id":"1","type":2,"token":"","channel_id":"1","member":{"user":{"id":"3"}},"data":{"name":"a"}})"),
            "channel.bad_value");
  EXPECT_EQ(
      code(
          R"({"id":"1","type":2,"token":"t","channel_id":"general","member":{"user":{"id":"3"}},"data":{"name":"a"}})"),
      "channel.missing_field");
}

TEST(DiscordParse, SnowflakeTimestamps) {
  // Discord's documented example: 175928847299117063 -> 2016-04-30 11:18:25.796 UTC.
  EXPECT_EQ(snowflake_unix_ms("175928847299117063"), 1462015105796);
  EXPECT_EQ(snowflake_unix_ms("0"), 1420070400000);
  EXPECT_FALSE(snowflake_unix_ms("").has_value());
  EXPECT_FALSE(snowflake_unix_ms("18446744073709551616").has_value());
}

TEST(DiscordOutbound, ChannelMessage) {
  auto r = build_channel_message(Secret{"MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"},
                                 "772908445358620702", "Hello @everyone \xf0\x9f\x98\x80");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/api/v10/channels/772908445358620702/messages");
  EXPECT_EQ(r->log_path, r->path);
  EXPECT_EQ(find_header(r->headers, "Authorization"),
            "Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs");
  EXPECT_TRUE(find_header(r->headers, "User-Agent")->starts_with("DiscordBot ("));
  EXPECT_EQ(r->body, "{\"content\":\"Hello @everyone \xf0\x9f\x98\x80\",\"allowed_mentions\":{\"parse\":[]}}");
}

TEST(DiscordOutbound, FollowUpRedactsTheToken) {
  auto r = build_followup("775799577604522054", Secret{"aW50.ZXJh-Y3_Rpb24"}, "the answer");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->path, "/api/v10/webhooks/775799577604522054/aW50.ZXJh-Y3_Rpb24");
  EXPECT_EQ(r->log_path, "/api/v10/webhooks/775799577604522054/[redacted]");
  EXPECT_FALSE(find_header(r->headers, "Authorization").has_value());
  EXPECT_EQ(r->body, R"({"content":"the answer","allowed_mentions":{"parse":[]}})");
}

TEST(DiscordOutbound, RefusesBadInputAndCountsCodePoints) {
  auto code = [](Result<OutboundRequest> r) { return r.ok() ? std::string("ok") : r.error().code; };
  Secret bot{"abc.def"};
  EXPECT_EQ(code(build_channel_message(Secret{}, "1", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_channel_message(Secret{"a\nb"}, "1", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_channel_message(bot, "1/../../users/@me", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_channel_message(bot, "1", "")), "channel.bad_value");
  EXPECT_EQ(code(build_followup("app", Secret{"t"}, "x")), "channel.bad_value");
  EXPECT_EQ(code(build_followup("1", Secret{"t/../../x"}, "x")), "channel.bad_value");
  EXPECT_EQ(code(build_followup("1", Secret{"t?wait=true"}, "x")), "channel.bad_value");
  EXPECT_EQ(code(build_followup("1", Secret{""}, "x")), "channel.bad_value");
  std::string emoji2000;
  for (int i = 0; i < 2000; ++i) emoji2000 += "\xf0\x9f\x98\x80";
  EXPECT_EQ(code(build_channel_message(bot, "1", emoji2000)), "ok");  // 2000 code points
  EXPECT_EQ(code(build_channel_message(bot, "1", emoji2000 + "a")), "channel.bad_value");
}

TEST(DiscordOutbound, ClassifiesAnswers) {
  auto classify = [](int status, std::string body, std::vector<Header> headers = {}) {
    return classify_response({status, headers, body});
  };
  auto ok = classify(200, R"({"id":"1234","content":"x"})",
                     {{"X-RateLimit-Remaining", "4"}, {"X-RateLimit-Reset-After", "1.5"}});
  EXPECT_EQ(ok.kind, Kind::success);
  EXPECT_EQ(ok.delivered_id, "1234");
  EXPECT_EQ(ok.bucket_pause, std::chrono::milliseconds(0));
  auto last = classify(200, R"({"id":"1235"})", {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset-after", "1.5"}});
  EXPECT_EQ(last.bucket_pause, std::chrono::milliseconds(1500));
  EXPECT_EQ(classify(204, "").kind, Kind::success);

  auto limited = classify(429, R"({"message":"You are being rate limited.","retry_after":0.123,"global":false})",
                          {{"Retry-After", "1"}});
  EXPECT_EQ(limited.kind, Kind::retry_after);
  EXPECT_EQ(limited.retry_after, std::chrono::milliseconds(123));  // the body is more precise
  EXPECT_EQ(limited.reason, "rate_limited");
  auto global = classify(429, R"({"message":"x","retry_after":64.57,"global":true})");
  EXPECT_EQ(global.reason, "global_rate_limited");
  EXPECT_EQ(global.retry_after, std::chrono::milliseconds(64570));
  auto header_only = classify(429, "", {{"Retry-After", "3"}, {"X-RateLimit-Global", "true"}});
  EXPECT_EQ(header_only.retry_after, std::chrono::milliseconds(3000));
  EXPECT_EQ(header_only.reason, "global_rate_limited");
  EXPECT_EQ(classify(429, R"({"retry_after":"soon"})").retry_after, kDefaultRetryAfter);
  EXPECT_EQ(classify(429, R"({"retry_after":1e300})").retry_after, kMaxRetryAfter);
  EXPECT_EQ(classify(429, R"({"retry_after":-4})").retry_after, kDefaultRetryAfter);

  auto denied = classify(403, R"({"message":"Missing Access","code":50001})");
  EXPECT_EQ(denied.kind, Kind::permanent);
  EXPECT_EQ(denied.reason, "http_403");
  EXPECT_EQ(denied.detail, "50001: Missing Access");
  EXPECT_EQ(classify(404, R"({"message":"Unknown Webhook","code":10015})").kind, Kind::permanent);
  EXPECT_EQ(classify(401, R"({"message":"401: Unauthorized","code":0})").kind, Kind::permanent);
  EXPECT_EQ(classify(400, "not json").kind, Kind::permanent);
  EXPECT_EQ(classify(502, "<html>").kind, Kind::transient);
  EXPECT_EQ(classify(500, R"({"message":"x","code":0})").kind, Kind::transient);
}

}  // namespace
}  // namespace sb::channels::discord
