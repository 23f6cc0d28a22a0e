// The SQL text helpers both engines share.
#include "storage/sql_text.hpp"

#include <gtest/gtest.h>

namespace sb::storage {
namespace {

TEST(SqlText, NumberedPlaceholders) {
  EXPECT_EQ(numbered_placeholders(3, 0), "");
  EXPECT_EQ(numbered_placeholders(3, 3), "?3,?4,?5");
}

TEST(SqlText, TheLeadingKeywordSkipsBlanksAndCommentsAndIsUpperCased) {
  EXPECT_EQ(leading_keyword("select 1"), "SELECT");
  EXPECT_EQ(leading_keyword("  \n\t-- a note\n /* and\n another */ begin;"), "BEGIN");
  EXPECT_EQ(leading_keyword("/* a */ /* b */Rollback"), "ROLLBACK");
  EXPECT_EQ(leading_keyword("WITH x AS (SELECT 1) DELETE FROM t"), "WITH");
  EXPECT_EQ(leading_keyword(""), "");
  EXPECT_EQ(leading_keyword("   "), "");
  EXPECT_EQ(leading_keyword("-- only a comment"), "");
  EXPECT_EQ(leading_keyword("/* never closed SELECT"), "");
  EXPECT_EQ(leading_keyword("(SELECT 1)"), "");
}

}  // namespace
}  // namespace sb::storage
