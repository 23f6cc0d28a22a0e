// Echo mode's reading of the host's turn markup: the real format, escaping, several
// senders, plain text, and hostile input (unterminated tags, huge input).
#include "runtime/agent/turn_input.hpp"

#include <gtest/gtest.h>

namespace {

using namespace sb::agent;

TEST(TurnInput, OneMessageIsSenderColonText) {
  const std::string in =
      "<messages chat=\"local:main\">\n<message id=\"1\" sender=\"operator\" sender_id=\"op\" "
      "time=\"2026-01-01T00:00:00.000Z\">hello</message>\n</messages>\n";
  auto parsed = parse_turn_input(in);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0], (TurnInputMessage{"operator", "hello"}));
  EXPECT_EQ(readable_turn_input(in), "operator: hello");
}

TEST(TurnInput, SeveralMessagesAreSenderColonTextLines) {
  const std::string in =
      "<messages chat=\"tg:1\">\n"
      "<message id=\"1\" sender=\"Ann &amp; &quot;Bo&quot;\" sender_id=\"u1\">a &lt;b&gt; &amp;amp; 'q' "
      "\"d\"</message>\n"
      "<message id=\"2\" sender=\"\" sender_id=\"u2\">line1\nline2</message>\n"
      "<message id=\"3\">&unknown; &#65;</message>\n"
      "</messages>\n";
  EXPECT_EQ(readable_turn_input(in), "Ann & \"Bo\": a <b> &amp; 'q' \"d\"\nu2: line1\nline2\nsomeone: &unknown; &#65;");
}

TEST(TurnInput, PlainTextStaysAsItIs) {
  EXPECT_EQ(parse_turn_input("hello <message>"), std::nullopt);
  EXPECT_EQ(readable_turn_input("hello <message>x</message>"), "hello <message>x</message>");
  EXPECT_EQ(readable_turn_input("<messagesX>"), "<messagesX>");
  EXPECT_EQ(readable_turn_input(""), "");
}

TEST(TurnInput, HostileInputNeverBreaksIt) {
  // Unterminated start tags, a missing close, a missing list close, quotes never closed.
  EXPECT_EQ(readable_turn_input("<messages"), "<messages");
  EXPECT_TRUE(parse_turn_input("<messages chat=\"x")->empty());
  EXPECT_TRUE(parse_turn_input("<messages>\n<message id=\"1\" sender=\"a")->empty());
  EXPECT_EQ(readable_turn_input("<messages><message sender=\"a\">no close</messages>"), "a: no close");
  EXPECT_EQ(readable_turn_input("<messages><message sender=\"a>text"), "a: text");  // first '>' ends the tag
  EXPECT_EQ(readable_turn_input("<messages><message sender='a' x y=z =>text</message>"), "a: text");
  auto two = parse_turn_input("<messages><message sender=\"a\">x</message><message>y");
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].text, "y");
  // Nested markup in text is text (the host escapes '<', so this is a forgery): kept.
  EXPECT_EQ(readable_turn_input("<messages><message sender=\"a\">x<b>y</b></message></messages>"), "a: x<b>y</b>");

  // Huge: many messages and one huge text, linear time.
  std::string many = "<messages chat=\"c\">";
  for (int i = 0; i < 20000; ++i) many += "<message sender=\"s\">&amp;</message>";
  many += "</messages>";
  EXPECT_EQ(parse_turn_input(many)->size(), 20000u);
  std::string big = "<messages><message sender=\"s\">" + std::string(4u << 20, '&') + "</message></messages>";
  EXPECT_EQ(readable_turn_input(big).size(), (4u << 20) + 3);
  std::string tags = "<messages>" + std::string(1u << 20, '<');
  EXPECT_TRUE(parse_turn_input(tags)->empty());
}

}  // namespace
