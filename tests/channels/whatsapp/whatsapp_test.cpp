// WhatsApp Cloud API: the published HMAC vector, the hub.* subscription check, golden
// multi-entry deliveries, ignore rules, hostile input, text messages and Graph errors.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "channels/whatsapp/outbound.hpp"
#include "channels/whatsapp/parse.hpp"
#include "channels/whatsapp/verify.hpp"
#include "tests/channels/print.hpp"

namespace sb::channels::whatsapp {
namespace {

using Kind = DeliveryOutcome::Kind;

const Secret kAppSecret{"It's a Secret to Everybody"};
const Secret kVerifyToken{"meatyhamhock"};
constexpr std::string_view kVectorSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

Verifier verifier() {
  auto v = Verifier::create(kAppSecret, kVerifyToken);
  EXPECT_TRUE(v.ok());
  return std::move(v).value();
}

struct Req {
  std::string method = "POST";
  std::vector<Header> headers;
  std::string query;
  std::string body;
  WebhookRequest view() const { return {method, headers, query, body}; }
};

TEST(WhatsAppVerify, PublishedVector) {
  Verifier v = verifier();
  EXPECT_EQ(v.sign("Hello, World!"), kVectorSignature);
  Req r;
  r.body = "Hello, World!";
  r.headers = {{"x-hub-signature-256", std::string(kVectorSignature)}};
  EXPECT_TRUE(v.verify(r.view()).accepted());
}

TEST(WhatsAppVerify, RejectsBadSignatures) {
  Verifier v = verifier();
  auto reason = [&](std::vector<Header> headers, std::string body = "Hello, World!") {
    Req r;
    r.headers = std::move(headers);
    r.body = std::move(body);
    Verdict d = v.verify(r.view());
    EXPECT_EQ(d.kind, Verdict::Kind::reject);
    EXPECT_EQ(d.status, 401);
    return d.reason;
  };
  std::string sig(kVectorSignature);
  const std::string name = "X-Hub-Signature-256";
  EXPECT_EQ(reason({}), "missing_signature");
  EXPECT_EQ(reason({{"X-Hub-Signature", "sha1=0123"}}), "missing_signature");
  for (std::string bad : {std::string(""), sig.substr(7), "sha1=" + sig.substr(7), "SHA256=" + sig.substr(7), sig + "0",
                          sig.substr(0, sig.size() - 2), sig.substr(0, 20) + "z" + sig.substr(21)})
    EXPECT_EQ(reason({{name, bad}}), "malformed_signature") << bad;
  EXPECT_EQ(reason({{name, "sha256=" + std::string(64, '0')}}), "bad_signature");
  EXPECT_EQ(reason({{name, sig}}, "Hello, World! "), "bad_signature");
  EXPECT_EQ(reason({{name, sig}}, ""), "bad_signature");
  EXPECT_EQ(reason({{name, sig}, {name, sig}}), "duplicate_header");
  Req put;
  put.method = "PUT";
  EXPECT_EQ(v.verify(put.view()).status, 405);
  EXPECT_FALSE(Verifier::create(Secret{}, kVerifyToken).ok());
  EXPECT_FALSE(Verifier::create(kAppSecret, Secret{}).ok());
}

TEST(WhatsAppVerify, SubscriptionCheck) {
  Verifier v = verifier();
  auto check = [&](std::string query) {
    Req r;
    r.method = "GET";
    r.query = std::move(query);
    return v.verify(r.view());
  };
  Verdict ok = check("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock");
  EXPECT_EQ(ok.kind, Verdict::Kind::respond);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "text/plain");
  EXPECT_EQ(ok.body, "1158201444");
  EXPECT_EQ(check("hub.mode=subscribe&hub.challenge=abc&hub.verify_token=meaty%68amhock").body, "abc");

  auto rejected = [&](std::string query) {
    Verdict d = check(std::move(query));
    EXPECT_EQ(d.kind, Verdict::Kind::reject);
    return std::to_string(d.status) + " " + d.reason;
  };
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong"), "403 bad_verify_token");
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.challenge=1&hub.verify_token=meatyhamhockX"), "403 bad_verify_token");
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.challenge=1&hub.verify_token="), "403 bad_verify_token");
  EXPECT_EQ(rejected("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock"), "403 bad_mode");
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.verify_token=meatyhamhock"), "400 missing_parameter");
  EXPECT_EQ(rejected("hub.challenge=1&hub.verify_token=meatyhamhock"), "400 missing_parameter");
  EXPECT_EQ(rejected(""), "400 missing_parameter");
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.challenge=%3Cscript%3E+x&hub.verify_token=meatyhamhock"),
            "400 bad_challenge");
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.challenge=a%0d%0ab&hub.verify_token=meatyhamhock"), "400 bad_challenge");
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.challenge=&hub.verify_token=meatyhamhock"), "400 bad_challenge");
  EXPECT_EQ(rejected("hub.mode=subscribe&hub.challenge=" + std::string(257, '1') + "&hub.verify_token=meatyhamhock"),
            "400 bad_challenge");
}

// Two entries, one with two changes; text, reply, image, status, another field.
constexpr std::string_view kDelivery = R"({
  "object": "whatsapp_business_account",
  "entry": [
    {"id": "102290129340398", "changes": [
      {"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"},
                     {"profile": {"name": "Ravi"}, "wa_id": "919876543210"}],
        "messages": [
          {"from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
           "timestamp": "1749416383", "type": "text", "text": {"body": "Does it come in another color?"}},
          {"from": "919876543210", "id": "wamid.IMG1", "timestamp": "1749416384", "type": "image",
           "image": {"mime_type": "image/jpeg", "id": "1003383421387256"}}]}},
      {"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [{"id": "wamid.OUT1", "status": "delivered", "timestamp": "1749416390",
                      "recipient_id": "16505551234"}]}}]},
    {"id": "102290129340398", "changes": [
      {"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ravi"}, "wa_id": "919876543210"}],
        "messages": [{"context": {"from": "15550783881", "id": "wamid.OUT1"},
                      "from": "919876543210", "id": "wamid.TXT2", "timestamp": "1749416400",
                      "type": "text", "text": {"body": "yes, the blue one \u2764\ufe0f"}}]}},
      {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}]}
  ]
})";

const BotIdentity kBot{"shop", "106540352242922"};

TEST(WhatsAppParse, GoldenMultiEntryDelivery) {
  auto parsed = parse_delivery(kBot, kDelivery);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->messages.size(), 2u);
  messaging::InboundMessage first;
  first.channel = messaging::ChannelKind::whatsapp;
  first.bot = "shop";
  first.chat_jid = "wa:16505551234";
  first.sender_id = "16505551234";
  first.sender_name = "Sheena Nelson";
  first.text = "Does it come in another color?";
  first.message_ref = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
  first.platform_message_id = first.message_ref;
  first.timestamp_ms = 1749416383000;
  first.is_group = false;
  first.mentions_bot = true;
  EXPECT_EQ(parsed->messages[0], first);
  messaging::InboundMessage second = first;
  second.chat_jid = "wa:919876543210";
  second.sender_id = "919876543210";
  second.sender_name = "Ravi";
  second.text = "yes, the blue one \xe2\x9d\xa4\xef\xb8\x8f";
  second.reply_ref = "wamid.OUT1";
  second.message_ref = second.platform_message_id = "wamid.TXT2";
  second.timestamp_ms = 1749416400000;
  EXPECT_EQ(parsed->messages[1], second);
  std::vector<messaging::IgnoredItem> ignored{
      {"wamid.IMG1", "type:image"}, {"wamid.OUT1", "status:delivered"}, {"", "field:account_update"}};
  EXPECT_EQ(parsed->ignored, ignored);
  EXPECT_EQ(parsed->ack_body, "");
}

TEST(WhatsAppParse, OtherNumbersAndObjects) {
  auto other = parse_delivery(BotIdentity{"shop", "999"}, kDelivery);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->messages.empty());
  int foreign = 0;
  for (auto& i : other->ignored) foreign += i.reason == "foreign_phone_number";
  EXPECT_EQ(foreign, 3);
  // No configured number: every number is accepted.
  EXPECT_EQ(parse_delivery(BotIdentity{"shop", ""}, kDelivery)->messages.size(), 2u);
  auto page = parse_delivery(kBot, R"({"object":"page","entry":[]})");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->ignored.at(0).reason, "object:page");
  auto empty = parse_delivery(kBot, R"({"object":"whatsapp_business_account","entry":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->messages.empty());
  EXPECT_TRUE(empty->ignored.empty());
}

std::string one_message(std::string message) {
  return R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
    "value":{"messages":[)" +
         message + "]}}]}]}";
}

TEST(WhatsAppParse, MalformedMessageIsIgnoredNotFatal) {
  auto reason = [](std::string message) {
    auto p = parse_delivery(kBot, one_message(std::move(message)));
    EXPECT_TRUE(p.ok());
    EXPECT_TRUE(p->messages.empty());
    return p->ignored.at(0).reason;
  };
  EXPECT_EQ(reason(R"({"id":"w1","timestamp":"1","type":"text","text":{"body":"x"}})"),
            "invalid: field 'entry[0].changes[0].value.messages[0].from' is required");
  EXPECT_TRUE(reason(R"({"id":"w1","from":"1","timestamp":1749416383,"type":"text","text":{"body":"x"}})")
                  .starts_with("invalid: field"));
  EXPECT_TRUE(reason(R"({"id":"w1","from":"1","timestamp":"1","type":"text"})").starts_with("invalid:"));
  EXPECT_TRUE(
      reason(R"({"id":"w1","from":"1","timestamp":"1","type":"text","text":{"body":5}})").starts_with("invalid:"));
  EXPECT_TRUE(reason(R"({"id":"w1","from":"+1 650","timestamp":"1","type":"text","text":{"body":"x"}})")
                  .starts_with("invalid:"));
  EXPECT_TRUE(reason(R"({"id":"w1","from":"1","timestamp":"99999999999999999999","type":"text","text":{"body":"x"}})")
                  .starts_with("invalid:"));
  EXPECT_TRUE(reason(R"("just a string")").starts_with("invalid:"));
  EXPECT_EQ(reason(R"({"id":"w1","from":"1","timestamp":"1","type":"text","text":{"body":"  "}})"), "empty_text");
  EXPECT_EQ(reason(R"({"id":"w1","from":"1","timestamp":"1","type":"reaction","reaction":{}})"), "type:reaction");
  // A good message next to a bad one still goes through.
  auto mixed = parse_delivery(kBot, one_message(R"({"id":"bad"},{"id":"w2","from":"1","timestamp":"2",
      "type":"text","text":{"body":"ok"}})"));
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->messages.size(), 1u);
  EXPECT_EQ(mixed->ignored.size(), 1u);
}

TEST(WhatsAppParse, MalformedEnvelopeIsAnError) {
  auto code = [](std::string_view body) {
    auto p = parse_delivery(kBot, body);
    EXPECT_FALSE(p.ok()) << body;
    return p.ok() ? std::string("ok") : p.error().code;
  };
  EXPECT_EQ(code(""), "channel.malformed_json");
  EXPECT_EQ(code("Hello, World!"), "channel.malformed_json");
  EXPECT_EQ(code("{}"), "channel.missing_field");
  EXPECT_EQ(code(R"({"object":"whatsapp_business_account"})"), "channel.missing_field");
  EXPECT_EQ(code(R"({"object":"whatsapp_business_account","entry":{}})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"object":"whatsapp_business_account","entry":[5]})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"object":"whatsapp_business_account","entry":[{"changes":[{}]}]})"), "channel.missing_field");
  EXPECT_EQ(code(R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages"}]}]})"),
            "channel.missing_field");
  EXPECT_EQ(code(R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
      "value":{"messages":{}}}]}]})"),
            "channel.wrong_type");
  EXPECT_EQ(code(R"({"object":1e999})"), "channel.malformed_json");
}

TEST(WhatsAppOutbound, TextMessage) {
  auto r = build_text_message(Secret{"EAAJB..."}, "v21.0", "106540352242922", "16505551234",
                              "Yes, in blue \xe2\x9d\xa4", "wamid.TXT2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/v21.0/106540352242922/messages");
  EXPECT_EQ(find_header(r->headers, "Authorization"), "Bearer EAAJB...");
  EXPECT_EQ(r->body,
            "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":\"16505551234\","
            "\"type\":\"text\",\"text\":{\"preview_url\":false,\"body\":\"Yes, in blue \xe2\x9d\xa4\"},"
            "\"context\":{\"message_id\":\"wamid.TXT2\"}}");
  auto plain = build_text_message(Secret{"t"}, "v19", "1", "2", "hi");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->body.find("context"), std::string::npos);
}

TEST(WhatsAppOutbound, RefusesBadInput) {
  auto code = [](Result<OutboundRequest> r) { return r.ok() ? std::string("ok") : r.error().code; };
  Secret t{"t"};
  EXPECT_EQ(code(build_text_message(Secret{}, "v21.0", "1", "2", "x")), "channel.bad_value");
  for (std::string_view version : {"", "21.0", "v", "v21.", "v21.0/../x", "va"})
    EXPECT_EQ(code(build_text_message(t, version, "1", "2", "x")), "channel.bad_value") << version;
  EXPECT_EQ(code(build_text_message(t, "v21.0", "1/../2", "2", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_text_message(t, "v21.0", "1", "+16505551234", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_text_message(t, "v21.0", "1", "2", "")), "channel.bad_value");
  EXPECT_EQ(code(build_text_message(t, "v21.0", "1", "2", "x", "\xff")), "channel.bad_value");
  std::string emoji2048;
  for (int i = 0; i < 2048; ++i) emoji2048 += "\xf0\x9f\x98\x80";
  EXPECT_EQ(code(build_text_message(t, "v21.0", "1", "2", emoji2048)), "ok");  // 4096 UTF-16 units
  EXPECT_EQ(code(build_text_message(t, "v21.0", "1", "2", emoji2048 + "a")), "channel.bad_value");
}

TEST(WhatsAppOutbound, ClassifiesGraphErrors) {
  auto classify = [](int status, std::string body, std::vector<Header> headers = {}) {
    return classify_response({status, headers, body});
  };
  auto graph_error = [](int code, std::string message = "m") {
    return R"({"error":{"message":")" + message + R"(","type":"OAuthException","code":)" + std::to_string(code) +
           R"(,"error_subcode":2494010,"fbtrace_id":"A"}})";
  };
  auto ok = classify(200, R"({"messaging_product":"whatsapp","contacts":[{"input":"16505551234",
      "wa_id":"16505551234"}],"messages":[{"id":"wamid.OUT2"}]})");
  EXPECT_EQ(ok.kind, Kind::success);
  EXPECT_EQ(ok.delivered_id, "wamid.OUT2");
  EXPECT_EQ(classify(200, "").kind, Kind::success);

  for (int code : {4, 80007, 130429, 131048, 131056}) {
    auto o = classify(400, graph_error(code));
    EXPECT_EQ(o.kind, Kind::retry_after) << code;
    EXPECT_EQ(o.retry_after, kRateLimitBackoff);
  }
  EXPECT_EQ(classify(429, "", {{"Retry-After", "12"}}).retry_after, std::chrono::milliseconds(12000));
  for (int code : {1, 2, 131000, 131016}) EXPECT_EQ(classify(500, graph_error(code)).kind, Kind::transient);
  EXPECT_EQ(classify(503, "upstream").kind, Kind::transient);
  auto expired = classify(401, graph_error(190, "Error validating access token"));
  EXPECT_EQ(expired.kind, Kind::permanent);
  EXPECT_EQ(expired.reason, "error_190");
  EXPECT_EQ(expired.detail, "Error validating access token");
  EXPECT_EQ(classify(400, graph_error(131047)).kind, Kind::permanent);
  EXPECT_EQ(classify(400, graph_error(131026)).kind, Kind::permanent);
  EXPECT_EQ(classify(400, graph_error(100)).kind, Kind::permanent);
  EXPECT_EQ(classify(500, graph_error(100)).kind, Kind::transient);  // 5xx wins
  EXPECT_EQ(classify(404, "<html>").reason, "http_404");
}

}  // namespace
}  // namespace sb::channels::whatsapp
