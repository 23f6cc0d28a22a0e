#include "runtime/routing/trigger.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sb::routing {
namespace {

TEST(Trigger, FoldAscii) {
  EXPECT_EQ(fold_ascii("@AnDy_9"), "@andy_9");
  EXPECT_EQ(fold_ascii("ÉCOLE"),
            "\xC3\x89"
            "cole");  // only ASCII folds
  EXPECT_EQ(fold_ascii(""), "");
}

TEST(Trigger, MatchesAsAStandaloneToken) {
  struct Case {
    const char* text;
    bool found;
  };
  const Case cases[] = {
      {"@Andy", true},
      {"@andy", true},
      {"@ANDY what's up", true},
      {"hey @andy,", true},
      {"hey @andy, and @andyx", true},
      {"(@Andy)", true},
      {"\"@Andy\"", true},
      {"@@andy", true},
      {"@andy.", true},
      {"@andy\n", true},
      {"line\n@andy", true},
      {"@andy…", true},                 // U+2026 ellipsis is punctuation
      {"@andy。", true},                // U+3002 ideographic full stop
      {"「@andy」", true},              // CJK brackets
      {"@andy👋", true},                 // emoji
      {"\xC2\xA0@andy\xC2\xA0", true},  // NBSP on both sides
      {"@andyx", false},
      {"@andy_", false},
      {"@andy9", false},
      {"@andyé", false},   // a non-ASCII letter continues the word
      {"me@andy", false},  // e-mail style
      {"user@andy.com", false},
      {"é@andy", false},
      {"_@andy", false},
      {"andy", false},
      {"@ andy", false},
      {"@and", false},
      {"", false},
      {"@andx @andyy @andy", true},  // a later occurrence counts
      {"@andy\xFF", true},           // an invalid byte after is no word
      {"\xFF@andy", true},
  };
  for (const auto& c : cases) EXPECT_EQ(contains_trigger(c.text, "@andy"), c.found) << c.text;
}

TEST(Trigger, WordTriggersNeedBoundariesOnBothSides) {
  EXPECT_TRUE(contains_trigger("ok andy bot, go", "andy bot"));
  EXPECT_TRUE(contains_trigger("Andy  Bot", "andy  bot"));
  EXPECT_FALSE(contains_trigger("handy bot", "andy bot"));
  EXPECT_FALSE(contains_trigger("andy bots", "andy bot"));
  EXPECT_TRUE(contains_trigger("!team do it", "!team"));
  EXPECT_FALSE(contains_trigger("x!team", "!team"));
  EXPECT_TRUE(contains_trigger("?!team", "!team"));
}

TEST(Trigger, NonAsciiTriggersCompareByteForByte) {
  EXPECT_TRUE(contains_trigger("salut @zoë !", "@zoë"));
  EXPECT_FALSE(contains_trigger("salut @ZOË !", "@zoë"));  // Ë is not folded
  EXPECT_TRUE(contains_trigger("salut @ZOë !", "@zoë"));
  EXPECT_TRUE(contains_trigger("@日本", "@日本"));
  EXPECT_FALSE(contains_trigger("@日本語", "@日本"));  // CJK letters continue the word
}

TEST(Trigger, MatchNeverStartsInsideAMultiByteSequence) {
  // "\xA9" is the continuation byte of © (C2 A9); a trigger starting with it must not match
  // half a character.
  EXPECT_FALSE(contains_trigger("\xC2\xA9x", "\xA9x"));
}

TEST(Trigger, EmptyTriggerNeverMatches) {
  EXPECT_FALSE(contains_trigger("anything", ""));
}

TEST(Trigger, HugeTextIsLinearEnough) {
  std::string text(4 << 20, '@');  // 4 MiB of near-misses
  EXPECT_FALSE(contains_trigger(text, "@andy"));
  text += " @Andy";
  EXPECT_TRUE(contains_trigger(text, "@andy"));
  std::string andys;
  for (int i = 0; i < 200000; ++i) andys += "@andyx";
  EXPECT_FALSE(contains_trigger(andys, "@andy"));
}

TEST(Trigger, WordCodePoints) {
  EXPECT_TRUE(is_word_code_point('a'));
  EXPECT_TRUE(is_word_code_point('Z'));
  EXPECT_TRUE(is_word_code_point('0'));
  EXPECT_TRUE(is_word_code_point('_'));
  EXPECT_FALSE(is_word_code_point('-'));
  EXPECT_FALSE(is_word_code_point(' '));
  EXPECT_FALSE(is_word_code_point('@'));
  EXPECT_TRUE(is_word_code_point(U'é'));
  EXPECT_TRUE(is_word_code_point(U'ж'));
  EXPECT_TRUE(is_word_code_point(U'日'));
  EXPECT_FALSE(is_word_code_point(U'\u00A0'));
  EXPECT_FALSE(is_word_code_point(U'\u2026'));
  EXPECT_FALSE(is_word_code_point(U'\u200B'));
  EXPECT_FALSE(is_word_code_point(U'\uFF0C'));
  EXPECT_FALSE(is_word_code_point(U'\U0001F44B'));
  EXPECT_FALSE(is_word_code_point(U'\uFFFD'));
}

}  // namespace
}  // namespace sb::routing
