#include "runtime/core/text.hpp"

#include <gtest/gtest.h>

namespace {

using sb::iequals;
using sb::trim;
using sb::trim_right;

TEST(Trim, RemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(trim("  a b \t"), "a b");
  EXPECT_EQ(trim("\n\r\v\f\tx\n"), "x");
  EXPECT_EQ(trim("a"), "a");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t\r\n "), "");
}

TEST(Trim, KeepsInnerWhitespaceAndNonAsciiBytes) {
  EXPECT_EQ(trim(" a \n b "), "a \n b");
  // U+00A0 (no-break space) is not ASCII whitespace: its bytes stay.
  EXPECT_EQ(trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");
  EXPECT_EQ(trim(std::string_view("\0a\0", 3)), std::string_view("\0a\0", 3));
}

TEST(Trim, ReturnsAViewIntoTheInput) {
  const std::string s = "  abc  ";
  const std::string_view t = trim(s);
  EXPECT_EQ(t.data(), s.data() + 2);
  EXPECT_EQ(t.size(), 3u);
}

TEST(Trim, WithAChosenSetTrimsOnlyThose) {
  EXPECT_EQ(trim(" \tvalue\t ", " \t"), "value");
  EXPECT_EQ(trim("\nvalue\r", " \t"), "\nvalue\r") << "HTTP OWS is only space and tab";
  EXPECT_EQ(trim("xxaxx", "x"), "a");
  EXPECT_EQ(trim("xxxx", "x"), "");
}

TEST(TrimRight, TrimsTheEndOnly) {
  EXPECT_EQ(trim_right("  out \r\n"), "  out");
  EXPECT_EQ(trim_right(" err\n\t", "\n\r "), " err\n\t");
  EXPECT_EQ(trim_right("\n\n", "\n"), "");
  EXPECT_EQ(trim_right(""), "");
}

TEST(Iequals, FoldsAsciiLettersOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("BEARER ", "bearer "));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("content-length", "content-lengt"));
  EXPECT_FALSE(iequals("a", "b"));
  EXPECT_FALSE(iequals("[", "{")) << "only A-Z fold: '[' is not 'Z' + 1 lowercased";
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9")) << "no Unicode folding (É, é)";
  EXPECT_FALSE(iequals("@", "`"));
}

TEST(AsciiHelpers, SpaceAndLower) {
  for (char c : std::string_view(" \t\n\v\f\r")) EXPECT_TRUE(sb::is_ascii_space(c)) << int(c);
  EXPECT_FALSE(sb::is_ascii_space('\0'));
  EXPECT_FALSE(sb::is_ascii_space('x'));
  EXPECT_EQ(sb::ascii_lower('Q'), 'q');
  EXPECT_EQ(sb::ascii_lower('q'), 'q');
  EXPECT_EQ(sb::ascii_lower('['), '[');
  static_assert(sb::ascii_lower('A') == 'a' && sb::is_ascii_space(' '));
}

}  // namespace
