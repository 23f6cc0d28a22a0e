// llm mode's pure parts: the Messages request, the reply/error parsing and the
// per-chat history file (format, names, trimming), with bad input for each.
#include "runtime/agent/llm.hpp"

#include <set>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace {

using namespace sb::agent;

rapidjson::Document json(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  EXPECT_FALSE(d.HasParseError()) << s;
  return d;
}

TEST(LlmRequest, BodyCarriesModelTokensSystemAndMessagesInOrder) {
  MessagesRequest r;
  r.model = "claude-sonnet-4-5";
  r.max_tokens = 512;
  r.system = "Be \"brief\".\n";
  r.messages = {{"user", "hi"}, {"assistant", "hello"}, {"user", "naïve \\ \u0001 quote\""}};
  auto d = json(encode_messages_body(r));
  EXPECT_STREQ(d["model"].GetString(), "claude-sonnet-4-5");
  EXPECT_EQ(d["max_tokens"].GetInt64(), 512);
  EXPECT_STREQ(d["system"].GetString(), "Be \"brief\".\n");
  ASSERT_EQ(d["messages"].Size(), 3u);
  EXPECT_STREQ(d["messages"][1]["role"].GetString(), "assistant");
  EXPECT_EQ(std::string(d["messages"][2]["content"].GetString()), "naïve \\ \u0001 quote\"");
}

TEST(LlmRequest, EmptyOrAbsentSystemIsOmitted) {
  MessagesRequest r;
  r.model = "m";
  r.messages = {{"user", "x"}};
  EXPECT_FALSE(json(encode_messages_body(r)).HasMember("system"));
  r.system = "";
  EXPECT_FALSE(json(encode_messages_body(r)).HasMember("system"));
}

TEST(LlmRequest, HttpRequestHasTheContractHeaders) {
  auto r = build_messages_http_request("anthropic", "sbp_tok123", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rfind("POST /anthropic/v1/messages HTTP/1.1\r\n", 0), 0u) << *r;
  EXPECT_NE(r->find("\r\nx-api-key: sbp_tok123\r\n"), std::string::npos);
  EXPECT_NE(r->find("\r\nanthropic-version: 2023-06-01\r\n"), std::string::npos);
  EXPECT_NE(r->find("\r\ncontent-type: application/json\r\n"), std::string::npos);
  EXPECT_NE(r->find("\r\ncontent-length: 2\r\n\r\n{}"), std::string::npos);
}

TEST(LlmRequest, HostileRouteOrTokenIsRefused) {
  EXPECT_FALSE(build_messages_http_request("", "t", "{}").ok());
  EXPECT_FALSE(build_messages_http_request("a/b", "t", "{}").ok());
  EXPECT_FALSE(build_messages_http_request("a b", "t", "{}").ok());
  EXPECT_EQ(build_messages_http_request("anthropic", "t\r\nx-evil: 1", "{}").error().code, "http.bad_request");
}

TEST(LlmReply, ConcatenatesTextBlocksAndSkipsOthers) {
  auto r = parse_messages_reply(200, R"({"id":"msg_1","type":"message","role":"assistant","content":[
      {"type":"thinking","thinking":"hmm"},{"type":"text","text":"Hello, "},
      {"type":"tool_use","id":"t","name":"x","input":{}},{"type":"text","text":"world"}],"stop_reason":"end_turn"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "Hello, world");
}

TEST(LlmReply, ProxyAndUpstreamErrorsSayWhatHappened) {
  auto proxy = parse_messages_reply(502, R"({"error":{"type":"upstream_unreachable","message":"connect refused"}})");
  ASSERT_FALSE(proxy.ok());
  EXPECT_EQ(proxy.error().code, "llm.upstream_error");
  EXPECT_EQ(proxy.error().message, "HTTP 502 upstream_unreachable: connect refused");

  auto anthropic = parse_messages_reply(
      401, R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})");
  EXPECT_EQ(anthropic.error().message, "HTTP 401 authentication_error: invalid x-api-key");

  auto plain = parse_messages_reply(503, "<html>\nService Unavailable</html>");
  EXPECT_EQ(plain.error().code, "llm.upstream_error");
  EXPECT_EQ(plain.error().message, "HTTP 503: <html> Service Unavailable</html>");

  auto empty = parse_messages_reply(504, "");
  EXPECT_EQ(empty.error().message, "HTTP 504");

  auto long_body = parse_messages_reply(500, std::string(1000, 'x'));
  EXPECT_LT(long_body.error().message.size(), 300u);

  // An error object inside a 200 is still an error.
  auto in_200 = parse_messages_reply(200, R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})");
  EXPECT_EQ(in_200.error().code, "llm.upstream_error");
  EXPECT_NE(in_200.error().message.find("overloaded_error: busy"), std::string::npos);

  auto odd_error = parse_messages_reply(400, R"({"error":"just a string"})");
  EXPECT_EQ(odd_error.error().message, "HTTP 400 error");
}

TEST(LlmReply, MalformedOrIncompleteResponses) {
  struct Case {
    const char* body;
    const char* code;
  } cases[] = {
      {"not json", "llm.bad_response"},
      {"[1,2]", "llm.bad_response"},
      {R"({"type":"message"})", "llm.bad_response"},                   // no content
      {R"({"type":"message","content":"text"})", "llm.bad_response"},  // not an array
      {R"({"content":[1]})", "llm.bad_response"},                      // block not an object
      {R"({"content":[{"type":"text"}]})", "llm.bad_response"},        // text block without text
      {R"({"content":[{"type":"text","text":5}]})", "llm.bad_response"},
      {R"({"content":[],"stop_reason":"max_tokens"})", "llm.empty_reply"},
      {R"({"content":[{"type":"tool_use","id":"t","name":"n","input":{}}],"stop_reason":"tool_use"})",
       "llm.empty_reply"},
      {R"({"content":[{"type":"text","text":"ok"}]} trailing)", "llm.bad_response"},
  };
  for (const auto& c : cases) {
    auto r = parse_messages_reply(200, c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body << " -> " << r.error().message;
  }
  EXPECT_NE(
      parse_messages_reply(200, R"({"content":[],"stop_reason":"max_tokens"})").error().message.find("max_tokens"),
      std::string::npos);
}

TEST(LlmHistory, RoundTrips) {
  std::vector<ChatMessage> m = {{"user", "a\"b"}, {"assistant", "c\nd"}, {"user", ""}, {"assistant", "ü"}};
  auto enc = encode_history("tg:42", m);
  auto d = json(enc);
  EXPECT_EQ(d["version"].GetInt(), 1);
  EXPECT_STREQ(d["chat"].GetString(), "tg:42");
  auto back = decode_history(enc);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
  EXPECT_TRUE(decode_history(encode_history("x", {}))->empty());
}

TEST(LlmHistory, BadFilesAreRejected) {
  const char* cases[] = {
      "",
      "{",
      "[]",
      R"({"messages":[]})",  // no version
      R"({"version":2,"messages":[]})",
      R"({"version":"1","messages":[]})",
      R"({"version":1})",
      R"({"version":1,"messages":{}})",
      R"({"version":1,"messages":[{"role":"user"}]})",
      R"({"version":1,"messages":[{"role":"user","content":1}]})",
      R"({"version":1,"messages":[{"role":"assistant","content":"a"},{"role":"user","content":"b"}]})",
      R"({"version":1,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]})",
      R"({"version":1,"messages":[{"role":"system","content":"a"}]})",
      R"({"version":1,"messages":[{"role":"user","content":"a"}]})",  // unanswered
      R"({"version":1,"messages":[7]})",
  };
  for (const char* c : cases) {
    auto r = decode_history(c);
    ASSERT_FALSE(r.ok()) << c;
    EXPECT_EQ(r.error().code, "llm.history_invalid") << c;
  }
}

TEST(LlmHistory, ChatKeyDefaultsWithoutJid) {
  EXPECT_EQ(chat_key(std::nullopt), "default");
  EXPECT_EQ(chat_key(std::string()), "default");
  EXPECT_EQ(chat_key(std::string("slack:C01")), "slack:C01");
}

TEST(LlmHistory, FileNamesAreSafeAndDistinct) {
  EXPECT_EQ(history_file_name("tg:42"), "tg%3A42.json");
  EXPECT_EQ(history_file_name("default"), "default.json");
  EXPECT_EQ(history_file_name("wa:+49 170"), "wa%3A%2B49%20170.json");
  for (const char* hostile : {"../../etc/passwd", "..", ".", "/abs", "a/b", "x\ny", ".hidden"}) {
    auto n = history_file_name(hostile);
    EXPECT_EQ(n.find('/'), std::string::npos) << n;
    EXPECT_NE(n.front(), '.') << n;
    EXPECT_EQ(n.find('\n'), std::string::npos) << n;
  }
  // Long keys are cut and hashed: bounded, and two keys sharing a long prefix differ.
  std::string a(1000, 'a'), b = a;
  b.back() = 'b';
  auto na = history_file_name(a), nb = history_file_name(b);
  EXPECT_LE(na.size(), 200u);
  EXPECT_NE(na, nb);
  EXPECT_NE(history_file_name(std::string(300, ':')), history_file_name(std::string(301, ':')));
  std::set<std::string> names;
  for (const char* k : {"a:b", "a%3Ab", "a_b", "a-b", "A:B"}) names.insert(history_file_name(k));
  EXPECT_EQ(names.size(), 5u);
}

TEST(LlmHistory, TrimDropsOldestPairs) {
  std::vector<ChatMessage> m;
  for (int i = 0; i < 10; ++i) {
    m.push_back({"user", "u" + std::to_string(i)});
    m.push_back({"assistant", "a" + std::to_string(i)});
  }
  auto t = trim_history(m, 6, 1 << 20);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t.front(), (ChatMessage{"user", "u7"}));
  EXPECT_EQ(t.back(), (ChatMessage{"assistant", "a9"}));

  std::vector<ChatMessage> big = {
      {"user", std::string(600, 'x')}, {"assistant", "ok"}, {"user", "small"}, {"assistant", "fine"}};
  auto b = trim_history(big, 100, 500);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].content, "small");
  EXPECT_EQ(trim_history(m).size(), 20u);  // within the defaults: untouched
}

}  // namespace
