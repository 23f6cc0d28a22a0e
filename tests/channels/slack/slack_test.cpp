// Slack: the published signing vector, the two-sided 300 s window, handshakes, golden
// event payloads, ignore rules, hostile input, chat.postMessage and its answers.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "channels/slack/outbound.hpp"
#include "channels/slack/parse.hpp"
#include "channels/slack/verify.hpp"
#include "tests/channels/print.hpp"

namespace sb::channels::slack {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;
using Kind = DeliveryOutcome::Kind;

// REFERENCE §3 / Slack's documentation.
const Secret kSecret{"8f742231b10e8888abcd99yyyzzz85a5"};
constexpr std::string_view kTs = "1531420618";
constexpr std::string_view kBody =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977008"
    "85554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c4"
    "47fce8b6703c";
constexpr std::string_view kSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

Clock::time_point at(std::int64_t unix_s) {
  return Clock::time_point(seconds(unix_s));
}

Verifier verifier() {
  auto v = Verifier::create(kSecret);
  EXPECT_TRUE(v.ok());
  return std::move(v).value();
}

struct Req {
  std::string method = "POST";
  std::vector<Header> headers;
  std::string body;
  WebhookRequest view() const { return {method, headers, "", body}; }
};

Req signed_request(const Verifier& v, std::string body, std::string ts = std::string(kTs)) {
  Req r;
  r.body = std::move(body);
  r.headers = {{"X-Slack-Request-Timestamp", ts},
               {"X-Slack-Signature", v.sign(ts, r.body)},
               {"Content-Type", "application/json"}};
  return r;
}

TEST(SlackVerify, PublishedVector) {
  Verifier v = verifier();
  EXPECT_EQ(v.sign(kTs, kBody), kSignature);
  Req r;
  r.body = kBody;
  r.headers = {{"x-slack-request-timestamp", std::string(kTs)},  // names in any case
               {"x-slack-signature", std::string(kSignature)}};
  Verdict d = v.verify(r.view(), at(1531420618));
  EXPECT_EQ(d.kind, Verdict::Kind::accept) << d.reason;
}

TEST(SlackVerify, UppercaseHexIsTheSameSignature) {
  Verifier v = verifier();
  Req r;
  r.body = kBody;
  std::string upper(kSignature);
  for (std::size_t i = 3; i < upper.size(); ++i) upper[i] = static_cast<char>(toupper(upper[i]));
  r.headers = {{"X-Slack-Request-Timestamp", std::string(kTs)}, {"X-Slack-Signature", upper}};
  EXPECT_TRUE(v.verify(r.view(), at(1531420618)).accepted());
}

TEST(SlackVerify, WindowIsTwoSided300Seconds) {
  Verifier v = verifier();
  Req r = signed_request(v, R"({"type":"event_callback"})");
  std::int64_t ts = 1531420618;
  EXPECT_TRUE(v.verify(r.view(), at(ts + 300)).accepted());
  EXPECT_TRUE(v.verify(r.view(), at(ts - 300)).accepted());
  EXPECT_TRUE(v.verify(r.view(), at(ts) + std::chrono::milliseconds(300'999)).accepted());
  Verdict stale = v.verify(r.view(), at(ts + 301));
  EXPECT_EQ(stale.kind, Verdict::Kind::reject);
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(stale.reason, "stale_timestamp");
  Verdict future = v.verify(r.view(), at(ts - 301));
  EXPECT_EQ(future.status, 401);
  EXPECT_EQ(future.reason, "future_timestamp");
  EXPECT_EQ(v.verify(r.view(), at(0)).reason, "future_timestamp");
  EXPECT_EQ(v.verify(r.view(), at(ts + 86400 * 365)).reason, "stale_timestamp");
}

TEST(SlackVerify, RejectsMissingAndMalformedHeaders) {
  Verifier v = verifier();
  auto now = at(1531420618);
  auto reason = [&](std::vector<Header> headers, std::string body = std::string(kBody)) {
    Req r;
    r.headers = std::move(headers);
    r.body = std::move(body);
    Verdict d = v.verify(r.view(), now);
    EXPECT_EQ(d.kind, Verdict::Kind::reject);
    EXPECT_EQ(d.status, 401);
    return d.reason;
  };
  std::string ts(kTs), sig(kSignature);
  EXPECT_EQ(reason({}), "missing_timestamp");
  EXPECT_EQ(reason({{"X-Slack-Signature", sig}}), "missing_timestamp");
  EXPECT_EQ(reason({{"X-Slack-Request-Timestamp", ts}}), "missing_signature");
  for (std::string bad :
       {"", "abc", "-1531420618", "1531420618.5", " 1531420618", "99999999999999999999", "1531420618x"})
    EXPECT_EQ(reason({{"X-Slack-Request-Timestamp", bad}, {"X-Slack-Signature", sig}}), "malformed_timestamp") << bad;
  for (std::string bad :
       {std::string(""), std::string("v0="), "v1=" + sig.substr(3), sig.substr(3), sig.substr(0, sig.size() - 1),
        sig + "0", sig + "00", sig.substr(0, sig.size() - 1) + "g", "V0=" + sig.substr(3), " " + sig})
    EXPECT_EQ(reason({{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", bad}}), "malformed_signature") << bad;
  std::string flipped = sig;
  flipped.back() = flipped.back() == '3' ? '4' : '3';
  EXPECT_EQ(reason({{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", flipped}}), "bad_signature");
  EXPECT_EQ(reason({{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", sig}}, std::string(kBody) + " "),
            "bad_signature");
  EXPECT_EQ(reason({{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", sig}}, ""), "bad_signature");
  EXPECT_EQ(reason({{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", sig}, {"x-slack-signature", flipped}}),
            "duplicate_header");
  // The same signature under another timestamp (replay with a fresh timestamp).
  Req r;
  r.body = kBody;
  r.headers = {{"X-Slack-Request-Timestamp", "1531420619"}, {"X-Slack-Signature", sig}};
  EXPECT_EQ(v.verify(r.view(), now).reason, "bad_signature");
}

TEST(SlackVerify, OtherMethodsAndEmptySecret) {
  Verifier v = verifier();
  Req r = signed_request(v, "{}");
  r.method = "GET";
  Verdict d = v.verify(r.view(), at(1531420618));
  EXPECT_EQ(d.status, 405);
  EXPECT_EQ(d.reason, "method_not_allowed");
  auto empty = Verifier::create(Secret{});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "slack.config");
}

TEST(SlackVerify, AnswersUrlVerificationAfterTheSignature) {
  Verifier v = verifier();
  std::string body =
      R"({"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"})";
  Req r = signed_request(v, body);
  Verdict d = v.verify(r.view(), at(1531420618));
  EXPECT_EQ(d.kind, Verdict::Kind::respond);
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.content_type, "application/json");
  EXPECT_EQ(d.body, R"({"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})");
  // Unsigned, it is just another bad request.
  r.headers[1].second = "v0=" + std::string(64, '0');
  EXPECT_EQ(v.verify(r.view(), at(1531420618)).reason, "bad_signature");
  // A challenge with quotes is escaped, not echoed raw.
  Req q = signed_request(v, R"({"type":"url_verification","challenge":"a\"b<"})");
  EXPECT_EQ(v.verify(q.view(), at(1531420618)).body, R"({"challenge":"a\"b<"})");
  for (std::string bad :
       std::vector<std::string>{R"({"type":"url_verification"})", R"({"type":"url_verification","challenge":5})",
                                R"({"type":"url_verification","challenge":""})",
                                R"({"type":"url_verification","challenge":")" + std::string(300, 'x') + "\"}"}) {
    Req b = signed_request(v, bad);
    Verdict vb = v.verify(b.view(), at(1531420618));
    EXPECT_EQ(vb.status, 400) << bad;
    EXPECT_EQ(vb.reason, "bad_challenge");
  }
}

TEST(SlackVerify, AnswersSslCheck) {
  Verifier v = verifier();
  Req r = signed_request(v, "ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G");
  Verdict d = v.verify(r.view(), at(1531420618));
  EXPECT_EQ(d.kind, Verdict::Kind::respond);
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.body, "");
}

TEST(SlackVerify, MalformedJsonIsLeftToTheParser) {
  Verifier v = verifier();
  Req r = signed_request(v, "{not json");
  EXPECT_TRUE(v.verify(r.view(), at(1531420618)).accepted());
}

// A channel message in a thread, mentioning the bot (shape of Slack's Events API docs).
constexpr std::string_view kChannelMessage = R"({
  "token": "XXYYZZ", "team_id": "T123ABC456", "api_app_id": "A123ABC456",
  "event": {
    "type": "message", "channel": "C123ABC456", "user": "U123ABC456",
    "text": "<@U0BOT1234> can you summarise &lt;this&gt; &amp; that? :tada:",
    "ts": "1355517523.000005", "thread_ts": "1355517500.000100",
    "event_ts": "1355517523.000005", "channel_type": "channel",
    "user_profile": {"display_name": "", "real_name": "Ada Lovelace", "name": "ada"}
  },
  "type": "event_callback", "authorizations": [{"user_id": "U0BOT1234", "is_bot": true}],
  "event_id": "Ev123ABC456", "event_time": 1355517523
})";

const BotIdentity kBot{"support", "U0BOT1234"};

TEST(SlackParse, GoldenChannelMessage) {
  auto parsed = parse_event(kBot, kChannelMessage);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->messages.size(), 1u);
  EXPECT_TRUE(parsed->ignored.empty());
  EXPECT_EQ(parsed->ack_body, "");
  messaging::InboundMessage expected;
  expected.channel = messaging::ChannelKind::slack;
  expected.bot = "support";
  expected.chat_jid = "slack:C123ABC456";
  expected.sender_id = "U123ABC456";
  expected.sender_name = "Ada Lovelace";
  expected.text = "<@U0BOT1234> can you summarise <this> & that? :tada:";
  expected.reply_ref = "1355517500.000100";
  expected.message_ref = "1355517523.000005";
  expected.platform_message_id = "Ev123ABC456";
  expected.timestamp_ms = 1355517523000;
  expected.is_group = true;
  expected.mentions_bot = true;
  EXPECT_EQ(parsed->messages[0], expected);
}

TEST(SlackParse, DirectMessageWithoutThreadOrProfile) {
  std::string body = R"({"type":"event_callback","event_id":"Ev2","event":{"type":"message",
    "channel":"D024BE91L","user":"U2147483697","text":"hello","ts":"1700000000.123456",
    "channel_type":"im"}})";
  auto parsed = parse_event(kBot, body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const messaging::InboundMessage& m = parsed->messages.at(0);
  EXPECT_EQ(m.chat_jid, "slack:D024BE91L");
  EXPECT_EQ(m.timestamp_ms, 1700000000123);
  EXPECT_FALSE(m.is_group);
  EXPECT_TRUE(m.mentions_bot);  // a DM is addressed to the bot
  EXPECT_EQ(m.reply_ref, "");
  EXPECT_EQ(m.sender_name, "");
}

TEST(SlackParse, MentionRulesUseTheRawText) {
  auto text_of = [](std::string text) {
    return R"({"type":"event_callback","event_id":"E","event":{"type":"message","channel":"C1",
      "user":"U1","ts":"1.0","channel_type":"channel","text":")" +
           text + "\"}}";
  };
  EXPECT_TRUE(parse_event(kBot, text_of("hi <@U0BOT1234|support>"))->messages.at(0).mentions_bot);
  EXPECT_FALSE(parse_event(kBot, text_of("hi <@U0BOT12345>"))->messages.at(0).mentions_bot);
  EXPECT_FALSE(parse_event(kBot, text_of("hi &lt;@U0BOT1234&gt;"))->messages.at(0).mentions_bot);
  EXPECT_FALSE(parse_event(kBot, text_of("plain"))->messages.at(0).mentions_bot);
  EXPECT_FALSE(parse_event(BotIdentity{"x", ""}, text_of("<@U0BOT1234>"))->messages.at(0).mentions_bot);
  // Without channel_type, a D... channel is a DM.
  std::string no_type = R"({"type":"event_callback","event_id":"E","event":{"type":"message",
    "channel":"D1","user":"U1","ts":"1.0","text":"x"}})";
  EXPECT_FALSE(parse_event(kBot, no_type)->messages.at(0).is_group);
}

std::string event_with(std::string fields) {
  return R"({"type":"event_callback","event_id":"EvX","event":{"type":"message","channel":"C1",)" + fields + "}}";
}

TEST(SlackParse, IgnoreRules) {
  auto reason = [](std::string_view body) {
    auto parsed = parse_event(kBot, body);
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    if (!parsed.ok()) return std::string("error");
    EXPECT_TRUE(parsed->messages.empty());
    EXPECT_EQ(parsed->ignored.size(), 1u);
    return parsed->ignored.empty() ? std::string() : parsed->ignored[0].reason;
  };
  EXPECT_EQ(reason(event_with(R"("bot_id":"B1","text":"hi","ts":"1.0")")), "bot_message");
  EXPECT_EQ(reason(event_with(R"("subtype":"bot_message","bot_id":"B1","text":"hi","ts":"1.0")")),
            "subtype:bot_message");
  EXPECT_EQ(reason(event_with(R"("subtype":"message_changed","hidden":true,"ts":"1.0",
      "message":{"text":"edited"})")),
            "subtype:message_changed");
  EXPECT_EQ(reason(event_with(R"("subtype":"message_deleted","ts":"1.0")")), "subtype:message_deleted");
  EXPECT_EQ(reason(event_with(R"("subtype":"channel_join","user":"U1","ts":"1.0")")), "subtype:channel_join");
  EXPECT_EQ(reason(event_with(R"("subtype":7,"ts":"1.0")")), "subtype");
  EXPECT_EQ(reason(event_with(R"("user":"U0BOT1234","text":"my own","ts":"1.0")")), "own_message");
  EXPECT_EQ(reason(event_with(R"("user":"U1","text":"  \n ","ts":"1.0")")), "empty_text");
  EXPECT_EQ(reason(event_with(R"("user":"U1","ts":"1.0")")), "empty_text");
  EXPECT_EQ(reason(R"({"type":"event_callback","event_id":"E","event":{"type":"app_mention",
      "user":"U1","text":"<@U0BOT1234>","ts":"1.0","channel":"C1"}})"),
            "event:app_mention");
  EXPECT_EQ(reason(R"({"type":"app_rate_limited","minute_rate_limited":1518467820})"), "envelope:app_rate_limited");
  EXPECT_EQ(reason(R"({"type":"url_verification","challenge":"x"})"), "envelope:url_verification");
  auto parsed = parse_event(kBot, event_with(R"("bot_id":"B1","ts":"1.0")"));
  EXPECT_EQ(parsed->ignored.at(0).platform_id, "EvX");
}

TEST(SlackParse, HostileInput) {
  auto code = [](std::string_view body) {
    auto parsed = parse_event(kBot, body);
    EXPECT_FALSE(parsed.ok()) << body;
    return parsed.ok() ? std::string("ok") : parsed.error().code;
  };
  EXPECT_EQ(code(""), "channel.malformed_json");
  EXPECT_EQ(code("{"), "channel.malformed_json");
  EXPECT_EQ(code(kBody), "channel.malformed_json");  // a form body on the JSON route
  EXPECT_EQ(code("[]"), "channel.wrong_type");
  EXPECT_EQ(code("\"event_callback\""), "channel.wrong_type");
  EXPECT_EQ(code("{}"), "channel.missing_field");
  EXPECT_EQ(code(R"({"type":5})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"type":"event_callback","event":{"type":"message"}})"), "channel.missing_field");
  EXPECT_EQ(code(R"({"type":"event_callback","event_id":12345678901234567890123,"event":{}})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"type":"event_callback","event_id":"E","event":"message"})"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"type":"event_callback","event_id":"","event":{"type":"message"}})"), "channel.bad_value");
  EXPECT_EQ(code(event_with(R"("user":"U1","text":"x")")), "channel.missing_field");  // no ts
  EXPECT_EQ(code(event_with(R"("user":"U1","text":"x","ts":1355517523.000005)")), "channel.wrong_type");
  EXPECT_EQ(code(event_with(R"("user":"U1","text":"x","ts":"yesterday")")), "channel.bad_value");
  EXPECT_EQ(code(event_with(R"("user":"U1","text":"x","ts":"99999999999999.1")")), "channel.bad_value");
  EXPECT_EQ(code(event_with(R"("user":"U1","text":"x","ts":"1.0","thread_ts":"-1")")), "channel.bad_value");
  EXPECT_EQ(code(event_with(R"("user":"U1","text":["x"],"ts":"1.0")")), "channel.wrong_type");
  EXPECT_EQ(code(event_with(R"("user":"","text":"x","ts":"1.0")")), "channel.bad_value");
  EXPECT_EQ(code(event_with(R"("text":"x","ts":"1.0")")), "channel.missing_field");  // no user
}

TEST(SlackParse, AnEscapedNulInTheTextIsStoredAsAReplacementCharacter) {
  // "\u0000" is valid JSON; a NUL byte could not be stored as PostgreSQL text.
  auto parsed = parse_event(kBot, event_with(R"("user":"U1","text":"a\u0000b","ts":"1.0")"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->messages.size(), 1u);
  EXPECT_EQ(parsed->messages[0].text,
            "a\xEF\xBF\xBD"
            "b");
}

TEST(SlackParse, TimestampsAndUnescaping) {
  EXPECT_EQ(ts_to_unix_ms("1355517523.000005"), 1355517523000);
  EXPECT_EQ(ts_to_unix_ms("1355517523.9"), 1355517523900);
  EXPECT_EQ(ts_to_unix_ms("1355517523"), 1355517523000);
  for (std::string_view bad : {"", ".5", "1.", "1.2.3", "a.1", "1.a", "-1.0", "1234567890123.0", "1.0000000001"})
    EXPECT_FALSE(ts_to_unix_ms(bad).has_value()) << bad;
  EXPECT_EQ(unescape_text("&lt;&gt;&amp;&amp;lt; &quot; &"), "<>&&lt; &quot; &");
}

TEST(SlackParse, SlashCommand) {
  // The published vector's payload has empty text: nothing for an agent to answer.
  auto empty = parse_slash_command(kBot, kBody, 1531420618000);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->messages.empty());
  EXPECT_EQ(empty->ignored.at(0).reason, "empty_text");
  std::string body(kBody);
  body.replace(body.find("&text=&"), 7, "&text=what%27s+up%3F&");
  auto parsed = parse_slash_command(kBot, body, 1531420618123);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  messaging::InboundMessage expected;
  expected.channel = messaging::ChannelKind::slack;
  expected.bot = "support";
  expected.chat_jid = "slack:G8PSS9T3V";
  expected.sender_id = "U2CERLKJA";
  expected.sender_name = "roadrunner";
  expected.text = "what's up?";
  expected.platform_message_id = "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  expected.timestamp_ms = 1531420618123;
  expected.is_group = true;
  expected.mentions_bot = true;
  EXPECT_EQ(parsed->messages.at(0), expected);

  auto bytes = parse_slash_command(kBot, "command=%2Fx&text=%FFok&channel_id=C1&user_id=U%C0&trigger_id=t", 0);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->messages.at(0).text, "\xEF\xBF\xBDok");  // form bytes are not trusted to be UTF-8
  EXPECT_EQ(bytes->messages.at(0).sender_id, "U\xEF\xBF\xBD");

  auto ssl = parse_slash_command(kBot, "ssl_check=1&token=x", 0);
  EXPECT_EQ(ssl->ignored.at(0).reason, "ssl_check");
  auto missing = parse_slash_command(kBot, "command=%2Fx&text=hi&channel_id=C1&user_id=U1", 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "channel.missing_field");
  auto blank = parse_slash_command(kBot, "command=%2Fx&text=hi&channel_id=&user_id=U1&trigger_id=t", 0);
  ASSERT_FALSE(blank.ok());
  EXPECT_EQ(blank.error().code, "channel.bad_value");
}

// Socket Mode delivers the same command as JSON (REFERENCE-websockets.md §2.4): the same
// message as from the form, and the same errors.
TEST(SlackParse, SlashCommandJson) {
  constexpr std::string_view kJson =
      R"({"token":"bHKJ2n9AW6Ju3MjciOHfbA1b","team_id":"T123ABC456","team_domain":"maria","channel_id":"C123ABC456","channel_name":"general","user_id":"U123ABC456","user_name":"rainer","command":"/randorilke","text":"","response_url":"https://rilke.slack.com/commands/T0SNL8S4S/37053613554/YMB2ZESDLNjNLqSFZ1quhNAh","trigger_id":"37053613634.26768298162.440952c06ef4de2653466a48fe495f93"})";
  auto empty = parse_slash_command_json(kBot, kJson, 5);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->messages.empty());
  EXPECT_EQ(empty->ignored.at(0).reason, "empty_text");

  std::string json(kJson);
  json.replace(json.find(R"("text":"")"), 9, R"("text":"what's up?")");
  auto parsed = parse_slash_command_json(kBot, json, 1531420618123);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  messaging::InboundMessage expected;
  expected.channel = messaging::ChannelKind::slack;
  expected.bot = "support";
  expected.chat_jid = "slack:C123ABC456";
  expected.sender_id = "U123ABC456";
  expected.sender_name = "rainer";
  expected.text = "what's up?";
  expected.platform_message_id = "37053613634.26768298162.440952c06ef4de2653466a48fe495f93";
  expected.timestamp_ms = 1531420618123;
  expected.is_group = true;
  expected.mentions_bot = true;
  EXPECT_EQ(parsed->messages.at(0), expected);
  // The same fields as a form give the same message.
  std::string form =
      "channel_id=C123ABC456&channel_name=general&user_id=U123ABC456&user_name=rainer&command=%2Frandorilke"
      "&text=what%27s+up%3F&trigger_id=37053613634.26768298162.440952c06ef4de2653466a48fe495f93";
  EXPECT_EQ(parse_slash_command(kBot, form, 1531420618123)->messages.at(0), expected);

  auto dm = parse_slash_command_json(
      kBot,
      R"({"command":"/x","text":"hi","channel_id":"D1","channel_name":"directmessage","user_id":"U1","trigger_id":"t"})",
      0);
  ASSERT_TRUE(dm.ok());
  EXPECT_FALSE(dm->messages.at(0).is_group);
  auto lone = parse_slash_command_json(
      kBot, R"({"command":"/x","text":"a\udc00","channel_id":"C1","user_id":"U1","trigger_id":"t"})", 0);
  ASSERT_TRUE(lone.ok());
  // Escapes are not trusted to be valid UTF-16: each byte of the lone surrogate is one U+FFFD.
  EXPECT_EQ(lone->messages.at(0).text, "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");

  auto code = [](std::string_view body) {
    auto r = parse_slash_command_json(kBot, body, 0);
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code("command=%2Fx"), "channel.malformed_json");
  EXPECT_EQ(code("[]"), "channel.wrong_type");
  EXPECT_EQ(code(R"({"command":"/x","text":"hi","channel_id":"C1","user_id":"U1"})"), "channel.missing_field");
  EXPECT_EQ(code(R"({"command":"/x","text":"hi","channel_id":"","user_id":"U1","trigger_id":"t"})"),
            "channel.bad_value");
  EXPECT_EQ(code(R"({"command":"/x","text":5,"channel_id":"C1","user_id":"U1","trigger_id":"t"})"),
            "channel.wrong_type");
  EXPECT_EQ(code(R"({"command":["/x"],"text":"hi","channel_id":"C1","user_id":"U1","trigger_id":"t"})"),
            "channel.wrong_type");
}

TEST(SlackOutbound, PostMessage) {
  auto r = build_post_message(Secret{"xoxb-1-2-abc"}, "C123ABC456", "Done & dusted <!channel>", "1355517500.000100");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/api/chat.postMessage");
  EXPECT_EQ(r->log_path, r->path);
  EXPECT_EQ(find_header(r->headers, "authorization"), "Bearer xoxb-1-2-abc");
  EXPECT_EQ(find_header(r->headers, "content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(r->body,
            R"({"channel":"C123ABC456","text":"Done &amp; dusted &lt;!channel&gt;","thread_ts":"1355517500.000100"})");
  auto plain = build_post_message(Secret{"xoxb-1"}, "D1", "line\n\"quoted\"\t\xff");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->body, "{\"channel\":\"D1\",\"text\":\"line\\n\\\"quoted\\\"\\t\xEF\xBF\xBD\"}");
}

TEST(SlackOutbound, RefusesBadInput) {
  auto code = [](Result<OutboundRequest> r) { return r.ok() ? std::string("ok") : r.error().code; };
  Secret token{"xoxb-1"};
  EXPECT_EQ(code(build_post_message(Secret{}, "C1", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_post_message(Secret{"xoxb-1\r\nX-Evil: 1"}, "C1", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_post_message(token, "", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_post_message(token, "C1/../x", "x")), "channel.bad_value");
  EXPECT_EQ(code(build_post_message(token, "C1", " \n")), "channel.bad_value");
  EXPECT_EQ(code(build_post_message(token, "C1", "x", "yesterday")), "channel.bad_value");
  EXPECT_EQ(code(build_post_message(token, "C1", std::string(40000, 'a'))), "ok");
  EXPECT_EQ(code(build_post_message(token, "C1", std::string(40001, 'a'))), "channel.bad_value");
}

TEST(SlackOutbound, ClassifiesAnswers) {
  auto classify = [](int status, std::string body, std::vector<Header> headers = {}) {
    return classify_response({status, headers, body});
  };
  auto ok = classify(200, R"({"ok":true,"channel":"C1","ts":"1503435956.000247","message":{}})");
  EXPECT_EQ(ok.kind, Kind::success);
  EXPECT_EQ(ok.delivered_id, "1503435956.000247");
  for (std::string err : {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "channel_not_found",
                          "not_in_channel", "is_archived", "msg_too_long", "something_new"}) {
    auto o = classify(200, R"({"ok":false,"error":")" + err + "\"}");
    EXPECT_EQ(o.kind, Kind::permanent) << err;
    EXPECT_EQ(o.reason, err);
  }
  EXPECT_EQ(classify(200, R"({"ok":false})").reason, "unknown_error");
  for (std::string err : {"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
    EXPECT_EQ(classify(200, R"({"ok":false,"error":")" + err + "\"}").kind, Kind::transient) << err;
  auto limited = classify(200, R"({"ok":false,"error":"ratelimited"})", {{"Retry-After", "7"}});
  EXPECT_EQ(limited.kind, Kind::retry_after);
  EXPECT_EQ(limited.retry_after, std::chrono::milliseconds(7000));
  auto http429 = classify(429, "", {{"Retry-After", "30"}});
  EXPECT_EQ(http429.kind, Kind::retry_after);
  EXPECT_EQ(http429.retry_after, std::chrono::milliseconds(30000));
  EXPECT_EQ(classify(429, "", {{"Retry-After", "soon"}}).retry_after, kDefaultRetryAfter);
  EXPECT_EQ(classify(500, "oops").kind, Kind::transient);
  EXPECT_EQ(classify(503, "").reason, "http_503");
  EXPECT_EQ(classify(404, "").kind, Kind::permanent);
  EXPECT_EQ(classify(403, R"({"ok":false,"error":"invalid_auth"})").kind, Kind::permanent);
  EXPECT_EQ(classify(200, "<html>proxy</html>").reason, "bad_response");
  EXPECT_EQ(classify(200, "<html>proxy</html>").kind, Kind::transient);
  EXPECT_EQ(classify(200, R"({"ok":"yes"})").kind, Kind::transient);
}

}  // namespace
}  // namespace sb::channels::slack
