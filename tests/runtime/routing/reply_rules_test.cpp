#include "runtime/routing/reply_rules.hpp"

#include <string>

#include <gtest/gtest.h>

#include "tests/runtime/routing/routing_fixture.hpp"

namespace sb::routing {
namespace {

using test::kMainId;
using test::kQuietId;
using test::kTeamId;

TEST(StripInternal, Spans) {
  struct Case {
    const char* name;
    std::string in;
    const char* out;  // nullptr: dropped
  };
  const Case cases[] = {
      {"no tags", "Hello there", "Hello there"},
      {"plain text is kept byte for byte", "  a  b  ", "a  b"},
      {"one span", "Hello <internal>thinking</internal> world", "Hello world"},
      {"span glued to words", "Hel<internal>x</internal>lo", "Hello"},
      {"span at the start", "<internal>plan</internal>\n\nAnswer: 42", "Answer: 42"},
      {"span at the end", "Answer: 42\n<internal>done</internal>", "Answer: 42"},
      {"a removed line", "line 1\n<internal>x</internal>\nline 2", "line 1\nline 2"},
      {"a removed paragraph", "para 1\n\n<internal>x</internal>\n\npara 2", "para 1\n\npara 2"},
      {"tab around", "a\t<internal>x</internal>\tb", "a b"},
      {"two spans", "a <internal>x</internal> <internal>y</internal> b", "a b"},
      {"case variants", "a <INTERNAL>x</Internal> b <InTeRnAl>y</iNtErNaL> c", "a b c"},
      {"attributes and spaces", "a <internal why=\"plan\">x</internal > b", "a b"},
      {"nested", "a <internal>x <internal>y</internal> z</internal> b", "a b"},
      {"deeply nested", "k<internal><internal><internal>x</internal></internal></internal>!", "k!"},
      {"unterminated hides the rest", "visible <internal>secret plan", "visible"},
      {"unterminated nested", "v <internal>a<internal>b</internal> still secret", "v"},
      {"opening tag cut short", "visible <internal secret", "visible"},
      {"stray closing tag", "a </internal> b", "a b"},
      {"stray closing tag glued", "ab</internal>cd", "abcd"},
      {"empty element", "a <internal/> b", "a b"},
      {"empty element inside a span", "a <internal>x<internal/>y</internal> b", "a b"},
      {"not a tag: longer name", "use <internals> here", "use <internals> here"},
      {"not a tag: other tags", "<b>bold</b> <intern>", "<b>bold</b> <intern>"},
      {"lone angle brackets", "1 < 2 > 0 <", "1 < 2 > 0 <"},
      {"the tag name alone", "<internal", nullptr},
      {"only a span", "<internal>all of it</internal>", nullptr},
      {"only spans and space", " \n<internal>a</internal>\n <internal>b</internal>\t", nullptr},
      {"empty", "", nullptr},
      {"whitespace only", " \n\t ", nullptr},
      {"unicode kept", "héllo <internal>秘密</internal> 世界 👋", "héllo 世界 👋"},
      {"angle bracket in a span", "a <internal>x < y > z</internal> b", "a b"},
      {"closing tag whitespace", "a <internal>x</internal\n> b", "a b"},
      {"CRLF", "a\r\n<internal>x</internal>\r\nb", "a\nb"},
  };
  for (const auto& c : cases) {
    auto out = strip_internal(c.in);
    if (c.out == nullptr) {
      EXPECT_FALSE(out.has_value()) << c.name << ": " << out.value_or("");
    } else {
      ASSERT_TRUE(out.has_value()) << c.name;
      EXPECT_EQ(*out, c.out) << c.name;
    }
  }
}

TEST(StripInternal, HugeAndHostile) {
  // 1 MiB of text, 10k spans: linear, and only the visible text survives.
  std::string in;
  std::string expected;
  for (int i = 0; i < 10000; ++i) {
    in += "word" + std::to_string(i) + " <internal>" + std::string(80, 'x') + "</internal> ";
    expected += "word" + std::to_string(i) + " ";
  }
  expected.pop_back();
  auto out = strip_internal(in);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, expected);

  // 100k unclosed openings: everything after the first is hidden.
  std::string opens = "keep ";
  for (int i = 0; i < 100000; ++i) opens += "<internal>";
  EXPECT_EQ(strip_internal(opens).value_or("<dropped>"), "keep");

  // Thousands of '<' that are no tags.
  std::string lts(1 << 20, '<');
  EXPECT_EQ(strip_internal(lts).value_or("").size(), lts.size());

  // Embedded NUL bytes are ordinary text.
  const std::string nul("a\0b<internal>x</internal>", 25);
  EXPECT_EQ(strip_internal(nul).value_or(""), std::string("a\0b", 3));
}

TEST(MayAddress, MainAndOwnChats) {
  auto table = test::sample_table();
  struct Case {
    const char* name;
    const char* ns;
    const char* jid;
    bool allowed;
    const char* reason;
  };
  const Case cases[] = {
      {"main, its own chat", kMainId, "slack:CMAIN", true, "own_chat"},
      {"main, another namespace's chat", kMainId, "slack:CTEAM", true, "main"},
      {"main, an unmapped chat", kMainId, "tg:12345", true, "main"},
      {"main, its local chat", kMainId, "local:main", true, "own_chat"},
      {"main, another local chat", kMainId, "local:team", true, "main"},
      {"team, its own chats", kTeamId, "slack:CTEAM", true, "own_chat"},
      {"team, its own telegram chat", kTeamId, "tg:-100", true, "own_chat"},
      {"team, its local chat", kTeamId, "local:team", true, "own_chat"},
      {"team, main's chat", kTeamId, "slack:CMAIN", false, "foreign_chat"},
      {"team, an unmapped chat", kTeamId, "tg:12345", false, "foreign_chat"},
      {"team, main's local chat", kTeamId, "local:main", false, "foreign_chat"},
      {"quiet, a chat mapped elsewhere", kQuietId, "tg:-100", false, "foreign_chat"},
      {"unknown namespace", test::kGoneId, "slack:CMAIN", false, "unknown_namespace"},
      {"empty namespace id", "", "slack:CMAIN", false, "unknown_namespace"},
      {"main, empty JID", kMainId, "", false, "invalid_jid"},
      {"main, unknown prefix", kMainId, "irc:#chan", false, "invalid_jid"},
      {"main, prefix only", kMainId, "slack:", false, "invalid_jid"},
      {"main, JID with a space", kMainId, "slack:C1 C2", false, "invalid_jid"},
      {"main, JID with a newline", kMainId, "slack:C1\nX-Evil: 1", false, "invalid_jid"},
      {"main, JID with a path", kMainId, "tg:1/../2", true, "main"},  // printable: the sender validates ids
      {"main, unknown local chat", kMainId, "local:nope", false, "invalid_jid"},
      {"team, unicode JID", kTeamId, "tg:日本", false, "invalid_jid"},
  };
  for (const auto& c : cases) {
    auto d = may_address(table, c.ns, c.jid);
    EXPECT_EQ(d.allowed, c.allowed) << c.name;
    EXPECT_EQ(d.reason, c.reason) << c.name;
  }
}

TEST(TypingSupport, PerPlatform) {
  using messaging::ChannelKind;
  EXPECT_FALSE(typing_support(messaging::ChannelKind::slack).supported);
  EXPECT_TRUE(typing_support(messaging::ChannelKind::telegram).supported);
  EXPECT_EQ(typing_support(messaging::ChannelKind::telegram).lasts, std::chrono::seconds(5));
  EXPECT_TRUE(typing_support(messaging::ChannelKind::discord).supported);
  EXPECT_EQ(typing_support(messaging::ChannelKind::discord).lasts, std::chrono::seconds(10));
  EXPECT_TRUE(typing_support(messaging::ChannelKind::whatsapp).supported);
  EXPECT_TRUE(typing_support(messaging::ChannelKind::whatsapp).needs_inbound_message_id);
  EXPECT_EQ(typing_support(messaging::ChannelKind::whatsapp).lasts, std::chrono::seconds(25));
  for (auto kind :
       {messaging::ChannelKind::telegram, messaging::ChannelKind::discord, messaging::ChannelKind::whatsapp})
    EXPECT_FALSE(typing_support(kind).api.empty());
  EXPECT_TRUE(typing_support_for_jid("tg:-100").supported);
  EXPECT_TRUE(typing_support_for_jid("dc:42").supported);
  EXPECT_FALSE(typing_support_for_jid("slack:C1").supported);
  EXPECT_FALSE(typing_support_for_jid("local:main").supported);
  EXPECT_FALSE(typing_support_for_jid("").supported);
  EXPECT_FALSE(typing_support_for_jid("xx:1").supported);
}

}  // namespace
}  // namespace sb::routing
