// The Gateway wire format: received envelopes and the heartbeat/identify/resume payloads.
#include "channels/discord/gateway_payload.hpp"

#include <gtest/gtest.h>

namespace sb::channels::discord {
namespace {

TEST(DiscordGatewayPayload, ParsesDispatchAndControlFrames) {
  auto f = parse_frame(R"({"op":0,"s":42,"t":"MESSAGE_CREATE","d":{"id":"1"}})");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->op, 0);
  EXPECT_EQ(f->seq, 42);
  EXPECT_EQ(f->event, "MESSAGE_CREATE");
  ASSERT_NE(f->data(), nullptr);
  EXPECT_TRUE(f->data()->IsObject());

  auto ack = parse_frame(R"({"op":11})");
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->op, 11);
  EXPECT_FALSE(ack->seq.has_value());
  EXPECT_EQ(ack->data(), nullptr);

  auto nulls = parse_frame(R"({"op":7,"d":null,"s":null,"t":null})");
  ASSERT_TRUE(nulls.ok());
  EXPECT_EQ(nulls->data(), nullptr);
  EXPECT_EQ(nulls->event, "");
}

TEST(DiscordGatewayPayload, HostileFramesAreErrors) {
  struct Case {
    std::string_view text;
    std::string_view code;
  };
  for (const Case& c : {Case{"", "channel.malformed_json"}, Case{"{", "channel.malformed_json"},
                        Case{"[1]", "channel.wrong_type"}, Case{R"({"d":1})", "channel.missing_field"},
                        Case{R"({"op":"0"})", "channel.wrong_type"}, Case{R"({"op":0,"s":"1"})", "channel.wrong_type"},
                        Case{R"({"op":0,"t":5})", "channel.wrong_type"}, Case{R"({"op":1.5})", "channel.wrong_type"}}) {
    auto f = parse_frame(c.text);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.error().code, c.code) << c.text;
  }
}

TEST(DiscordGatewayPayload, WritesTheThreePayloads) {
  EXPECT_EQ(heartbeat_payload(std::nullopt), R"({"op":1,"d":null})");
  EXPECT_EQ(heartbeat_payload(251), R"({"op":1,"d":251})");
  EXPECT_EQ(identify_payload(Secret("tok.en-1"), 37377, {}),
            R"({"op":2,"d":{"token":"tok.en-1","intents":37377,"properties":{"os":"linux","browser":"squadbox",)"
            R"("device":"squadbox"}}})");
  EXPECT_EQ(resume_payload(Secret("t"), "abc", 1337), R"({"op":6,"d":{"token":"t","session_id":"abc","seq":1337}})");
  // Strings are JSON-escaped, never pasted.
  IdentifyProperties odd{"li\"nux", "b", "d"};
  EXPECT_NE(identify_payload(Secret("t"), 1, odd).find(R"("os":"li\"nux")"), std::string::npos);
}

}  // namespace
}  // namespace sb::channels::discord
