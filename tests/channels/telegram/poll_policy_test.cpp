// What one getUpdates answer means for the poller, and how long it waits after it.
#include "channels/telegram/poll_policy.hpp"

#include <gtest/gtest.h>

#include "runtime/messaging/stored_message.hpp"
#include "tests/channels/telegram/poller_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using sb::channels::telegram::judge_poll;
using sb::channels::telegram::poll_delay;
using sb::channels::telegram::PollVerdict;
using Wait = PollVerdict::Wait;

struct Case {
  const char* name;
  int status;
  std::string body;
  std::string result;
  Wait wait;
};

PollVerdict judge(int status, const std::string& body, std::vector<sb::channels::Header> headers = {}) {
  static auto bot = sb::test::make_polling_bot("http://127.0.0.1:1");
  return judge_poll(*bot, sb::channels::HttpReply{status, headers, body});
}

TEST(TelegramPollPolicy, JudgesEveryKindOfAnswer) {
  const std::vector<Case> cases = {
      {"updates", 200, R"({"ok":true,"result":[)" + sb::test::update_json(7, "hi") + "]}", "ok", Wait::none},
      {"long poll ended empty", 200, R"({"ok":true,"result":[]})", "empty", Wait::none},
      {"only an ignored update still moves on", 200, R"({"ok":true,"result":[{"update_id":9,"poll":{}}]})", "ok",
       Wait::none},
      {"server error", 500, R"({"ok":false,"error_code":500,"description":"Internal"})", "server_error", Wait::backoff},
      {"gateway html", 502, "<html>bad gateway</html>", "server_error", Wait::backoff},
      {"bad token", 401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})", "refused", Wait::slow},
      {"webhook set", 409,
       R"({"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active"})",
       "refused", Wait::slow},
      {"ok:false in a 200", 200, R"({"ok":false,"error_code":400,"description":"Bad Request"})", "refused", Wait::slow},
      {"garbage in a 200", 200, "<html>", "malformed", Wait::backoff},
      {"result not an array", 200, R"({"ok":true,"result":{}})", "malformed", Wait::backoff},
      {"truncated JSON", 200, R"({"ok":true,"result":[)", "malformed", Wait::backoff},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto v = judge(c.status, c.body);
    EXPECT_EQ(v.result, c.result);
    EXPECT_EQ(v.wait, c.wait);
    EXPECT_EQ(v.batch.has_value(), c.wait == Wait::none);
  }
}

TEST(TelegramPollPolicy, UpdatesBecomeMessagesAndTheNextOffset) {
  auto v = judge(
      200, R"({"ok":true,"result":[)" + sb::test::update_json(7, "a") + "," + sb::test::update_json(8, "b") + "]}");
  ASSERT_TRUE(v.batch);
  ASSERT_EQ(v.batch->delivery.messages.size(), 2u);
  EXPECT_EQ(v.batch->next_offset, 9);
  auto m = sb::messaging::to_stored(v.batch->delivery.messages[1]);
  EXPECT_EQ(m.channel, "telegram");
  EXPECT_EQ(m.bot, "main");
  EXPECT_EQ(m.chat_jid, "tg:42");
  EXPECT_EQ(m.sender_id, "42");
  EXPECT_EQ(m.text, "b");
  EXPECT_EQ(m.platform_message_id, "42:1008");  // chat:message (L3)
  EXPECT_EQ(m.id, 0);
  EXPECT_TRUE(m.mentions_bot);  // a private chat addresses the bot
  EXPECT_FALSE(m.is_group);

  auto empty = judge(200, R"({"ok":true,"result":[]})");
  ASSERT_TRUE(empty.batch);
  EXPECT_FALSE(empty.batch->next_offset);
}

TEST(TelegramPollPolicy, RateLimitWaitsAsAsked) {
  auto v = judge(429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7",)"
                      R"("parameters":{"retry_after":7}})");
  EXPECT_EQ(v.result, "rate_limited");
  EXPECT_EQ(v.wait, Wait::fixed);
  EXPECT_EQ(v.retry_after, 7000ms);
  EXPECT_EQ(poll_delay(v.wait, 1, v.retry_after, 1000ms, 300000ms), 7000ms);
}

TEST(TelegramPollPolicy, ConflictSaysAWebhookIsSet) {
  auto v = judge(409, R"({"ok":false,"error_code":409})");
  EXPECT_EQ(v.reason, "conflict");
  EXPECT_NE(v.detail.find("deleteWebhook"), std::string::npos);
}

TEST(TelegramPollPolicy, NetworkFailureBacksOff) {
  auto v = sb::channels::telegram::network_verdict("http.connect", "refused");
  EXPECT_EQ(v.result, "network");
  EXPECT_EQ(v.wait, Wait::backoff);
  EXPECT_FALSE(v.batch);
}

TEST(TelegramPollPolicy, DelaysGrowExponentiallyAndAreCapped) {
  EXPECT_EQ(poll_delay(Wait::none, 3, 0ms, 1000ms, 300000ms), 0ms);
  EXPECT_EQ(poll_delay(Wait::backoff, 1, 0ms, 1000ms, 300000ms), 1000ms);
  EXPECT_EQ(poll_delay(Wait::backoff, 2, 0ms, 1000ms, 300000ms), 2000ms);
  EXPECT_EQ(poll_delay(Wait::backoff, 4, 0ms, 1000ms, 300000ms), 8000ms);
  EXPECT_EQ(poll_delay(Wait::backoff, 9, 0ms, 1000ms, 300000ms), 256000ms);
  EXPECT_EQ(poll_delay(Wait::backoff, 10, 0ms, 1000ms, 300000ms), 300000ms);
  EXPECT_EQ(poll_delay(Wait::backoff, 1000000, 0ms, 1000ms, 300000ms), 300000ms);  // no overflow
  EXPECT_EQ(poll_delay(Wait::slow, 1, 0ms, 1000ms, 300000ms), 300000ms);
  // Odd inputs never make a zero or negative wait (no spinning).
  EXPECT_EQ(poll_delay(Wait::backoff, 0, 0ms, 1000ms, 300000ms), 1000ms);
  EXPECT_EQ(poll_delay(Wait::backoff, -5, 0ms, 0ms, 0ms), 1ms);
  EXPECT_EQ(poll_delay(Wait::fixed, 1, 0ms, 50ms, 1000ms), 50ms);
  EXPECT_EQ(poll_delay(Wait::backoff, 3, 0ms, 500ms, 100ms), 500ms);  // max below base: base wins
}

}  // namespace
