// translate_placeholders: SQLite's ?N / ? become PostgreSQL's $N, and nothing inside a
// literal, a quoted identifier or a comment is touched, however hostile the input.
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "storage/postgres/placeholders.hpp"

namespace sb::storage::pg {
namespace {

std::string pg_sql(std::string_view s) {
  return translate_placeholders(s);
}

TEST(PlaceholderTranslation, NumberedParametersKeepTheirNumbers) {
  EXPECT_EQ(pg_sql("INSERT INTO t(a, b) VALUES (?1, ?2)"), "INSERT INTO t(a, b) VALUES ($1, $2)");
  EXPECT_EQ(pg_sql("SELECT ?2, ?1, ?2"), "SELECT $2, $1, $2");
  EXPECT_EQ(pg_sql("WHERE a=?10 AND b=?1"), "WHERE a=$10 AND b=$1");
  EXPECT_EQ(translate_sql("SELECT ?3").max_parameter, 3);
}

TEST(PlaceholderTranslation, UsedNumbersAreRecorded) {
  // SQLite accepts gaps (?3 without ?2); the engine declares the unused ones for PostgreSQL.
  const auto t = translate_sql("SELECT ?3, ?1, '?2'");
  EXPECT_EQ(t.used, (std::vector<bool>{false, true, false, true}));
  EXPECT_TRUE(translate_sql("SELECT 1").used.empty());
}

TEST(PlaceholderTranslation, BareParametersCountOnLikeSqlite) {
  EXPECT_EQ(pg_sql("VALUES (?, ?, ?)"), "VALUES ($1, $2, $3)");
  // SQLite: a bare ? is one more than the largest number so far.
  EXPECT_EQ(pg_sql("VALUES (?5, ?, ?2, ?)"), "VALUES ($5, $6, $2, $7)");
  EXPECT_EQ(translate_sql("VALUES (?5, ?, ?2, ?)").max_parameter, 7);
}

TEST(PlaceholderTranslation, TextWithoutParametersIsUnchanged) {
  for (std::string_view s : {"", "SELECT 1", "CREATE TABLE t (id bigint PRIMARY KEY)", "SELECT $1, $2",
                             "SELECT a::text FROM t WHERE x <> 1", "  \n\t "}) {
    EXPECT_EQ(pg_sql(s), s);
    EXPECT_EQ(translate_sql(s).max_parameter, 0) << s;
  }
}

TEST(PlaceholderTranslation, StringLiteralsAreText) {
  EXPECT_EQ(pg_sql("SELECT '?1', ?1"), "SELECT '?1', $1");
  EXPECT_EQ(pg_sql("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
  EXPECT_EQ(pg_sql("SELECT '', ?"), "SELECT '', $1");
  EXPECT_EQ(pg_sql("SELECT '''', ?"), "SELECT '''', $1");
  // A backslash is an ordinary character in a standard string: the quote ends it.
  EXPECT_EQ(pg_sql("SELECT 'a\\', ?"), "SELECT 'a\\', $1");
}

TEST(PlaceholderTranslation, EscapeStringsHonourBackslashes) {
  EXPECT_EQ(pg_sql("SELECT E'\\' ?1', ?1"), "SELECT E'\\' ?1', $1");
  EXPECT_EQ(pg_sql("SELECT e'\\\\', ?1"), "SELECT e'\\\\', $1");
  // An identifier ending in E before a quote is not an escape-string prefix.
  EXPECT_EQ(pg_sql("SELECT typE'\\', ?1"), "SELECT typE'\\', $1");
}

TEST(PlaceholderTranslation, QuotedIdentifiersAreText) {
  EXPECT_EQ(pg_sql("SELECT \"col?1\" FROM \"t\"\"?\" WHERE x = ?1"), "SELECT \"col?1\" FROM \"t\"\"?\" WHERE x = $1");
  EXPECT_EQ(pg_sql("SELECT U&\"d\\0061t?\" , ?"), "SELECT U&\"d\\0061t?\" , $1");
}

TEST(PlaceholderTranslation, CommentsAreText) {
  EXPECT_EQ(pg_sql("SELECT ?1 -- is it ?2\n, ?2"), "SELECT $1 -- is it ?2\n, $2");
  EXPECT_EQ(pg_sql("SELECT ?1 -- trailing ?"), "SELECT $1 -- trailing ?");
  EXPECT_EQ(pg_sql("SELECT /* ?1 */ ?1"), "SELECT /* ?1 */ $1");
  // PostgreSQL nests block comments (SQLite does not; PostgreSQL reads the result).
  EXPECT_EQ(pg_sql("SELECT /* a /* ?1 */ ?2 */ ?3"), "SELECT /* a /* ?1 */ ?2 */ $3");
  // A lone '-' or '/' is an operator.
  EXPECT_EQ(pg_sql("SELECT ?1 - ?2 / ?3"), "SELECT $1 - $2 / $3");
}

TEST(PlaceholderTranslation, DollarQuotedBodiesAreText) {
  const std::string fn =
      "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE 'no ? here ?1'; END $$ LANGUAGE plpgsql";
  EXPECT_EQ(pg_sql(fn), fn);
  EXPECT_EQ(pg_sql("SELECT $body$ ?1 $x$ ?2 $body$, ?1"), "SELECT $body$ ?1 $x$ ?2 $body$, $1");
  // $1 is a parameter, not a dollar quote; a$b is one identifier.
  EXPECT_EQ(pg_sql("SELECT $1, a$b, ?2"), "SELECT $1, a$b, $2");
}

TEST(PlaceholderTranslation, UnterminatedTextIsCopiedToTheEnd) {
  // The server reports the syntax error; the translation must neither crash nor invent.
  for (std::string_view s : {"SELECT '?1", "SELECT \"?1", "SELECT /* ?1", "SELECT $q$ ?1", "SELECT E'\\", "'", "\"",
                             "/*", "--", "$a$", "E'"}) {
    EXPECT_EQ(pg_sql(s), s);
  }
}

TEST(PlaceholderTranslation, HostileInputs) {
  EXPECT_EQ(pg_sql("?"), "$1");
  EXPECT_EQ(pg_sql("??"), "$1$2");
  EXPECT_EQ(pg_sql("?0"), "$0");  // the server rejects $0, as SQLite rejects ?0
  EXPECT_EQ(pg_sql("?007"), "$007");
  EXPECT_EQ(translate_sql("?007").max_parameter, 7);
  // Huge numbers saturate instead of overflowing; the digits pass through for the server.
  const auto big = translate_sql("?99999999999999999999999, ?");
  EXPECT_EQ(big.sql.substr(0, 24), "$99999999999999999999999");
  EXPECT_GT(big.max_parameter, 0);
  // Embedded NUL and non-ASCII bytes are copied.
  static constexpr char kIn[] = "SELECT '\0?', ?1 /* \xc3\xa9 ? */";
  static constexpr char kOut[] = "SELECT '\0?', $1 /* \xc3\xa9 ? */";
  EXPECT_EQ(pg_sql(std::string_view(kIn, sizeof kIn - 1)), std::string(kOut, sizeof kOut - 1));
  EXPECT_EQ(pg_sql("SELECT \xc3\xa9?1"), "SELECT \xc3\xa9$1");
}

TEST(PlaceholderTranslation, MultipleStatementsAreDetected) {
  EXPECT_FALSE(translate_sql("SELECT 1").multiple_statements);
  EXPECT_FALSE(translate_sql("SELECT 1;").multiple_statements);
  EXPECT_FALSE(translate_sql("SELECT 1; -- done\n  /* really */ ;").multiple_statements);
  EXPECT_FALSE(translate_sql("SELECT ';' || $$;$$").multiple_statements);
  EXPECT_TRUE(translate_sql("SELECT 1; SELECT 2").multiple_statements);
  EXPECT_TRUE(translate_sql("SELECT 1;?").multiple_statements);
  EXPECT_TRUE(translate_sql("SELECT 1; 'x'").multiple_statements);
  EXPECT_TRUE(translate_sql("DELETE FROM t;DROP TABLE t").multiple_statements);
}

}  // namespace
}  // namespace sb::storage::pg
