// Splitting long replies: line, word and hard boundaries, UTF-8 and UTF-16 counting,
// clusters, invalid input, and a randomized property check.
#include "channels/bot/split.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/core/utf8.hpp"

namespace sb::channels {
namespace {

using Pieces = std::vector<std::string>;
constexpr SplitRule cp(std::size_t n) {
  return {n, LengthUnit::code_points};
}
constexpr SplitRule u16(std::size_t n) {
  return {n, LengthUnit::utf16_units};
}

const std::string kEmoji = "\xf0\x9f\x98\x80";               // 😀 U+1F600, 2 UTF-16 units
const std::string kHan = "\xe6\xb1\x89";                     // 汉 U+6C49
const std::string kAcute = "\xcc\x81";                       // U+0301 combining acute
const std::string kZwj = "\xe2\x80\x8d";                     // U+200D
const std::string kWoman = "\xf0\x9f\x91\xa9";               // 👩
const std::string kGirl = "\xf0\x9f\x91\xa7";                // 👧
const std::string kFr = "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7";  // 🇫🇷
const std::string kDe = "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa";  // 🇩🇪

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string strip_ws(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') out += c;
  return out;
}

void expect_fits(const Pieces& pieces, SplitRule rule) {
  for (const auto& p : pieces) {
    EXPECT_TRUE(utf8::is_valid(p));
    EXPECT_LE(measure(p, rule.unit), rule.max_units) << p;
    EXPECT_FALSE(p.empty());
  }
}

TEST(ChannelSplit, ShortTextIsOnePieceUnchanged) {
  EXPECT_EQ(split_message("hello\n\nworld  ", cp(100)), Pieces{"hello\n\nworld  "});
  EXPECT_EQ(split_message("", cp(10)), Pieces{});
  EXPECT_EQ(split_message(" \n\t\r\n ", cp(10)), Pieces{});
}

TEST(ChannelSplit, ExactLimitBoundaries) {
  EXPECT_EQ(split_message(std::string(10, 'a'), cp(10)), Pieces{std::string(10, 'a')});
  EXPECT_EQ(split_message(std::string(11, 'a'), cp(10)), (Pieces{std::string(10, 'a'), "a"}));
  // A line that fills the limit exactly, then its line break.
  EXPECT_EQ(split_message(std::string(10, 'a') + "\nbb", cp(10)), (Pieces{std::string(10, 'a'), "bb"}));
  EXPECT_EQ(split_message(std::string(10, 'a') + "\r\nbb", cp(10)), (Pieces{std::string(10, 'a'), "bb"}));
  EXPECT_EQ(split_message(std::string(10, 'a') + " bb", cp(10)), (Pieces{std::string(10, 'a'), "bb"}));
}

TEST(ChannelSplit, PrefersLineBoundaries) {
  std::string text = "line one\nline two\nline three is longer\nend";
  Pieces p = split_message(text, cp(20));
  EXPECT_EQ(p, (Pieces{"line one\nline two", "line three is longer", "end"}));
}

TEST(ChannelSplit, DropsBlankLinesAtCuts) {
  Pieces p = split_message("aaaa\n\n\n\nbbbb\n\ncccc", cp(6));
  EXPECT_EQ(p, (Pieces{"aaaa", "bbbb", "cccc"}));
}

TEST(ChannelSplit, FallsBackToWordBoundaries) {
  Pieces p = split_message("alpha beta gamma delta epsilon", cp(12));
  EXPECT_EQ(p, (Pieces{"alpha beta", "gamma delta", "epsilon"}));
}

TEST(ChannelSplit, KeepsIndentationOfTheNextLine) {
  Pieces p = split_message("def f():\n    return 1\n", cp(12));
  EXPECT_EQ(p, (Pieces{"def f():", "    return 1"}));
}

TEST(ChannelSplit, HardCutsALongWord) {
  Pieces p = split_message(std::string(25, 'x'), cp(10));
  EXPECT_EQ(p, (Pieces{std::string(10, 'x'), std::string(10, 'x'), std::string(5, 'x')}));
}

TEST(ChannelSplit, LineLongerThanTheLimitBetweenShortLines) {
  std::string text = "intro\n" + std::string(30, 'y') + "\noutro";
  Pieces p = split_message(text, cp(10));
  expect_fits(p, cp(10));
  EXPECT_EQ(p.front(), "intro");
  EXPECT_EQ(p.back(), "outro");
  EXPECT_EQ(strip_ws(text), strip_ws([&] {
              std::string all;
              for (auto& s : p) all += s;
              return all;
            }()));
}

TEST(ChannelSplit, CjkNeverCutInsideASequence) {
  Pieces p = split_message(repeat(kHan, 10), cp(4));
  EXPECT_EQ(p, (Pieces{repeat(kHan, 4), repeat(kHan, 4), repeat(kHan, 2)}));
}

TEST(ChannelSplit, EmojiCountsTwoUtf16UnitsButOneCodePoint) {
  std::string three = repeat(kEmoji, 3);
  EXPECT_EQ(split_message(three, u16(5)), (Pieces{repeat(kEmoji, 2), kEmoji}));
  EXPECT_EQ(split_message(three, cp(5)), Pieces{three});
  EXPECT_EQ(split_message(three, u16(6)), Pieces{three});
  // An emoji straddling the limit moves whole to the next piece.
  EXPECT_EQ(split_message("abcd" + kEmoji, u16(5)), (Pieces{"abcd", kEmoji}));
}

TEST(ChannelSplit, LimitSmallerThanOneCharacterStillProgresses) {
  Pieces p = split_message(repeat(kEmoji, 3), u16(1));
  EXPECT_EQ(p, (Pieces{kEmoji, kEmoji, kEmoji}));
  EXPECT_EQ(split_message("abc", cp(0)), (Pieces{"a", "b", "c"}));
}

TEST(ChannelSplit, CombiningMarksStayWithTheirBase) {
  std::string e = "e" + kAcute;  // é as two code points
  Pieces p = split_message(repeat(e, 5), cp(3));
  EXPECT_EQ(p, (Pieces{e, e, e, e, e}));  // 3 code points would split a pair: cut back to 2
  p = split_message(repeat(e, 5), cp(4));
  EXPECT_EQ(p, (Pieces{repeat(e, 2), repeat(e, 2), e}));
}

TEST(ChannelSplit, ZwjSequencesAndFlagsStayWhole) {
  std::string family = kWoman + kZwj + kGirl;  // 3 code points, 5 UTF-16 units
  Pieces p = split_message("ab" + family + family, cp(4));
  EXPECT_EQ(p, (Pieces{"ab", family, family}));
  std::string flags = kFr + kDe + kFr;  // 6 regional indicators
  p = split_message(flags, cp(3));
  EXPECT_EQ(p, (Pieces{kFr, kDe, kFr}));
  p = split_message("x" + flags, cp(4));
  EXPECT_EQ(p, (Pieces{"x" + kFr, kDe + kFr}));
}

TEST(ChannelSplit, EndlessClusterIsCutAnyway) {
  std::string zalgo = "a" + repeat(kAcute, 100);
  Pieces p = split_message(zalgo, cp(50));
  expect_fits(p, cp(50));
  EXPECT_EQ(p.size(), 3u);
}

TEST(ChannelSplit, InvalidUtf8BecomesReplacementCharacters) {
  std::string bad = "ok \xff\xfe\xc3 then \xe6\xb1 end";
  Pieces one = split_message(bad, cp(100));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(utf8::is_valid(one[0]));
  EXPECT_EQ(one[0], utf8::sanitize(bad));
  std::string noise;
  for (int i = 0; i < 1000; ++i) noise += static_cast<char>(0x80 + i % 128);
  Pieces p = split_message(noise, u16(64));
  expect_fits(p, u16(64));
  EXPECT_EQ(p.size(), 1000u / 64 + 1);
}

TEST(ChannelSplit, TelegramSizedReplyOfEmoji) {
  std::string text = repeat(kEmoji + " ", 3000);  // 9000 UTF-16 units
  Pieces p = split_message(text, u16(4096));
  expect_fits(p, u16(4096));
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(strip_ws(text), strip_ws(p[0] + p[1] + p[2]));
}

// Random text from an alphabet of ASCII, multibyte, astral, combining and whitespace
// characters: every piece fits and is valid, and nothing but whitespace is lost.
TEST(ChannelSplit, RandomTextProperty) {
  const std::vector<std::string> alphabet{"a",    "b",  "Z",    " ",    " ",  "\n", "\n\n",     "\t",
                                          "\r\n", kHan, kEmoji, kAcute, kZwj, kFr,  "\xc3\xa9", "\xff"};
  std::mt19937 rng(20240601);
  for (int round = 0; round < 400; ++round) {
    std::string text;
    int len = std::uniform_int_distribution<int>(0, 400)(rng);
    for (int i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    SplitRule rule{std::uniform_int_distribution<std::size_t>(2, 60)(rng),
                   round % 2 ? LengthUnit::utf16_units : LengthUnit::code_points};
    Pieces p = split_message(text, rule);
    expect_fits(p, rule);
    std::string all;
    for (auto& s : p) all += s;
    ASSERT_EQ(strip_ws(all), strip_ws(utf8::sanitize(text))) << "round " << round;
  }
}

}  // namespace
}  // namespace sb::channels
