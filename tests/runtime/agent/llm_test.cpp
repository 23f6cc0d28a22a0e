// llm mode's history basics: the version 1 file (still read, to convert it), chat keys
// and file names, with bad input for each.
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

}  // namespace
