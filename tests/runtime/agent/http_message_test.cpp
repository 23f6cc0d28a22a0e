// The agent's pure HTTP/1.1 pieces: request building (no header injection) and the
// incremental response parser (lengths, chunks, EOF bodies, bad and truncated input).
#include "runtime/agent/http_message.hpp"

#include <gtest/gtest.h>

namespace {

using sb::agent::build_http_request;
using sb::agent::HttpResponseParser;
using State = HttpResponseParser::State;

// Feeds `bytes` in pieces of `step` bytes, then EOF if asked.
HttpResponseParser parse(std::string_view bytes, size_t step = 0, bool eof = false, size_t max_body = 1 << 20) {
  HttpResponseParser p(max_body, 4096);
  if (step == 0) step = bytes.size() ? bytes.size() : 1;
  for (size_t i = 0; i < bytes.size() && p.state() == State::need_more; i += step) p.feed(bytes.substr(i, step));
  if (eof) p.finish();
  return p;
}

TEST(HttpRequest, BuildsRequestLineHeadersAndLength) {
  auto r = build_http_request("POST", "/anthropic/v1/messages",
                              {{"x-api-key", "tok"}, {"content-type", "application/json"}}, R"({"a":1})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            "POST /anthropic/v1/messages HTTP/1.1\r\nx-api-key: tok\r\ncontent-type: application/json\r\n"
            "content-length: 7\r\n\r\n{\"a\":1}");
}

TEST(HttpRequest, RefusesLineBreaksAndBadNames) {
  EXPECT_EQ(build_http_request("POST", "/x", {{"x-api-key", "tok\r\nx-evil: 1"}}, "").error().code, "http.bad_request");
  EXPECT_FALSE(build_http_request("POST", "/x", {{"x-api-key", std::string("a\0b", 3)}}, "").ok());
  EXPECT_FALSE(build_http_request("POST", "/x", {{"bad name", "v"}}, "").ok());
  EXPECT_FALSE(build_http_request("POST", "/x", {{"", "v"}}, "").ok());
  EXPECT_FALSE(build_http_request("POST", "x", {}, "").ok());
  EXPECT_FALSE(build_http_request("POST", "/a b", {}, "").ok());
  EXPECT_FALSE(build_http_request("POST", "/a\r\n", {}, "").ok());
  EXPECT_FALSE(build_http_request("PO ST", "/a", {}, "").ok());
}

TEST(HttpResponse, ContentLengthInAnySplit) {
  const std::string raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\nhello world";
  for (size_t step : {size_t(1), size_t(2), size_t(7), raw.size()}) {
    auto p = parse(raw, step);
    ASSERT_EQ(p.state(), State::done) << step;
    EXPECT_EQ(p.response().status, 200);
    EXPECT_EQ(p.response().reason, "OK");
    EXPECT_EQ(p.response().body, "hello world");
    EXPECT_EQ(p.response().header("content-type"), "application/json");
    EXPECT_EQ(p.response().header("x-missing"), std::nullopt);
  }
}

TEST(HttpResponse, ChunkedWithExtensionsAndTrailers) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=x\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
  for (size_t step : {size_t(1), size_t(3), raw.size()}) {
    auto p = parse(raw, step);
    ASSERT_EQ(p.state(), State::done) << step << " " << (p.state() == State::failed ? p.error().message : "");
    EXPECT_EQ(p.response().body, "hello 0123456789");
  }
}

TEST(HttpResponse, TransferEncodingWinsOverContentLength) {
  auto p =
      parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
  ASSERT_EQ(p.state(), State::done);
  EXPECT_EQ(p.response().body, "ok");
}

TEST(HttpResponse, BodyUntilEofWithoutLength) {
  auto p = parse("HTTP/1.0 502 Bad Gateway\r\n\r\n{\"error\":1}", 4);
  EXPECT_EQ(p.state(), State::need_more);
  EXPECT_EQ(p.finish(), State::done);
  EXPECT_EQ(p.response().status, 502);
  EXPECT_EQ(p.response().body, "{\"error\":1}");
}

TEST(HttpResponse, InterimResponsesAreSkippedAndNoBodyStatuses) {
  auto p = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(p.state(), State::done);
  EXPECT_EQ(p.response().status, 201);
  EXPECT_EQ(p.response().body, "ok");
  auto q = parse("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_EQ(q.state(), State::done);
  EXPECT_TRUE(q.response().body.empty());
  auto r = parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");  // no reason phrase
  ASSERT_EQ(r.state(), State::done);
  EXPECT_EQ(r.response().reason, "");
}

TEST(HttpResponse, BareLfLineEndingsAreTolerated) {
  auto p = parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
  ASSERT_EQ(p.state(), State::done);
  EXPECT_EQ(p.response().body, "ok");
}

TEST(HttpResponse, TruncatedInputFailsAtEof) {
  struct Case {
    const char* raw;
    const char* what;
  } cases[] = {
      {"", "before any response"},
      {"HTTP/1.1 200 OK\r\nContent-Le", "inside the response head"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "got 5 bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "got 3 bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "body"},  // no last chunk
  };
  for (const auto& c : cases) {
    auto p = parse(c.raw, 0, /*eof=*/true);
    ASSERT_EQ(p.state(), State::failed) << c.raw;
    EXPECT_EQ(p.error().code, "http.truncated") << c.raw;
    EXPECT_NE(p.error().message.find(c.what), std::string::npos) << p.error().message;
  }
}

TEST(HttpResponse, MalformedInputFails) {
  const char* cases[] = {
      "SMTP ready\r\n\r\n",
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.1 999 Nope\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
  };
  for (const char* raw : cases) {
    auto p = parse(raw);
    ASSERT_EQ(p.state(), State::failed) << raw;
    EXPECT_EQ(p.error().code, "http.malformed") << raw << " -> " << p.error().message;
  }
}

TEST(HttpResponse, LimitsOnHeadAndBody) {
  auto head = parse("HTTP/1.1 200 OK\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n");
  ASSERT_EQ(head.state(), State::failed);
  EXPECT_EQ(head.error().code, "http.too_large");
  auto endless = parse("HTTP/1.1 200 OK\r\nX: " + std::string(5000, 'a'));  // no line end at all
  ASSERT_EQ(endless.state(), State::failed);
  EXPECT_EQ(endless.error().code, "http.too_large");
  auto declared = parse("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", 0, false, 1000);
  ASSERT_EQ(declared.state(), State::failed);
  EXPECT_EQ(declared.error().code, "http.too_large");
  auto chunked =
      parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + std::string(1000, 'x') + "\r\n1\r\nx\r\n",
            0, false, 1000);
  ASSERT_EQ(chunked.state(), State::failed);
  EXPECT_EQ(chunked.error().code, "http.too_large");
  auto eof_body = parse("HTTP/1.1 200 OK\r\n\r\n" + std::string(1001, 'x'), 100, false, 1000);
  ASSERT_EQ(eof_body.state(), State::failed);
  EXPECT_EQ(eof_body.error().code, "http.too_large");
}

TEST(HttpResponse, BytesAfterACompleteResponseAreIgnored) {
  HttpResponseParser p;
  EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"), State::done);
  EXPECT_EQ(p.feed("more"), State::done);
  EXPECT_EQ(p.finish(), State::done);
  EXPECT_EQ(p.response().body, "ok");
}

}  // namespace
