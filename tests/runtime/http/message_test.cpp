#include "runtime/http/message.hpp"

#include <gtest/gtest.h>

namespace sb::http {
namespace {

TEST(HttpMessage, HeaderLookupIsCaseInsensitive) {
  Request r;
  r.headers = {{"Content-Type", "text/plain"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.header("X-a"), "1");  // first one wins
  EXPECT_FALSE(r.header("missing").has_value());
}

TEST(HttpMessage, QueryParamsAreDecoded) {
  Request r;
  r.query = "a=1&name=hello+world%21&empty=&flag&enc%20key=v&a=2&bad=%zz";
  EXPECT_EQ(r.query_param("a"), "1");
  EXPECT_EQ(r.query_param("name"), "hello world!");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_EQ(r.query_param("enc key"), "v");
  EXPECT_EQ(r.query_param("bad"), "%zz");
  EXPECT_FALSE(r.query_param("nope").has_value());
}

TEST(HttpMessage, PercentDecode) {
  EXPECT_EQ(percent_decode("a%2Fb%2fc"), "a/b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
}

TEST(HttpMessage, ErrorBodyShape) {
  const Response r = Response::error(404, "not_found", "no route");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no route"}})");
}

TEST(HttpMessage, ErrorBodyIsEscaped) {
  const Response r = Response::error(400, "bad", "quote \" back \\ nl \n ctl \x01 utf8 \xc3\xa9 bad \xff");
  EXPECT_EQ(r.body, R"({"error":{"code":"bad","message":"quote \" back \\ nl \n ctl \u0001 utf8 )"
                    "\xc3\xa9"
                    R"( bad \ufffd"}})");
}

TEST(HttpMessage, JsonEscapeRejectsMalformedUtf8) {
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // surrogate
  EXPECT_EQ(json_escape("\xc0\xaf"), "\\ufffd\\ufffd");             // overlong
  EXPECT_EQ(json_escape("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");   // emoji kept
  EXPECT_EQ(json_escape("\xe2\x82"), "\\ufffd\\ufffd");             // truncated
  EXPECT_EQ(json_escape("\t\r\b\f\x7f"), "\\t\\r\\b\\f\\u007f");
}

TEST(HttpMessage, Factories) {
  const Response j = Response::json(201, "{}");
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.header("Content-Type"), "application/json");
  const Response t = Response::text(200, "hi");
  EXPECT_EQ(t.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(t.body, "hi");
}

TEST(HttpMessage, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(413), "Payload Too Large");
  EXPECT_EQ(reason_phrase(299), "Unknown");
}

}  // namespace
}  // namespace sb::http
