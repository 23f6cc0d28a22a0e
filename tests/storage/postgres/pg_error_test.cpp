// The SQLSTATE -> stable code mapping, and reading the SQLSTATE of a start-up failure from
// libpq's verbose message (pure; the live server tests are pg_connection_postgres_test).
#include "storage/postgres/pg_error.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sb::storage::pg {
namespace {

TEST(PgError, SqlstatesMapToStableCodes) {
  EXPECT_EQ(error_for_sqlstate("23505", "dup").code, kConstraintViolation);
  EXPECT_EQ(error_for_sqlstate("23503", "fk").code, kConstraintViolation);
  EXPECT_EQ(error_for_sqlstate("23502", "not null").code, kConstraintViolation);
  EXPECT_EQ(error_for_sqlstate("28P01", "pw").code, kAuth);
  EXPECT_EQ(error_for_sqlstate("28000", "hba").code, kAuth);
  EXPECT_EQ(error_for_sqlstate("40001", "ser").code, kRetry);
  EXPECT_EQ(error_for_sqlstate("40P01", "deadlock").code, kRetry);
  EXPECT_EQ(error_for_sqlstate("3D000", "db").code, kNoDatabase);
  EXPECT_EQ(error_for_sqlstate("08006", "gone").code, kUnreachable);
  EXPECT_EQ(error_for_sqlstate("57P01", "shutdown").code, kUnreachable);
  EXPECT_EQ(error_for_sqlstate("42601", "syntax").code, kError);
  EXPECT_EQ(error_for_sqlstate("", "nothing").code, kError);
}

TEST(PgError, TheSqlstateIsInTheMessage) {
  const Error e = error_for_sqlstate("42P01", "relation \"x\" does not exist\n");
  EXPECT_EQ(e.message, "relation \"x\" does not exist (SQLSTATE 42P01)");
}

TEST(PgError, ConstraintCodeIsTheSqliteWrappersCode) {
  // Callers compare against one code whichever engine runs (storage/error_codes.hpp).
  EXPECT_EQ(kConstraintViolation, "sqlite.constraint");
}

TEST(PgError, StartupSqlstateIsReadFromTheVerboseForm) {
  EXPECT_EQ(startup_sqlstate("connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  28P01: password "
                             "authentication failed for user \"x\"\nLOCATION:  auth_failed, auth.c:326\n"),
            "28P01");
  // Translated severity, several hosts: the last attempt counts.
  EXPECT_EQ(startup_sqlstate("connection to server at \"a\" failed: SCHWERWIEGEND:  3D000: Datenbank existiert "
                             "nicht\nconnection to server at \"b\" failed: FATAL:  28000: no pg_hba.conf entry\n"),
            "28000");
  // No server spoke: refused, timed out, unknown host.
  EXPECT_EQ(startup_sqlstate("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the "
                             "server running on that host and accepting TCP/IP connections?\n"),
            "");
  EXPECT_EQ(startup_sqlstate(""), "");
  EXPECT_EQ(startup_sqlstate("FATAL:  "), "");
  EXPECT_EQ(startup_sqlstate("FATAL:  28P01"), "");  // no ": " after the code
  EXPECT_EQ(startup_sqlstate("x:  abcde: y"), "");   // lower case is not a SQLSTATE
}

}  // namespace
}  // namespace sb::storage::pg
