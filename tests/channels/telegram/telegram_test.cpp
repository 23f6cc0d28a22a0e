// Telegram: the secret-token header, golden updates (UTF-16 entity offsets), ignore
// rules, hostile input, getUpdates, sendMessage and Bot API answers.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "channels/telegram/outbound.hpp"
#include "channels/telegram/parse.hpp"
#include "channels/telegram/verify.hpp"
#include "tests/channels/print.hpp"

namespace sb::channels::telegram {
namespace {

using Kind = DeliveryOutcome::Kind;

struct Req {
  std::string method = "POST";
  std::vector<Header> headers;
  std::string body = "{}";
  WebhookRequest view() const { return {method, headers, "", body}; }
};

TEST(TelegramVerify, SecretTokenRules) {
  EXPECT_TRUE(valid_secret_token("a"));
  EXPECT_TRUE(valid_secret_token("Abc_123-xyz"));
  EXPECT_TRUE(valid_secret_token(std::string(256, 'x')));
  EXPECT_FALSE(valid_secret_token(std::string(257, 'x')));
  EXPECT_FALSE(valid_secret_token(""));
  EXPECT_FALSE(valid_secret_token("with space"));
  EXPECT_FALSE(valid_secret_token("a.b"));
  EXPECT_FALSE(valid_secret_token("\xc3\xa9"));
  auto bad = Verifier::create(Secret{"not valid!"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "telegram.config");
  EXPECT_FALSE(Verifier::create(Secret{}).ok());
}

TEST(TelegramVerify, ComparesTheHeader) {
  auto v = Verifier::create(Secret{"s3cr3t_Token-1"});
  ASSERT_TRUE(v.ok());
  auto verdict = [&](std::vector<Header> headers, std::string method = "POST") {
    Req r;
    r.headers = std::move(headers);
    r.method = std::move(method);
    return v->verify(r.view());
  };
  const std::string name = "X-Telegram-Bot-Api-Secret-Token";
  EXPECT_TRUE(verdict({{name, "s3cr3t_Token-1"}}).accepted());
  EXPECT_TRUE(verdict({{"x-telegram-bot-api-secret-token", "s3cr3t_Token-1"}}).accepted());
  for (std::string wrong : {"", "s3cr3t_Token-", "s3cr3t_Token-12", "S3CR3T_TOKEN-1", " s3cr3t_Token-1"}) {
    Verdict d = verdict({{name, wrong}});
    EXPECT_EQ(d.status, 401) << wrong;
    EXPECT_EQ(d.reason, "bad_token");
  }
  EXPECT_EQ(verdict({}).reason, "missing_token");
  EXPECT_EQ(verdict({{name, "s3cr3t_Token-1"}, {name, "s3cr3t_Token-1"}}).reason, "duplicate_header");
  EXPECT_EQ(verdict({{name, "s3cr3t_Token-1"}}, "GET").status, 405);
}

const BotIdentity kBot{"tgbot", 7654321, "SquadHelperBot"};

// A supergroup message that mentions the bot after an emoji: the entity offset is in
// UTF-16 units (the emoji counts 2), and it replies to one of the bot's messages.
constexpr std::string_view kGroupUpdate = R"({
  "update_id": 981276354,
  "message": {
    "message_id": 4412,
    "from": {"id": 123456789, "is_bot": false, "first_name": "Grace", "last_name": "Hopper",
             "username": "ghopper", "language_code": "en"},
    "chat": {"id": -1001234567890, "title": "Ops squad", "type": "supergroup"},
    "date": 1718000000,
    "reply_to_message": {"message_id": 4400, "from": {"id": 7654321, "is_bot": true,
                         "first_name": "Squad", "username": "SquadHelperBot"},
                         "chat": {"id": -1001234567890, "type": "supergroup"}, "date": 1717999000,
                         "text": "Deployed."},
    "text": "\ud83d\ude80 @squadhelperbot roll back please",
    "entities": [{"offset": 3, "length": 15, "type": "mention"}]
  }
})";

TEST(TelegramParse, GoldenGroupMessage) {
  auto parsed = parse_update(kBot, kGroupUpdate);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  messaging::InboundMessage expected;
  expected.channel = messaging::ChannelKind::telegram;
  expected.bot = "tgbot";
  expected.chat_jid = "tg:-1001234567890";
  expected.sender_id = "123456789";
  expected.sender_name = "Grace Hopper";
  expected.text = "\xf0\x9f\x9a\x80 @squadhelperbot roll back please";
  expected.reply_ref = "4400";
  expected.message_ref = "4412";
  expected.platform_message_id = "-1001234567890:4412";  // chat:message, never the update_id (L3)
  expected.timestamp_ms = 1718000000000;
  expected.is_group = true;
  expected.mentions_bot = true;
  ASSERT_EQ(parsed->messages.size(), 1u);
  EXPECT_EQ(parsed->messages[0], expected);
  EXPECT_TRUE(parsed->ignored.empty());
}

std::string group_message(std::string text, std::string entities = "[]", std::string extra = "") {
  return R"({"update_id":1,"message":{"message_id":2,"date":1718000000,
    "from":{"id":5,"is_bot":false,"first_name":"A"},"chat":{"id":-100,"type":"group"},
    "text":")" +
         text + R"(","entities":)" + entities + extra + "}}";
}

bool mentions(const std::string& body) {
  auto p = parse_update(kBot, body);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() && p->messages.at(0).mentions_bot;
}

TEST(TelegramParse, MentionRules) {
  EXPECT_FALSE(mentions(group_message("hello all")));
  // The entity points at "@squadhelperbot" only with the UTF-16 offset (emoji = 2 units).
  EXPECT_FALSE(
      mentions(group_message("\\ud83d\\ude80 @squadhelperbot", R"([{"offset":2,"length":15,"type":"mention"}])")));
  EXPECT_TRUE(
      mentions(group_message("\\ud83d\\ude80 @squadhelperbot", R"([{"offset":3,"length":15,"type":"mention"}])")));
  EXPECT_FALSE(mentions(group_message("@otherbot hi", R"([{"offset":0,"length":9,"type":"mention"}])")));
  EXPECT_FALSE(mentions(group_message("@SquadHelperBotX", R"([{"offset":0,"length":16,"type":"mention"}])")));
  EXPECT_TRUE(mentions(group_message("/status@SquadHelperBot", R"([{"offset":0,"length":22,"type":"bot_command"}])")));
  EXPECT_TRUE(mentions(group_message("/status", R"([{"offset":0,"length":7,"type":"bot_command"}])")));
  EXPECT_FALSE(mentions(group_message("/status@OtherBot", R"([{"offset":0,"length":16,"type":"bot_command"}])")));
  EXPECT_TRUE(mentions(group_message(
      "Squad hi",
      R"([{"offset":0,"length":5,"type":"text_mention","user":{"id":7654321,"is_bot":true,"first_name":"Squad"}}])")));
  // Entities pointing outside the text or malformed are skipped, not errors.
  EXPECT_FALSE(mentions(group_message("hi", R"([{"offset":1,"length":500,"type":"mention"},
      {"offset":-1,"length":2,"type":"mention"},{"offset":"0","type":"mention"},7])")));
  EXPECT_FALSE(mentions(group_message("\\ud83d\\ude80x", R"([{"offset":1,"length":2,"type":"mention"}])")));
  // A private chat is addressed to the bot.
  std::string dm = R"({"update_id":1,"message":{"message_id":2,"date":1,"from":{"id":5,"is_bot":false,
    "first_name":"A","username":"a"},"chat":{"id":5,"type":"private","first_name":"A"},"text":"hi"}})";
  auto p = parse_update(kBot, dm);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->messages.at(0).mentions_bot);
  EXPECT_FALSE(p->messages.at(0).is_group);
  EXPECT_EQ(p->messages.at(0).sender_name, "A");
  EXPECT_EQ(p->messages.at(0).chat_jid, "tg:5");
}

TEST(TelegramParse, IgnoreRules) {
  auto reason = [](std::string body) {
    auto p = parse_update(kBot, body);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    if (!p.ok()) return std::string("error");
    EXPECT_TRUE(p->messages.empty());
    EXPECT_EQ(p->ignored.at(0).platform_id, "77");
    return p->ignored.at(0).reason;
  };
  const std::string msg = R"({"message_id":2,"date":1,"chat":{"id":1,"type":"private"},"text":"x",)";
  EXPECT_EQ(reason(R"({"update_id":77,"edited_message":)" + msg + R"("from":{"id":5,"is_bot":false}}})"),
            "edited_message");
  EXPECT_EQ(reason(R"({"update_id":77,"edited_channel_post":{}})"), "edited_channel_post");
  EXPECT_EQ(reason(R"({"update_id":77,"channel_post":{"message_id":1}})"), "update:channel_post");
  EXPECT_EQ(reason(R"({"update_id":77,"callback_query":{"id":"1"}})"), "update:callback_query");
  EXPECT_EQ(reason(R"({"update_id":77})"), "update:empty");
  EXPECT_EQ(reason(R"({"update_id":77,"message":)" + msg + R"("from":{"id":9,"is_bot":true,"first_name":"B"}}})"),
            "bot_sender");
  EXPECT_EQ(reason(R"({"update_id":77,"message":)" + msg + R"("from":{"id":7654321,"is_bot":false}}})"), "bot_sender");
  EXPECT_EQ(reason(R"({"update_id":77,"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"group"},
      "sender_chat":{"id":1},"text":"x"}})"),
            "no_sender");
  EXPECT_EQ(reason(R"({"update_id":77,"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"private"},
      "from":{"id":5,"is_bot":false},"photo":[{"file_id":"x"}],"caption":"look"}})"),
            "non_text");
  EXPECT_EQ(reason(R"({"update_id":77,"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"private"},
      "from":{"id":5,"is_bot":false},"text":" \n"}})"),
            "empty_text");
}

TEST(TelegramParse, HostileInput) {
  auto code = [](std::string_view body) {
    auto p = parse_update(kBot, body);
    EXPECT_FALSE(p.ok()) << body;
    return p.ok() ? std::string("ok") : p.error().code;
  };
  EXPECT_EQ(code(""), "channel.malformed_json");
  EXPECT_EQ(code("{\"update_id\":1,}"), "channel.malformed_json");
  EXPECT_EQ(code("null"), "channel.wrong_type");
  EXPECT_EQ(code("{}"), "channel.missing_field");
  EXPECT_EQ(code(R"({"update_id":"1"})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":1.5})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":100000000000000000000000000000})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":18446744073709551615})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":9223372036854775807})"), "channel.bad_value");
  EXPECT_EQ(code(R"({"update_id":-1})"), "channel.bad_value");
  EXPECT_EQ(code(R"({"update_id":1,"message":[]})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":1,"message":{"message_id":2,"date":1,"text":"x"}})"), "channel.missing_field");
  EXPECT_EQ(
      code(R"({"update_id":1,"message":{"message_id":2,"date":1,"chat":{"id":"-100","type":"group"},"text":"x"}})"),
      "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":1,"message":{"message_id":2,"date":-5,"chat":{"id":1,"type":"group"},"text":"x"}})"),
            "channel.bad_value");
  EXPECT_EQ(code(R"({"update_id":1,"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"group"},
      "from":{"id":5,"is_bot":"no"},"text":"x"}})"),
            "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":1,"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"group"},
      "from":{"id":5},"text":7}})"),
            "channel.wrong_type");
  EXPECT_EQ(code(R"({"update_id":1,"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"group"},
      "from":{"id":5},"text":"x","reply_to_message":{"text":"y"}}})"),
            "channel.missing_field");
}

TEST(TelegramParse, LoneSurrogateEscapeBecomesReplacementCharacter) {
  // RapidJSON decodes "\udc00" to ED B0 80, which is not UTF-8; each of the three bytes
  // becomes U+FFFD, as Unicode's "maximal subpart" practice prescribes.
  auto p = parse_update(kBot, group_message("a\\udc00b"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->messages.at(0).text,
            "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
}

TEST(TelegramParse, BotIdFromToken) {
  EXPECT_EQ(bot_id_from_token("7654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"), 7654321);
  EXPECT_FALSE(bot_id_from_token("").has_value());
  EXPECT_FALSE(bot_id_from_token(":abc").has_value());
  EXPECT_FALSE(bot_id_from_token("abc:def").has_value());
  EXPECT_FALSE(bot_id_from_token("12a:def").has_value());
  EXPECT_FALSE(bot_id_from_token("0:def").has_value());
  EXPECT_FALSE(bot_id_from_token("99999999999999999999:x").has_value());
}

TEST(TelegramPoll, ParsesUpdatesAndAdvancesPastBadOnes) {
  std::string body = R"({"ok":true,"result":[
    {"update_id":10,"message":{"message_id":1,"date":1,"from":{"id":5,"is_bot":false,"first_name":"A"},
      "chat":{"id":5,"type":"private"},"text":"one"}},
    {"update_id":12,"message":{"message_id":2,"date":"soon"}},
    {"update_id":11,"edited_message":{}},
    {"no_update_id":true},
    {"update_id":13,"message":{"message_id":3,"date":2,"from":{"id":5,"is_bot":false,"first_name":"A"},
      "chat":{"id":5,"type":"private"},"text":"two"}}]})";
  auto polled = parse_get_updates(kBot, body);
  ASSERT_TRUE(polled.ok()) << polled.error().message;
  EXPECT_EQ(polled->next_offset, 14);
  ASSERT_EQ(polled->delivery.messages.size(), 2u);
  EXPECT_EQ(polled->delivery.messages[0].text, "one");
  EXPECT_EQ(polled->delivery.messages[1].platform_message_id, "5:3");
  ASSERT_EQ(polled->delivery.ignored.size(), 3u);
  EXPECT_EQ(polled->delivery.ignored[0].platform_id, "12");
  EXPECT_TRUE(polled->delivery.ignored[0].reason.starts_with("invalid: field 'result[1].message.date'"));
  EXPECT_EQ(polled->delivery.ignored[1].reason, "edited_message");
  EXPECT_EQ(polled->delivery.ignored[2].platform_id, "");

  auto none = parse_get_updates(kBot, R"({"ok":true,"result":[]})");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->next_offset.has_value());
  auto conflict = parse_get_updates(kBot, R"({"ok":false,"error_code":409,
      "description":"Conflict: can't use getUpdates method while webhook is active"})");
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, "telegram.api");
  EXPECT_NE(conflict.error().message.find("webhook is active"), std::string::npos);
  EXPECT_FALSE(parse_get_updates(kBot, R"({"ok":true})").ok());
  EXPECT_FALSE(parse_get_updates(kBot, R"({"ok":true,"result":{}})").ok());
  EXPECT_FALSE(parse_get_updates(kBot, "<html>").ok());
}

const Secret kToken{"7654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"};

TEST(TelegramOutbound, SendMessage) {
  auto r = build_send_message(kToken, "-1001234567890", "Rolled back \xe2\x9c\x85", "4412");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/bot7654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage");
  EXPECT_EQ(r->log_path, "/bot[redacted]/sendMessage");
  EXPECT_EQ(find_header(r->headers, "Content-Type"), "application/json");
  EXPECT_FALSE(find_header(r->headers, "Authorization").has_value());
  EXPECT_EQ(r->body,
            "{\"chat_id\":-1001234567890,\"text\":\"Rolled back \xe2\x9c\x85\",\"reply_parameters\":"
            "{\"message_id\":4412,\"allow_sending_without_reply\":true}}");
  auto plain = build_send_message(kToken, "5", "*not* markdown");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->body, R"({"chat_id":5,"text":"*not* markdown"})");
}

TEST(TelegramOutbound, RefusesBadInput) {
  auto code = [](Result<OutboundRequest> r) { return r.ok() ? std::string("ok") : r.error().code; };
  for (std::string_view token : {"", "abc", "123:", ":abc", "123:abc/../x", "123:abc def", "12a:abc"})
    EXPECT_EQ(code(build_send_message(Secret{std::string(token)}, "1", "x")), "channel.bad_value") << token;
  for (std::string_view chat : {"", "abc", "@channel", "+5", "1.5", "99999999999999999999", "1 "})
    EXPECT_EQ(code(build_send_message(kToken, chat, "x")), "channel.bad_value") << chat;
  EXPECT_EQ(code(build_send_message(kToken, "1", "x", "-4")), "channel.bad_value");
  EXPECT_EQ(code(build_send_message(kToken, "1", "x", "abc")), "channel.bad_value");
  EXPECT_EQ(code(build_send_message(kToken, "1", "")), "channel.bad_value");
  std::string emoji2048;
  for (int i = 0; i < 2048; ++i) emoji2048 += "\xf0\x9f\x98\x80";
  EXPECT_EQ(code(build_send_message(kToken, "1", emoji2048)), "ok");  // 4096 UTF-16 units
  EXPECT_EQ(code(build_send_message(kToken, "1", emoji2048 + "a")), "channel.bad_value");
}

TEST(TelegramOutbound, GetUpdates) {
  auto r = build_get_updates(kToken, 981276355, 30);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->log_path, "/bot[redacted]/getUpdates");
  EXPECT_EQ(r->body, R"({"offset":981276355,"timeout":30,"allowed_updates":["message"]})");
  EXPECT_FALSE(build_get_updates(kToken, -1, 30).ok());
  EXPECT_FALSE(build_get_updates(kToken, 0, 51).ok());
  EXPECT_FALSE(build_get_updates(Secret{"x"}, 0, 0).ok());
}

TEST(TelegramOutbound, ClassifiesAnswers) {
  auto classify = [](int status, std::string body, std::vector<Header> headers = {}) {
    return classify_response({status, headers, body});
  };
  auto ok = classify(200, R"({"ok":true,"result":{"message_id":4413,"date":1718000100,"chat":{"id":5},"text":"x"}})");
  EXPECT_EQ(ok.kind, Kind::success);
  EXPECT_EQ(ok.delivered_id, "4413");
  auto flood = classify(429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 17",
      "parameters":{"retry_after":17}})");
  EXPECT_EQ(flood.kind, Kind::retry_after);
  EXPECT_EQ(flood.retry_after, std::chrono::milliseconds(17000));
  EXPECT_EQ(classify(429, R"({"ok":false,"error_code":429})", {{"Retry-After", "4"}}).retry_after,
            std::chrono::milliseconds(4000));
  EXPECT_EQ(classify(429, R"({"ok":false,"error_code":429,"parameters":{"retry_after":99999999999}})").retry_after,
            kMaxRetryAfter);
  auto blocked =
      classify(403, R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})");
  EXPECT_EQ(blocked.kind, Kind::permanent);
  EXPECT_EQ(blocked.reason, "error_403");
  EXPECT_EQ(blocked.detail, "Forbidden: bot was blocked by the user");
  EXPECT_EQ(classify(400, R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})").kind,
            Kind::permanent);
  EXPECT_EQ(classify(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})").kind, Kind::permanent);
  EXPECT_EQ(classify(404, R"({"ok":false,"error_code":404,"description":"Not Found"})").kind, Kind::permanent);
  auto migrated = classify(
      400, R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat",
      "parameters":{"migrate_to_chat_id":-1001234567890}})");
  EXPECT_EQ(migrated.kind, Kind::permanent);
  EXPECT_EQ(migrated.reason, "chat_migrated");
  EXPECT_EQ(migrated.detail, "migrate_to_chat_id=-1001234567890");
  EXPECT_EQ(classify(500, R"({"ok":false,"error_code":500,"description":"Internal Server Error"})").kind,
            Kind::transient);
  EXPECT_EQ(classify(502, "<html>Bad Gateway</html>").kind, Kind::transient);
  EXPECT_EQ(classify(200, "<html>captive portal</html>").reason, "bad_response");
  EXPECT_EQ(classify(200, R"({"ok":false})").kind, Kind::permanent);  // error_code falls back to HTTP 200
}

// L3 of the 2026-12 audit: after a week without updates Telegram picks the next update_id
// at random, so an update_id may come back for a new message. The dedupe key is the
// chat and message id: a repeated update_id with a new message is a new message, and the
// same message redelivered under another update_id is still a duplicate.
TEST(TelegramParse, DedupeKeyIsChatAndMessageNotUpdateId) {
  auto update = [](int64_t update_id, int64_t chat, int64_t message) {
    return R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":)" + std::to_string(message) +
           R"(,"date":1,"from":{"id":5,"is_bot":false,"first_name":"A"},"chat":{"id":)" + std::to_string(chat) +
           R"(,"type":"private"},"text":"hi"}})";
  };
  auto key = [&](int64_t update_id, int64_t chat, int64_t message) {
    auto parsed = parse_update(kBot, update(update_id, chat, message));
    EXPECT_TRUE(parsed.ok());
    if (!parsed.ok() || parsed->messages.size() != 1) return std::string();
    return parsed->messages[0].platform_message_id;
  };
  EXPECT_NE(key(500, 5, 1), key(500, 5, 2));    // the update_id repeats, the message is new
  EXPECT_NE(key(500, 5, 1), key(500, 6, 1));    // message ids are per chat
  EXPECT_EQ(key(500, 5, 1), key(90210, 5, 1));  // the same message under a new update_id
}

}  // namespace
}  // namespace sb::channels::telegram
