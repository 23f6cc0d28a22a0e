// Slack Socket Mode frames: hello, disconnect reasons, the three envelope types (golden
// payloads from Slack's documentation and its SDK's mock server), the acknowledgement's
// escaping, and hostile frames that must give stable errors.
#include "channels/slack/socket_mode_envelope.hpp"

#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "channels/slack/parse.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::channels::slack::socket_mode {
namespace {

// REFERENCE-websockets.md §2.4: python-slack-sdk tests/slack_sdk/socket_mode/mock_socket_mode_server.py.
constexpr std::string_view kSmGoldenEvent =
    R"({"envelope_id":"ac2cfd40-6f8c-4d5e-a1ad-646e532baa19","payload":{"token":"verification-token","team_id":"T111","api_app_id":"A111","event":{"client_msg_id":"f0582a78-72db-4feb-b2f3-1e47d66365c8","type":"message","text":"<@U111> Hi here!","user":"U222","ts":"1610241741.000200","team":"T111","channel":"C111","event_ts":"1610241741.000200","channel_type":"channel"},"type":"event_callback","event_id":"Ev111","event_time":1610241741,"authorizations":[{"enterprise_id":null,"team_id":"T111","user_id":"U333","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"1-message-T111-C111"},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""})";

// REFERENCE-websockets.md §2.4: docs.slack.dev using-socket-mode, slash commands.
constexpr std::string_view kSmGoldenSlash =
    R"({"payload":{"token":"bHKJ2n9AW6Ju3MjciOHfbA1b","team_id":"T123ABC456","team_domain":"maria","channel_id":"C123ABC456","channel_name":"general","user_id":"U123ABC456","user_name":"rainer","command":"/randorilke","text":"","response_url":"https://rilke.slack.com/commands/T0SNL8S4S/37053613554/YMB2ZESDLNjNLqSFZ1quhNAh","trigger_id":"37053613634.26768298162.440952c06ef4de2653466a48fe495f93"},"envelope_id":"dbdd0ef3-1543-4f94-bfb4-133d0e6c1545","type":"slash_commands","accepts_response_payload":true})";

Frame sm_frame(std::string_view text) {
  auto f = parse_frame(text);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().code + ": " + f.error().message);
  return f.ok() ? std::move(f).value() : Frame{Control{}};
}

std::string sm_error(std::string_view text) {
  auto f = parse_frame(text);
  return f.ok() ? std::string("ok") : f.error().code;
}

TEST(SocketModeEnvelope, Hello) {
  Frame f = sm_frame(
      R"({"type":"hello","connection_info":{"app_id":"A1234"},"num_connections":2,"debug_info":{"host":"applink-1","started":"2020-10-11 12:12:12.120","build_number":54,"approximate_connection_time":18060}})");
  ASSERT_TRUE(std::holds_alternative<Hello>(f));
  EXPECT_EQ(std::get<Hello>(f).num_connections, 2);
  EXPECT_EQ(std::get<Hello>(f).approximate_connection_time_s, 18060);

  Frame bare = sm_frame(R"({"type":"hello"})");
  ASSERT_TRUE(std::holds_alternative<Hello>(bare));
  EXPECT_FALSE(std::get<Hello>(bare).num_connections);
  EXPECT_FALSE(std::get<Hello>(bare).approximate_connection_time_s);
  EXPECT_EQ(sm_error(R"({"type":"hello","num_connections":"2"})"), "channel.wrong_type");
  EXPECT_EQ(sm_error(R"({"type":"hello","debug_info":[]})"), "channel.wrong_type");
}

TEST(SocketModeEnvelope, DisconnectReasons) {
  auto reason = [](std::string_view text) {
    Frame f = sm_frame(text);
    EXPECT_TRUE(std::holds_alternative<Disconnect>(f)) << text;
    return std::holds_alternative<Disconnect>(f) ? std::get<Disconnect>(f) : Disconnect{};
  };
  EXPECT_EQ(
      reason(R"({"type":"disconnect","reason":"link_disabled","debug_info":{"host":"wss-111.slack.com"}})").reason,
      DisconnectReason::link_disabled);
  EXPECT_EQ(reason(R"({"type":"disconnect","reason":"warning","debug_info":{"host":"wss-111.slack.com"}})").reason,
            DisconnectReason::warning);
  EXPECT_EQ(reason(R"({"type" : "disconnect", "reason": "refresh_requested"})").reason,
            DisconnectReason::refresh_requested);
  EXPECT_EQ(reason(R"({"type":"disconnect","reason":"too_many_websockets","num_connections":2})").reason,
            DisconnectReason::too_many_websockets);
  Disconnect novel = reason(R"({"type":"disconnect","reason":"maintenance"})");
  EXPECT_EQ(novel.reason, DisconnectReason::unknown);
  EXPECT_EQ(novel.reason_text, "maintenance");
  EXPECT_EQ(reason(R"({"type":"disconnect"})").reason, DisconnectReason::unknown);
  EXPECT_EQ(reason(R"({"type":"disconnect","reason":")" + std::string(5000, 'x') + R"("})").reason_text.size(), 64u);
  EXPECT_EQ(sm_error(R"({"type":"disconnect","reason":7})"), "channel.wrong_type");
  EXPECT_EQ(to_string(DisconnectReason::too_many_websockets), "too_many_websockets");
}

TEST(SocketModeEnvelope, GoldenEventsApiFeedsParseEvent) {
  Frame f = sm_frame(kSmGoldenEvent);
  ASSERT_TRUE(std::holds_alternative<Envelope>(f));
  const Envelope& e = std::get<Envelope>(f);
  EXPECT_EQ(e.type, EnvelopeType::events_api);
  EXPECT_EQ(e.envelope_id, "ac2cfd40-6f8c-4d5e-a1ad-646e532baa19");
  EXPECT_FALSE(e.accepts_response_payload);
  EXPECT_EQ(e.retry_attempt, 0);
  EXPECT_EQ(e.retry_reason, "");
  auto d = parse_event(BotIdentity{"work", "U333"}, e.payload_json);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->messages.size(), 1u);
  EXPECT_EQ(d->messages[0].platform_message_id, "Ev111");
  EXPECT_EQ(d->messages[0].chat_jid, "slack:C111");
  EXPECT_EQ(d->messages[0].text, "<@U111> Hi here!");
  EXPECT_EQ(d->messages[0].timestamp_ms, 1610241741000);
}

TEST(SocketModeEnvelope, RetriedEnvelope) {
  Frame f = sm_frame(
      R"({"envelope_id":"e-2","type":"events_api","retry_attempt":2,"retry_reason":"timeout","payload":{"type":"event_callback"}})");
  ASSERT_TRUE(std::holds_alternative<Envelope>(f));
  EXPECT_EQ(std::get<Envelope>(f).retry_attempt, 2);
  EXPECT_EQ(std::get<Envelope>(f).retry_reason, "timeout");
  EXPECT_EQ(std::get<Envelope>(f).payload_json, R"({"type":"event_callback"})");
}

TEST(SocketModeEnvelope, GoldenSlashCommandAndInteractive) {
  Frame f = sm_frame(kSmGoldenSlash);
  ASSERT_TRUE(std::holds_alternative<Envelope>(f));
  const Envelope& slash = std::get<Envelope>(f);
  EXPECT_EQ(slash.type, EnvelopeType::slash_commands);
  EXPECT_EQ(slash.envelope_id, "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545");
  EXPECT_TRUE(slash.accepts_response_payload);
  rapidjson::Document payload;
  payload.Parse(slash.payload_json.c_str());
  ASSERT_TRUE(payload.IsObject());
  EXPECT_STREQ(payload["command"].GetString(), "/randorilke");

  Frame i = sm_frame(
      R"({"envelope_id":"i-1","type":"interactive","accepts_response_payload":false,"payload":{"type":"block_actions","user":{"id":"U1"}}})");
  ASSERT_TRUE(std::holds_alternative<Envelope>(i));
  EXPECT_EQ(std::get<Envelope>(i).type, EnvelopeType::interactive);
}

TEST(SocketModeEnvelope, UnknownTypes) {
  Frame with_id = sm_frame(R"({"envelope_id":"u-1","type":"workflow_step","payload":[1,2]})");
  ASSERT_TRUE(std::holds_alternative<Envelope>(with_id));
  EXPECT_EQ(std::get<Envelope>(with_id).type, EnvelopeType::unknown);
  EXPECT_EQ(std::get<Envelope>(with_id).type_text, "workflow_step");
  EXPECT_EQ(std::get<Envelope>(with_id).payload_json, "[1,2]");

  Frame control = sm_frame(R"({"type":"something_new"})");
  ASSERT_TRUE(std::holds_alternative<Control>(control));
  EXPECT_EQ(std::get<Control>(control).type_text, "something_new");
}

TEST(SocketModeEnvelope, AckIsEscapedJson) {
  EXPECT_EQ(ack_frame("dbdd0ef3-1543-4f94-bfb4-133d0e6c1545"),
            R"({"envelope_id":"dbdd0ef3-1543-4f94-bfb4-133d0e6c1545"})");
  for (std::string id : {std::string("a\"b\\c"), std::string("line\nbreak\t\x01"), std::string("\xc3\xa9t\xc3\xa9"),
                         std::string("</script>")}) {
    std::string ack = ack_frame(id);
    rapidjson::Document doc;
    doc.Parse(ack.c_str(), ack.size());
    ASSERT_FALSE(doc.HasParseError()) << ack;
    ASSERT_TRUE(doc.IsObject() && doc.MemberCount() == 1 && doc["envelope_id"].IsString()) << ack;
    EXPECT_EQ(std::string(doc["envelope_id"].GetString(), doc["envelope_id"].GetStringLength()), id);
  }
  EXPECT_EQ(ack_frame("a\"b"), R"({"envelope_id":"a\"b"})");
}

TEST(SocketModeEnvelope, HostileFramesGiveStableErrors) {
  EXPECT_EQ(sm_error(""), "channel.malformed_json");
  EXPECT_EQ(sm_error("not json"), "channel.malformed_json");
  EXPECT_EQ(sm_error(R"({"type":"hello"} trailing)"), "channel.malformed_json");
  EXPECT_EQ(sm_error(std::string("{\"type\":\"hello\"}\0x", 18)), "channel.malformed_json");
  EXPECT_EQ(sm_error("{\"type\":\"hel\xff\"}"), "channel.malformed_json");
  EXPECT_EQ(sm_error("[]"), "channel.wrong_type");
  EXPECT_EQ(sm_error("\"hello\""), "channel.wrong_type");
  EXPECT_EQ(sm_error("{}"), "channel.missing_field");
  EXPECT_EQ(sm_error(R"({"type":null})"), "channel.missing_field");
  EXPECT_EQ(sm_error(R"({"type":42})"), "channel.wrong_type");
  // Envelope ids: required for the known types, a non-empty short printable string.
  EXPECT_EQ(sm_error(R"({"type":"events_api","payload":{}})"), "channel.missing_field");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":7,"payload":{}})"), "channel.wrong_type");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"","payload":{}})"), "channel.bad_value");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":")" + std::string(257, 'a') + R"(","payload":{}})"),
            "channel.bad_value");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":")" + std::string(256, 'a') + R"(","payload":{}})"), "ok");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"a\nb","payload":{}})"), "channel.bad_value");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"a\u0000b","payload":{}})"), "channel.bad_value");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"\udc00","payload":{}})"), "channel.bad_value");
  // Payloads and metadata.
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"e"})"), "channel.missing_field");
  EXPECT_EQ(sm_error(R"({"type":"slash_commands","envelope_id":"e","payload":"x=1"})"), "channel.wrong_type");
  EXPECT_EQ(sm_error(R"({"type":"interactive","envelope_id":"e","payload":[]})"), "channel.wrong_type");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"e","payload":{},"retry_attempt":"1"})"),
            "channel.wrong_type");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"e","payload":{},"retry_attempt":-1})"),
            "channel.bad_value");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"e","payload":{},"retry_attempt":1e99})"),
            "channel.wrong_type");
  EXPECT_EQ(sm_error(R"({"type":"events_api","envelope_id":"e","payload":{},"accepts_response_payload":"yes"})"),
            "channel.wrong_type");
  // Size and depth limits.
  std::string huge =
      R"({"type":"events_api","envelope_id":"e","payload":{"text":")" + std::string(kMaxFrameBytes, 'x') + R"("}})";
  EXPECT_EQ(sm_error(huge), "channel.bad_value");
  std::string deep = R"({"type":"events_api","envelope_id":"e","payload":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  EXPECT_EQ(sm_error(deep), "channel.bad_value");
  // Brackets inside strings (escaped quotes included) do not count as nesting.
  std::string brackets =
      R"({"type":"events_api","envelope_id":"e","payload":{"t":"\"[[[[)" + std::string(1000, '[') + R"("}})";
  EXPECT_EQ(sm_error(brackets), "ok");
}

TEST(SocketModeEnvelope, LoneSurrogateInPayloadStillParses) {
  // A JSON escape may decode to a lone surrogate; the re-serialised payload must still be
  // valid UTF-8 so parse_event can read the rest of the message.
  Frame f = sm_frame(
      R"({"envelope_id":"e-1","type":"events_api","payload":{"type":"event_callback","event_id":"Ev9","event":{"type":"message","text":"hi \udc00 there","user":"U2","ts":"1610241741.000200","channel":"C1"}}})");
  ASSERT_TRUE(std::holds_alternative<Envelope>(f));
  const std::string& payload = std::get<Envelope>(f).payload_json;
  EXPECT_TRUE(utf8::is_valid(payload));
  auto d = parse_event(BotIdentity{"work", "U333"}, payload);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->messages.size(), 1u);
  EXPECT_TRUE(d->messages[0].text.starts_with("hi "));
  EXPECT_TRUE(d->messages[0].text.ends_with(" there"));
}

}  // namespace
}  // namespace sb::channels::slack::socket_mode
