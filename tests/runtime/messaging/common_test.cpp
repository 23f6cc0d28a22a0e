// Shared channel helpers: hex, headers, form parameters, JIDs, HMAC, constant-time
// comparison, JSON reading rules and UTF-8.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "channels/bot/webhook.hpp"
#include "runtime/core/crypto.hpp"
#include "runtime/core/hex.hpp"
#include "runtime/core/json.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/messaging/inbound.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels {
namespace {

TEST(ChannelHex, DecodesExactLengthInEitherCase) {
  std::array<unsigned char, 3> out{};
  ASSERT_TRUE(hex_decode_exact("00fFa1", out));
  EXPECT_EQ(out, (std::array<unsigned char, 3>{0x00, 0xff, 0xa1}));
  EXPECT_EQ(hex_encode(out), "00ffa1");
}

TEST(ChannelHex, RefusesOddLengthNonHexAndWrongLength) {
  std::array<unsigned char, 2> out{};
  EXPECT_FALSE(hex_decode_exact("abc", out));     // odd, too short
  EXPECT_FALSE(hex_decode_exact("abcde", out));   // odd, too long
  EXPECT_FALSE(hex_decode_exact("abcdef", out));  // even, too long
  EXPECT_FALSE(hex_decode_exact("abcg", out));    // non-hex
  EXPECT_FALSE(hex_decode_exact("ab c", out));    // space
  EXPECT_FALSE(hex_decode_exact("+bcd", out));
  EXPECT_FALSE(hex_decode_exact(std::string("ab\0d", 4), out));
  EXPECT_FALSE(hex_decode("abc").has_value());
  EXPECT_FALSE(hex_decode("zz").has_value());
  ASSERT_TRUE(hex_decode("").has_value());
  EXPECT_TRUE(hex_decode("")->empty());
}

TEST(ChannelHeaders, LookupIsCaseInsensitiveAndCountsDuplicates) {
  std::vector<Header> headers{{"x-slack-signature", "a"}, {"Content-Type", "b"}, {"X-SLACK-SIGNATURE", "c"}};
  EXPECT_EQ(find_header(headers, "X-Slack-Signature"), "a");
  EXPECT_EQ(find_header(headers, "content-type"), "b");
  EXPECT_FALSE(find_header(headers, "X-Slack-Signatur").has_value());
  EXPECT_EQ(count_header(headers, "x-slack-signature"), 2u);
  EXPECT_EQ(count_header(headers, "missing"), 0u);
}

TEST(ChannelForm, DecodesParameters) {
  std::string_view q = "hub.mode=subscribe&hub.verify_token=a%2Bb+c&empty=&flag&x=%zz&x=2";
  EXPECT_EQ(form_param(q, "hub.mode"), "subscribe");
  EXPECT_EQ(form_param(q, "hub.verify_token"), "a+b c");
  EXPECT_EQ(form_param(q, "empty"), "");
  EXPECT_EQ(form_param(q, "flag"), "");
  EXPECT_EQ(form_param(q, "x"), "%zz");  // malformed escape kept; first value wins
  EXPECT_FALSE(form_param(q, "hub").has_value());
  EXPECT_FALSE(form_param("", "a").has_value());
  EXPECT_EQ(form_param("a%3Db=1", "a=b"), "1");  // names are decoded too
  EXPECT_EQ(form_param("&&a=1&&", "a"), "1");
  EXPECT_EQ(form_param("a=%4", "a"), "%4");  // truncated escape kept
}

TEST(ChannelSanitize, NulBytesAndInvalidUtf8BecomeReplacementCharacters) {
  sb::messaging::InboundMessage m;
  m.text = std::string("a\0b\0\0c", 6);
  m.sender_name = std::string("\0", 1);
  m.chat_jid = "slack:C1";
  m.platform_message_id = "x\xFFy";
  sb::messaging::sanitize_strings(m);
  EXPECT_EQ(m.text,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD"
            "c");
  EXPECT_EQ(m.sender_name, "\xEF\xBF\xBD");
  EXPECT_EQ(m.chat_jid, "slack:C1");
  EXPECT_EQ(m.platform_message_id.find('\xFF'), std::string::npos);
  EXPECT_TRUE(sb::utf8::is_valid(m.platform_message_id));
}

TEST(ChannelJid, MakesAndParsesEveryPrefix) {
  EXPECT_EQ(messaging::make_jid(messaging::ChannelKind::slack, "C1"), "slack:C1");
  EXPECT_EQ(messaging::make_jid(messaging::ChannelKind::discord, "42"), "dc:42");
  EXPECT_EQ(messaging::make_jid(messaging::ChannelKind::whatsapp, "15551234567"), "wa:15551234567");
  EXPECT_EQ(messaging::make_jid(messaging::ChannelKind::telegram, "-1001"), "tg:-1001");
  for (auto kind : {messaging::ChannelKind::slack, messaging::ChannelKind::discord, messaging::ChannelKind::whatsapp,
                    messaging::ChannelKind::telegram}) {
    auto jid = messaging::parse_jid(messaging::make_jid(kind, "abc"));
    ASSERT_TRUE(jid.ok());
    EXPECT_EQ(jid->kind, kind);
    EXPECT_EQ(jid->native_id, "abc");
  }
  EXPECT_EQ(messaging::channel_name(messaging::ChannelKind::whatsapp), "whatsapp");
}

TEST(ChannelJid, RefusesUnknownPrefixAndEmptyId) {
  for (std::string_view bad : {"", "tg:", "irc:#x", "slack", "TG:1", "dc"}) {
    auto jid = messaging::parse_jid(bad);
    ASSERT_FALSE(jid.ok()) << bad;
    EXPECT_EQ(jid.error().code, "channel.bad_jid");
  }
}

std::string hex_of(const Sha256Digest& d) {
  return hex_encode(d);
}

// RFC 4231 test cases 1, 2 and 6: short key, short "Jefe" key, key longer than a block.
TEST(ChannelHmac, MatchesRfc4231Vectors) {
  ASSERT_TRUE(crypto_ready());
  EXPECT_EQ(hex_of(HmacSha256(std::string(20, '\x0b')).mac({"Hi There"})),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex_of(HmacSha256("Jefe").mac({"what do ya want ", "for nothing?"})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(
      hex_of(HmacSha256(std::string(131, '\xaa')).mac({"Test Using Larger Than Block-Size Key - Hash Key First"})),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(ChannelHmac, PartsAreConcatenatedAndKeyStateIsReused) {
  HmacSha256 h("key");
  auto whole = h.mac({"v0:123:body"});
  EXPECT_EQ(h.mac({"v0:", "123", ":", "body"}), whole);
  EXPECT_EQ(h.mac({"v0:123:body"}), whole);  // a second use starts from the same key state
  EXPECT_NE(HmacSha256("kez").mac({"v0:123:body"}), whole);
  HmacSha256 copy = h;
  EXPECT_EQ(copy.mac({"v0:123:body"}), whole);
}

TEST(ChannelSecrets, ComparesAnyLengths) {
  EXPECT_TRUE(secrets_equal("abc", "abc"));
  EXPECT_FALSE(secrets_equal("abc", "abd"));
  EXPECT_FALSE(secrets_equal("abc", "abcd"));
  EXPECT_FALSE(secrets_equal("", "a"));
  EXPECT_TRUE(secrets_equal("", ""));
  EXPECT_FALSE(secrets_equal(std::string("a\0b", 3), "a"));
}

TEST(ChannelValidate, Identifiers) {
  EXPECT_TRUE(messaging::snowflake("175928847299117063"));
  EXPECT_TRUE(messaging::snowflake("18446744073709551615"));
  EXPECT_FALSE(messaging::snowflake("18446744073709551616"));
  EXPECT_FALSE(messaging::snowflake("123456789012345678901"));
  EXPECT_FALSE(messaging::snowflake(""));
  EXPECT_FALSE(messaging::snowflake("12a"));
  EXPECT_FALSE(messaging::snowflake("-1"));
  EXPECT_TRUE(messaging::header_safe("Bearer-xoxb-1"));
  EXPECT_FALSE(messaging::header_safe("a b"));
  EXPECT_FALSE(messaging::header_safe("a\r\nX-Evil: 1"));
  EXPECT_FALSE(messaging::header_safe(""));
  EXPECT_TRUE(messaging::token_chars("a_b-c", "_-", 5));
  EXPECT_FALSE(messaging::token_chars("a_b-c", "_-", 4));
  EXPECT_FALSE(messaging::token_chars("a/b", "_-", 10));
}

TEST(ChannelJson, RefusesMalformedInput) {
  for (std::string_view bad : {std::string_view(""), std::string_view("{"), std::string_view("{} {}"),
                               std::string_view("{}x"), std::string_view("{\"a\":1,}"), std::string_view("nul"),
                               std::string_view("{}\0{}", 5), std::string_view("{\"a\":\"\xff\"}"),
                               std::string_view("{\"a\":\"\xed\xa0\x80\"}"), std::string_view("1e400")}) {
    rapidjson::Document doc;
    auto st = json::parse(doc, bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, "channel.malformed_json");
  }
  rapidjson::Document doc;
  EXPECT_TRUE(json::parse(doc, " {\"a\":\"\\u0000\"} \n").ok());
}

TEST(ChannelJson, DeepNestingDoesNotExhaustTheStack) {
  std::string deep(200000, '[');
  rapidjson::Document doc;
  EXPECT_FALSE(json::parse(doc, deep).ok());  // unterminated, but no crash
  std::string balanced = std::string(100000, '[') + std::string(100000, ']');
  rapidjson::Document doc2;
  EXPECT_TRUE(json::parse(doc2, balanced).ok());
}

TEST(ChannelJson, FieldRulesNameTheFieldAndKeepTheFirstError) {
  rapidjson::Document doc;
  ASSERT_TRUE(json::parse(doc, R"({"s":"x","n":5,"big":123456789012345678901234,
      "neg":-9223372036854775808,"f":1.5,"b":true,"o":{"inner":1},"a":[1],"z":null})")
                  .ok());
  json::Errors errors;
  json::Object root = json::Object::from(doc, "", errors);
  EXPECT_EQ(root.str("s"), "x");
  EXPECT_EQ(root.i64("n"), 5);
  EXPECT_EQ(root.i64("neg"), INT64_MIN);
  EXPECT_TRUE(root.opt_bool("b", false));
  EXPECT_EQ(root.obj("o").i64("inner"), 1);
  EXPECT_NE(root.opt_array("a"), nullptr);
  EXPECT_FALSE(root.opt_str("z").has_value());  // null counts as absent
  EXPECT_FALSE(root.has("z"));
  EXPECT_FALSE(errors.failed());

  EXPECT_EQ(root.i64("big"), 0);  // beyond 64 bits: a double, so the wrong type
  ASSERT_TRUE(errors.failed());
  EXPECT_EQ(errors.first->code, "channel.wrong_type");
  EXPECT_NE(errors.first->message.find("'big'"), std::string::npos);
  root.str("missing");  // a later error does not replace the first
  EXPECT_EQ(errors.first->code, "channel.wrong_type");

  json::Errors e2;
  json::Object r2 = json::Object::from(doc, "", e2);
  r2.obj("o").str("inner");
  ASSERT_TRUE(e2.failed());
  EXPECT_EQ(e2.first->code, "channel.wrong_type");
  EXPECT_NE(e2.first->message.find("'o.inner'"), std::string::npos);

  json::Errors e3;
  json::Object r3 = json::Object::from(doc, "", e3);
  r3.obj("nope").str("x");  // reading through a missing object reports the object once
  ASSERT_TRUE(e3.failed());
  EXPECT_EQ(e3.first->code, "channel.missing_field");
  EXPECT_NE(e3.first->message.find("'nope'"), std::string::npos);

  json::Errors e4;
  json::Object::from(doc["a"], "a", e4);
  ASSERT_TRUE(e4.failed());
  EXPECT_EQ(e4.first->code, "channel.wrong_type");
  json::Errors e5;
  json::Object r5 = json::Object::from(doc, "", e5);
  EXPECT_EQ(r5.i64("f"), 0);
  EXPECT_EQ(e5.first->code, "channel.wrong_type");
}

TEST(ChannelUtf8, DecodesStrictly) {
  EXPECT_TRUE(utf8::is_valid("a\xc3\xa9\xe6\xb1\x89\xf0\x9f\x98\x80"));  // a é 汉 😀
  for (std::string_view bad : {"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                               "\xf5\x80\x80\x80", "\xff", "\x80", "\xe6\xb1", "\xf0\x9f\x98"}) {
    EXPECT_FALSE(utf8::is_valid(bad)) << utf8::sanitize(bad);
  }
  EXPECT_EQ(utf8::sanitize("a\xff"
                           "b\xe6\xb1"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8::sanitize("ok \xf0\x9f\x98\x80"), "ok \xf0\x9f\x98\x80");
}

TEST(ChannelUtf8, CountsUtf16UnitsAndMapsOffsets) {
  std::string s =
      "a\xf0\x9f\x98\x80"
      "b\xe6\xb1\x89";  // a 😀 b 汉
  EXPECT_EQ(utf8::utf16_length(s), 5u);
  EXPECT_EQ(utf8::code_point_count(s), 4u);
  EXPECT_EQ(utf8::byte_offset_of_utf16(s, 0), 0u);
  EXPECT_EQ(utf8::byte_offset_of_utf16(s, 1), 1u);
  EXPECT_FALSE(utf8::byte_offset_of_utf16(s, 2).has_value());  // inside the surrogate pair
  EXPECT_EQ(utf8::byte_offset_of_utf16(s, 3), 5u);
  EXPECT_EQ(utf8::byte_offset_of_utf16(s, 5), s.size());
  EXPECT_FALSE(utf8::byte_offset_of_utf16(s, 6).has_value());
}

}  // namespace
}  // namespace sb::channels
