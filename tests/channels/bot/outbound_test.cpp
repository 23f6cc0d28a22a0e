// Retry-After parsing and classification by HTTP status.
#include "channels/bot/outbound.hpp"

#include <gtest/gtest.h>

namespace sb::channels {
namespace {

using std::chrono::milliseconds;
using Kind = DeliveryOutcome::Kind;

TEST(ChannelRetryAfter, ParsesSecondsStrictly) {
  EXPECT_EQ(parse_retry_seconds("3"), milliseconds(3000));
  EXPECT_EQ(parse_retry_seconds(" 0.25 "), milliseconds(250));
  EXPECT_EQ(parse_retry_seconds("1.0001"), milliseconds(1001));  // rounded up
  EXPECT_EQ(parse_retry_seconds("0"), milliseconds(0));
  EXPECT_EQ(parse_retry_seconds(".5"), milliseconds(500));
  for (std::string_view bad : {"", " ", "-1", "1e3", "abc", "1.2.3", ".", "Wed, 21 Oct 2015 07:28:00 GMT"})
    EXPECT_FALSE(parse_retry_seconds(bad).has_value()) << bad;
}

TEST(ChannelRetryAfter, HugeValuesAreClamped) {
  EXPECT_EQ(parse_retry_seconds("99999999"), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_seconds(std::string(400, '9')), kMaxRetryAfter);  // overflows a double
  EXPECT_EQ(clamp_retry(1e308), kMaxRetryAfter);
  EXPECT_EQ(clamp_retry(-5), milliseconds(0));
  EXPECT_EQ(clamp_retry(std::numeric_limits<double>::quiet_NaN()), milliseconds(0));
  EXPECT_EQ(clamp_retry(std::numeric_limits<double>::infinity()), kMaxRetryAfter);
}

TEST(ChannelClassify, ByStatus) {
  std::vector<Header> retry{{"retry-after", "7"}};
  EXPECT_EQ(classify_by_status({200, {}, ""}).kind, Kind::success);
  EXPECT_EQ(classify_by_status({204, {}, ""}).kind, Kind::success);
  auto limited = classify_by_status({429, retry, ""});
  EXPECT_EQ(limited.kind, Kind::retry_after);
  EXPECT_EQ(limited.retry_after, milliseconds(7000));
  EXPECT_EQ(classify_by_status({429, {}, ""}).retry_after, kDefaultRetryAfter);
  EXPECT_EQ(classify_by_status({500, {}, ""}).kind, Kind::transient);
  EXPECT_EQ(classify_by_status({503, {}, ""}).reason, "http_503");
  EXPECT_EQ(classify_by_status({408, {}, ""}).kind, Kind::transient);
  EXPECT_EQ(classify_by_status({400, {}, ""}).kind, Kind::permanent);
  EXPECT_EQ(classify_by_status({401, {}, ""}).kind, Kind::permanent);
  EXPECT_EQ(classify_by_status({404, {}, ""}).kind, Kind::permanent);
  EXPECT_EQ(classify_by_status({301, {}, ""}).kind, Kind::permanent);
  EXPECT_EQ(classify_by_status({0, {}, ""}).kind, Kind::transient);
  EXPECT_EQ(network_failure("connect refused").reason, "network");
  EXPECT_EQ(network_failure("connect refused").kind, Kind::transient);
}

}  // namespace
}  // namespace sb::channels
