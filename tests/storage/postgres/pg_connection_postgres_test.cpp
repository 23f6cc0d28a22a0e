// PgDatabase / PgStatement / PgTransaction against a real PostgreSQL 15 server that this
// binary starts itself (deploy/postgres.sh through tests/support/pg_server.hpp). Each test
// works in a schema of its own, so tests never see each other's tables.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/error_codes.hpp"
#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_error.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::storage::pg {
namespace {

using namespace std::chrono_literals;

sb::test::PgServer* g_pg = sb::test::shared_pg_server();

// One value of the first row; fails the test on error or no row.
std::string pg_query_text(PgDatabase& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    ADD_FAILURE() << sql << ": " << stmt.error().code << " " << stmt.error().message;
    return {};
  }
  auto row = stmt->step();
  if (!row || !*row) {
    ADD_FAILURE() << sql << ": " << (row ? "no row" : row.error().message);
    return {};
  }
  return stmt->column_text(0);
}

int64_t pg_query_int(PgDatabase& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    ADD_FAILURE() << sql << ": " << stmt.error().code << " " << stmt.error().message;
    return -1;
  }
  auto row = stmt->step();
  if (!row || !*row) {
    ADD_FAILURE() << sql << ": " << (row ? "no row" : row.error().message);
    return -1;
  }
  return stmt->column_int64(0);
}

// A port on loopback with nothing listening: bound, read back, closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  ::chmod(path.c_str(), mode);
}

class PgConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    SB_REQUIRE_PG(g_pg);
    schema_ = sb::test::unique_name("t");
    auto db = PgDatabase::open(g_pg->options(schema_));
    ASSERT_TRUE(db) << db.error().code << " " << db.error().message;
    db_ = std::make_unique<PgDatabase>(std::move(*db));
  }

  Result<PgDatabase> second_connection() { return PgDatabase::open(g_pg->options(schema_)); }

  std::string schema_;
  std::unique_ptr<PgDatabase> db_;
};

TEST_F(PgConnection, OpenCreatesTheSchemaAndSetsSearchPathAndSynchronousCommit) {
  EXPECT_EQ(pg_query_text(*db_, "SHOW search_path"), schema_);
  EXPECT_EQ(pg_query_text(*db_, "SHOW synchronous_commit"), "on");
  EXPECT_EQ(db_->schema(), schema_);
  ASSERT_TRUE(db_->exec("CREATE TABLE here (x int)"));
  EXPECT_EQ(pg_query_int(*db_,
                         "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
                         "tablename = 'here'"),
            1);
  // A second connection into the existing schema sees the same table.
  auto again = second_connection();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(pg_query_int(*again, "SELECT count(*) FROM here"), 0);
}

TEST_F(PgConnection, SchemaNamesAreQuotedNotInterpolated) {
  const std::string odd = "We\"ird; DROP SCHEMA public " + sb::test::unique_name("x");
  auto db = PgDatabase::open(g_pg->options(odd));
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(pg_query_text(*db, "SELECT current_schema()"), odd);
  EXPECT_EQ(pg_query_int(*db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'"), 1);
}

TEST_F(PgConnection, EveryTypeRoundTripsIncludingNullAndBinaryBlobs) {
  ASSERT_TRUE(db_->exec("CREATE TABLE v (i bigint, d double precision, s text, b bytea, flag boolean)"));
  std::string blob;
  for (int c = 0; c < 256; ++c) blob.push_back(static_cast<char>(c));
  blob += std::string("\0\0tail\0", 7);
  struct Row {
    int64_t i;
    double d;
    std::string s;
  };
  const std::vector<Row> rows = {{std::numeric_limits<int64_t>::max(), 0.1, "h\xc3\xa9llo \xe2\x98\x83"},
                                 {std::numeric_limits<int64_t>::min(), -1e308, ""},
                                 {0, 1e-300, "'; DROP TABLE v; --"}};
  auto ins = db_->prepare("INSERT INTO v (i, d, s, b, flag) VALUES (?1, ?2, ?3, ?4, ?5)");
  ASSERT_TRUE(ins) << ins.error().message;
  EXPECT_EQ(ins->parameter_count(), 5);
  EXPECT_EQ(ins->column_count(), 0);
  for (const Row& r : rows) {
    ASSERT_TRUE(ins->bind(1, r.i));
    ASSERT_TRUE(ins->bind(2, r.d));
    ASSERT_TRUE(ins->bind(3, r.s));
    ASSERT_TRUE(ins->bind_blob(4, blob));
    ASSERT_TRUE(ins->bind(5, 1));
    auto done = ins->step();
    ASSERT_TRUE(done) << done.error().message;
    EXPECT_FALSE(*done);
    EXPECT_EQ(ins->changes(), 1);
    ins->reset();
  }
  // reset() cleared every binding: this row is all NULL.
  ASSERT_TRUE(ins->step());

  auto sel = db_->prepare("SELECT i, d, s, b, flag FROM v ORDER BY i NULLS LAST");
  ASSERT_TRUE(sel) << sel.error().message;
  EXPECT_EQ(sel->column_count(), 5);
  std::vector<Row> sorted = {rows[1], rows[2], rows[0]};
  for (const Row& r : sorted) {
    auto row = sel->step();
    ASSERT_TRUE(row && *row);
    EXPECT_EQ(sel->column_int64(0), r.i);
    EXPECT_EQ(sel->column_double(1), r.d);
    EXPECT_EQ(sel->column_text(2), r.s);
    EXPECT_EQ(sel->column_blob(3), blob);
    EXPECT_EQ(sel->column_text(3), blob);  // bytea reads as its bytes either way
    EXPECT_EQ(sel->column_int64(4), 1);    // boolean true reads as 1
    for (int c = 0; c < 5; ++c) EXPECT_FALSE(sel->column_is_null(c));
  }
  auto nulls = sel->step();
  ASSERT_TRUE(nulls && *nulls);
  for (int c = 0; c < 5; ++c) EXPECT_TRUE(sel->column_is_null(c));
  EXPECT_EQ(sel->column_int64(0), 0);
  EXPECT_EQ(sel->column_double(1), 0.0);
  EXPECT_EQ(sel->column_text(2), "");
  EXPECT_EQ(sel->column_blob(3), "");
  auto end = sel->step();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
}

TEST_F(PgConnection, SpecialDoublesAndBindParamKinds) {
  ASSERT_TRUE(db_->exec("CREATE TABLE p (k int, i bigint, d float8, s text, b bytea)"));
  auto ins = db_->prepare("INSERT INTO p VALUES (?, ?, ?, ?, ?)");
  ASSERT_TRUE(ins) << ins.error().message;
  ASSERT_TRUE(ins->bind(1, 1));
  ASSERT_TRUE(ins->bind_param(2, SqlParam::of(int64_t{-42})));
  ASSERT_TRUE(ins->bind_param(3, SqlParam::of(std::numeric_limits<double>::infinity())));
  ASSERT_TRUE(ins->bind_param(4, SqlParam::of(std::string("text"))));
  ASSERT_TRUE(ins->bind_param(5, SqlParam::blob_of(std::string("\0b", 2))));
  ASSERT_TRUE(ins->step());
  ins->reset();
  ASSERT_TRUE(ins->bind(1, 2));
  ASSERT_TRUE(ins->bind_param(2, SqlParam::null()));
  ASSERT_TRUE(ins->bind(3, -std::numeric_limits<double>::infinity()));
  ASSERT_TRUE(ins->step());
  ins->reset();
  ASSERT_TRUE(ins->bind(1, 3));
  ASSERT_TRUE(ins->bind(3, std::numeric_limits<double>::quiet_NaN()));
  ASSERT_TRUE(ins->step());
  ins->reset();

  SqlParam bad;
  bad.kind = 99;
  EXPECT_EQ(ins->bind_param(1, bad).error().code, kBadParam);

  auto sel = db_->prepare("SELECT i, d, s, b FROM p WHERE k = ?1");
  ASSERT_TRUE(sel);
  ASSERT_TRUE(sel->bind(1, 1));
  ASSERT_TRUE(*sel->step());
  EXPECT_EQ(sel->column_int64(0), -42);
  EXPECT_EQ(sel->column_double(1), std::numeric_limits<double>::infinity());
  EXPECT_EQ(sel->column_text(2), "text");
  EXPECT_EQ(sel->column_blob(3), std::string("\0b", 2));
  sel->reset();
  ASSERT_TRUE(sel->bind(1, 2));
  ASSERT_TRUE(*sel->step());
  EXPECT_TRUE(sel->column_is_null(0));
  EXPECT_EQ(sel->column_double(1), -std::numeric_limits<double>::infinity());
  sel->reset();
  ASSERT_TRUE(sel->bind(1, 3));
  ASSERT_TRUE(*sel->step());
  EXPECT_TRUE(std::isnan(sel->column_double(1)));
}

TEST_F(PgConnection, ConversionsFollowSqlite) {
  EXPECT_EQ(pg_query_int(*db_, "SELECT 12.9::numeric"), 12);
  EXPECT_EQ(pg_query_int(*db_, "SELECT -7.5::float8"), -7);
  EXPECT_EQ(pg_query_int(*db_, "SELECT false"), 0);
  EXPECT_EQ(pg_query_int(*db_, "SELECT 'abc'"), 0);
  EXPECT_EQ(pg_query_text(*db_, "SELECT 42::bigint"), "42");
  // An untyped parameter is text to the server; it still reads back as a number.
  auto s = db_->prepare("SELECT ?1");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->bind(1, int64_t{9000000000}));
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->column_int64(0), 9000000000);
}

TEST_F(PgConnection, StepWalksRowsAndRunsAgainAfterTheEnd) {
  auto s = db_->prepare("SELECT g FROM generate_series(1, ?1) AS g");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->bind(1, 3));
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t want = 1; want <= 3; ++want) {
      auto row = s->step();
      ASSERT_TRUE(row && *row);
      EXPECT_EQ(s->column_int64(0), want);
    }
    auto end = s->step();
    ASSERT_TRUE(end);
    EXPECT_FALSE(*end);
    // Like sqlite3_step: the next step() runs the statement again with the same bindings.
  }
  // A half-read result is dropped by reset().
  ASSERT_TRUE(*s->step());
  s->reset();
  ASSERT_TRUE(s->bind(1, 1));
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->column_int64(0), 1);
  EXPECT_FALSE(*s->step());
}

TEST_F(PgConnection, PlaceholdersInLiteralsStayText) {
  auto s = db_->prepare("SELECT '?1' || ?2 || \"?\" FROM (SELECT 'x' AS \"?\") q -- ?3");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->parameter_count(), 2);  // $2 only, so PostgreSQL counts two
  ASSERT_TRUE(s->bind(2, "-"));
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->column_text(0), "?1-x");
}

TEST_F(PgConnection, ChangesCountWritesOnly) {
  ASSERT_TRUE(db_->exec("CREATE TABLE c (x int)"));
  auto ins = db_->prepare("INSERT INTO c SELECT generate_series(1, ?1)");
  ASSERT_TRUE(ins);
  ASSERT_TRUE(ins->bind(1, 5));
  ASSERT_TRUE(ins->step());
  EXPECT_EQ(ins->changes(), 5);
  EXPECT_EQ(db_->changes(), 5);
  auto upd = db_->prepare("UPDATE c SET x = x + 1 WHERE x > ?1");
  ASSERT_TRUE(upd);
  ASSERT_TRUE(upd->bind(1, 3));
  ASSERT_TRUE(upd->step());
  EXPECT_EQ(db_->changes(), 2);
  EXPECT_EQ(pg_query_int(*db_, "SELECT count(*) FROM c"), 5);
  EXPECT_EQ(db_->changes(), 0);  // a SELECT changed nothing
  ASSERT_TRUE(db_->exec("DELETE FROM c"));
  EXPECT_EQ(db_->changes(), 5);
}

TEST_F(PgConnection, ReturningGivesTheNewKey) {
  // PostgreSQL has no last_insert_rowid(): stores use RETURNING.
  ASSERT_TRUE(db_->exec("CREATE TABLE r (id bigserial PRIMARY KEY, name text)"));
  auto ins = db_->prepare("INSERT INTO r (name) VALUES (?1) RETURNING id");
  ASSERT_TRUE(ins);
  for (int64_t want = 1; want <= 2; ++want) {
    ASSERT_TRUE(ins->bind(1, "n"));
    auto row = ins->step();
    ASSERT_TRUE(row && *row);
    EXPECT_EQ(ins->column_int64(0), want);
    EXPECT_EQ(ins->changes(), 1);
    ins->reset();
  }
}

TEST_F(PgConnection, ConstraintViolationsHaveTheSharedCode) {
  ASSERT_TRUE(db_->exec("CREATE TABLE u (k text PRIMARY KEY, n int NOT NULL CHECK (n >= 0))"));
  auto ins = db_->prepare("INSERT INTO u VALUES (?1, ?2)");
  ASSERT_TRUE(ins);
  ASSERT_TRUE(ins->bind(1, "a"));
  ASSERT_TRUE(ins->bind(2, 1));
  ASSERT_TRUE(ins->step());
  ins->reset();
  ASSERT_TRUE(ins->bind(1, "a"));
  ASSERT_TRUE(ins->bind(2, 2));
  auto dup = ins->step();
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, kConstraintViolation);
  EXPECT_NE(dup.error().message.find("23505"), std::string::npos) << dup.error().message;
  ins->reset();
  ASSERT_TRUE(ins->bind(1, "b"));
  ASSERT_TRUE(ins->bind(2, -1));
  EXPECT_EQ(ins->step().error().code, kConstraintViolation);  // CHECK
  ins->reset();
  ASSERT_TRUE(ins->bind(1, "c"));
  EXPECT_EQ(ins->step().error().code, kConstraintViolation);  // NOT NULL
  // The connection is still usable after each error (autocommit: nothing to roll back).
  EXPECT_EQ(pg_query_int(*db_, "SELECT count(*) FROM u"), 1);
}

TEST_F(PgConnection, MisuseAndSqlErrorsAreValues) {
  auto two = db_->prepare("SELECT 1; SELECT 2");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code, kMultipleStatements);
  ASSERT_TRUE(db_->exec("CREATE TABLE m (x int); INSERT INTO m VALUES (1); INSERT INTO m VALUES (2)"));
  EXPECT_EQ(pg_query_int(*db_, "SELECT sum(x) FROM m"), 3);

  auto bad = db_->prepare("SELEKT 1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, kError);
  EXPECT_NE(bad.error().message.find("SQLSTATE 42601"), std::string::npos) << bad.error().message;
  EXPECT_EQ(db_->exec("SELECT * FROM missing_table").error().code, kError);

  auto s = db_->prepare("SELECT ?1::text");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bind(0, 1).error().code, kRange);
  EXPECT_EQ(s->bind(2, 1).error().code, kRange);
  EXPECT_EQ(s->bind(1, std::string_view("a\0b", 3)).error().code, kBadParam);
  // The statement works after refused binds.
  ASSERT_TRUE(s->bind(1, "ok"));
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->column_text(0), "ok");
}

TEST_F(PgConnection, StatementsAreDeallocatedAndMayOutliveTheDatabase) {
  const auto count = [&] { return pg_query_int(*db_, "SELECT count(*) FROM pg_prepared_statements"); };
  const int64_t before = count();
  {
    auto s = db_->prepare("SELECT 1");
    ASSERT_TRUE(s);
    EXPECT_EQ(count(), before + 1);  // count() sees its own statement each time, and s
  }
  EXPECT_EQ(count(), before);
  // A statement keeps the connection alive after its PgDatabase is gone.
  auto other = second_connection();
  ASSERT_TRUE(other);
  auto s = other->prepare("SELECT 7");
  ASSERT_TRUE(s);
  { PgDatabase gone = std::move(*other); }
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->column_int64(0), 7);
}

TEST_F(PgConnection, MovedFromDatabaseReportsInsteadOfCrashing) {
  PgDatabase moved = std::move(*db_);
  EXPECT_FALSE(db_->is_connected());
  EXPECT_EQ(db_->exec("SELECT 1").error().code, kUnreachable);
  EXPECT_EQ(db_->prepare("SELECT 1").error().code, kUnreachable);
  EXPECT_TRUE(moved.ping());
}

// ------------------------------------------------------------------ transactions

TEST_F(PgConnection, TransactionRollsBackOnDestructionAndCommits) {
  ASSERT_TRUE(db_->exec("CREATE TABLE tx (x int)"));
  {
    auto tx = PgTransaction::begin(*db_);
    ASSERT_TRUE(tx);
    EXPECT_TRUE(db_->in_transaction());
    ASSERT_TRUE(db_->exec("INSERT INTO tx VALUES (1)"));
  }
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(pg_query_int(*db_, "SELECT count(*) FROM tx"), 0);
  {
    auto tx = PgTransaction::begin(*db_);
    ASSERT_TRUE(tx);
    EXPECT_EQ(PgTransaction::begin(*db_).error().code, kError);  // no nesting
    ASSERT_TRUE(db_->exec("INSERT INTO tx VALUES (2)"));
    ASSERT_TRUE(tx->commit());
    EXPECT_FALSE(tx->active());
    EXPECT_EQ(tx->commit().error().code, kNoTransaction);
  }
  EXPECT_EQ(pg_query_int(*db_, "SELECT count(*) FROM tx"), 1);
  {
    auto tx = PgTransaction::begin(*db_);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db_->exec("INSERT INTO tx VALUES (3)"));
    ASSERT_TRUE(tx->rollback());
  }
  EXPECT_EQ(pg_query_int(*db_, "SELECT count(*) FROM tx"), 1);
}

TEST_F(PgConnection, AnAbortedTransactionDoesNotCommit) {
  ASSERT_TRUE(db_->exec("CREATE TABLE ab (k int PRIMARY KEY)"));
  const auto prepared = [&] { return pg_query_int(*db_, "SELECT count(*) FROM pg_prepared_statements"); };
  const int64_t before = prepared();
  auto tx = PgTransaction::begin(*db_);
  ASSERT_TRUE(tx);
  auto early = std::make_unique<Result<PgStatement>>(db_->prepare("SELECT 1"));
  ASSERT_TRUE(*early);
  ASSERT_TRUE(db_->exec("INSERT INTO ab VALUES (1)"));
  EXPECT_EQ(db_->exec("INSERT INTO ab VALUES (1)").error().code, kConstraintViolation);
  // Destroyed inside the aborted transaction, where DEALLOCATE would fail: deferred.
  early.reset();
  auto st = tx->commit();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, kError);
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(pg_query_int(*db_, "SELECT count(*) FROM ab"), 0);
  EXPECT_EQ(prepared(), before);  // the next prepare() deallocated it
}

TEST_F(PgConnection, SerializationFailureIsRetry) {
  ASSERT_TRUE(db_->exec("CREATE TABLE sf (k int PRIMARY KEY, v int); INSERT INTO sf VALUES (1, 0)"));
  auto other = second_connection();
  ASSERT_TRUE(other);
  ASSERT_TRUE(db_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ"));
  EXPECT_EQ(pg_query_int(*db_, "SELECT v FROM sf WHERE k = 1"), 0);  // takes the snapshot
  ASSERT_TRUE(other->exec("UPDATE sf SET v = 1 WHERE k = 1"));
  auto st = db_->exec("UPDATE sf SET v = 2 WHERE k = 1");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, kRetry);
  ASSERT_TRUE(db_->exec("ROLLBACK"));
}

TEST_F(PgConnection, RacingInsertsOfOneKeyHaveExactlyOneWinner) {
  ASSERT_TRUE(db_->exec("CREATE TABLE race (k int PRIMARY KEY, who int)"));
  auto other = second_connection();
  ASSERT_TRUE(other) << other.error().message;
  constexpr int kKeys = 40;
  std::atomic<int> ready{0};
  std::vector<std::string> codes[2];
  auto run = [&](PgDatabase& db, int who) {
    auto ins = db.prepare("INSERT INTO race VALUES (?1, ?2)");
    ready.fetch_add(1);
    if (!ins) return;
    while (ready.load() < 2) std::this_thread::yield();
    for (int k = 0; k < kKeys; ++k) {
      (void)ins->bind(1, k);
      (void)ins->bind(2, who);
      auto r = ins->step();
      codes[who].push_back(r ? std::string("ok") : r.error().code);
      ins->reset();
    }
  };
  std::thread t([&] { run(*other, 1); });
  run(*db_, 0);
  t.join();
  ASSERT_EQ(codes[0].size(), size_t{kKeys});
  ASSERT_EQ(codes[1].size(), size_t{kKeys});
  for (int k = 0; k < kKeys; ++k) {
    const bool a = codes[0][k] == "ok", b = codes[1][k] == "ok";
    EXPECT_NE(a, b) << "key " << k << ": " << codes[0][k] << " / " << codes[1][k];
    EXPECT_EQ(a ? codes[1][k] : codes[0][k], kConstraintViolation);
  }
  EXPECT_EQ(pg_query_int(*db_, "SELECT count(*) FROM race"), kKeys);
}

// --------------------------------------------------------- connecting and failing

class PgConnect : public ::testing::Test {
 protected:
  void SetUp() override { SB_REQUIRE_PG(g_pg); }
};

TEST_F(PgConnect, PasswordsAreCheckedAndThePasswordFileMustBePrivate) {
  auto admin = g_pg->admin();
  ASSERT_TRUE(admin) << admin.error().message;
  const std::string role = sb::test::unique_name("pw");
  ASSERT_TRUE(admin->exec("CREATE ROLE " + role + " LOGIN PASSWORD 'right horse' IN ROLE password_login"));
  sb::test::TempDir dir("sbpgpw");
  PgOptions o = g_pg->options();
  o.conninfo = g_pg->conninfo() + " user=" + role;
  // libpq's own mechanisms would otherwise answer for us.
  ::setenv("PGPASSFILE", dir.file("none").c_str(), 1);
  ::unsetenv("PGPASSWORD");

  auto none = PgDatabase::open(o);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, kAuth) << none.error().message;

  o.password_file = dir.file("wrong");
  write_file(o.password_file, "wrong horse\n", 0600);
  auto wrong = PgDatabase::open(o);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, kAuth) << wrong.error().message;

  o.password_file = dir.file("right");
  write_file(o.password_file, "right horse\n", 0600);
  auto right = PgDatabase::open(o);
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_EQ(pg_query_text(*right, "SELECT current_user"), role);

  write_file(o.password_file, "right horse\n", 0644);
  auto open_to_all = PgDatabase::open(o);
  ASSERT_FALSE(open_to_all);
  EXPECT_EQ(open_to_all.error().code, kPasswordFile);
  EXPECT_NE(open_to_all.error().message.find(o.password_file), std::string::npos) << open_to_all.error().message;
  EXPECT_NE(open_to_all.error().message.find("0644"), std::string::npos) << open_to_all.error().message;

  write_file(o.password_file, "", 0600);
  EXPECT_EQ(PgDatabase::open(o).error().code, kPasswordFile);
  o.password_file = dir.file("missing");
  EXPECT_EQ(PgDatabase::open(o).error().code, kPasswordFile);

  // A password in the connection string is refused: it would end up in config files.
  PgOptions inline_pw = g_pg->options();
  inline_pw.conninfo = g_pg->conninfo() + " password=x";
  EXPECT_EQ(PgDatabase::open(inline_pw).error().code, kInvalidOption);
  ::unsetenv("PGPASSFILE");
}

TEST_F(PgConnect, UnknownDatabaseAndBadConninfo) {
  PgOptions o = g_pg->options();
  o.conninfo = g_pg->conninfo_for(sb::test::unique_name("nodb"));
  auto db = PgDatabase::open(o);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, kNoDatabase) << db.error().message;

  o.conninfo = "host=127.0.0.1 nonsense_keyword=1";
  EXPECT_EQ(PgDatabase::open(o).error().code, kInvalidOption);
}

TEST_F(PgConnect, ClosedPortIsUnreachableAtOnce) {
  PgOptions o;
  o.conninfo = "host=127.0.0.1 port=" + std::to_string(closed_port()) + " user=postgres dbname=postgres";
  o.connect_timeout = 5s;
  const auto t0 = std::chrono::steady_clock::now();
  auto db = PgDatabase::open(o);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, kUnreachable) << db.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(PgConnect, SilentServerTimesOutAsUnreachable) {
  // A listener that never answers: the TCP handshake completes (the kernel does it), the
  // start-up packet is never answered. Only connect_timeout ends the wait.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  PgOptions o;
  o.conninfo = "host=127.0.0.1 port=" + std::to_string(ntohs(a.sin_port)) + " user=postgres dbname=postgres";
  o.connect_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto db = PgDatabase::open(o);
  const auto took = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, kUnreachable) << db.error().message;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

// The server crashes under an open session and comes back. It starts the shared server
// again on the same port, so tests that run after it still find the server.
class PgServerLoss : public ::testing::Test {
 protected:
  void SetUp() override { SB_REQUIRE_PG(g_pg); }
};

TEST_F(PgServerLoss, CrashIsUnreachableAndReconnectResumes) {
  const std::string schema = sb::test::unique_name("loss");
  PgOptions o = g_pg->options(schema);
  o.connect_timeout = 2s;
  auto db = PgDatabase::open(o);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)"));
  auto stmt = db->prepare("SELECT count(*) FROM kept WHERE x = ?1");
  ASSERT_TRUE(stmt);
  ASSERT_TRUE(db->ping());

  ASSERT_EQ(g_pg->stop(/*crash=*/true), 0);
  auto lost = db->ping();
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, kUnreachable) << lost.error().message;
  EXPECT_FALSE(db->is_connected());
  // Every later call says the same, without touching the network.
  EXPECT_EQ(db->exec("SELECT 1").error().code, kUnreachable);
  ASSERT_TRUE(stmt->bind(1, 1));
  EXPECT_EQ(stmt->step().error().code, kUnreachable);
  stmt->reset();
  // While the server is down, reconnecting fails fast with the same code.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(db->reconnect().error().code, kUnreachable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);

  ASSERT_EQ(g_pg->start(), 0);
  auto back = db->reconnect();
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(db->is_connected());
  // The session settings are back, the committed row survived the crash, and the
  // statement prepared before it prepares itself again.
  EXPECT_EQ(pg_query_text(*db, "SHOW search_path"), schema);
  EXPECT_EQ(pg_query_text(*db, "SHOW synchronous_commit"), "on");
  ASSERT_TRUE(stmt->bind(1, 1));
  auto row = stmt->step();
  ASSERT_TRUE(row && *row) << (row ? "no row" : row.error().message);
  EXPECT_EQ(stmt->column_int64(0), 1);
}

TEST_F(PgServerLoss, TheConnectionHealsItselfButALostTransactionStaysFailedUntilEnded) {
  const std::string schema = sb::test::unique_name("heal");
  PgOptions o = g_pg->options(schema);
  o.connect_timeout = 2s;
  auto db = PgDatabase::open(o);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec("CREATE TABLE kept (x int)"));
  auto insert = db->prepare("INSERT INTO kept VALUES (?1)");
  ASSERT_TRUE(insert);
  auto write = [&](int x) -> Status {
    if (auto st = insert->bind(1, x); !st) return st;
    auto r = insert->step();
    insert->reset();
    if (!r) return r.error();
    return {};
  };
  ASSERT_TRUE(db->exec("BEGIN"));
  ASSERT_TRUE(write(1));

  // The server restarts under the open transaction.
  ASSERT_EQ(g_pg->stop(/*crash=*/true), 0);
  ASSERT_EQ(g_pg->start(), 0);
  auto cut = write(2);
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, kUnreachable) << cut.error().message;
  // The server is back, but the rest of the transaction must not run on a new session as
  // autocommit statements: it keeps failing, however long the caller waits.
  EXPECT_TRUE(db->in_transaction());
  std::this_thread::sleep_for(400ms);
  auto later = write(3);
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().code, kUnreachable);
  auto commit = db->exec("COMMIT");
  ASSERT_FALSE(commit) << "a COMMIT of a transaction the server dropped reported success";
  EXPECT_EQ(commit.error().code, kUnreachable);
  EXPECT_FALSE(db->in_transaction());

  // Ended: the next command opens a new session by itself, no reconnect() call.
  EXPECT_EQ(pg_query_text(*db, "SELECT count(*) FROM kept"), "0") << "part of the lost transaction was committed";
  EXPECT_TRUE(db->is_connected());
  EXPECT_EQ(pg_query_text(*db, "SHOW search_path"), schema);
  ASSERT_TRUE(write(4));
  EXPECT_EQ(pg_query_text(*db, "SELECT count(*) FROM kept"), "1");

  // Lost outside a transaction: the next statement after the server returns just works.
  ASSERT_EQ(g_pg->stop(/*crash=*/true), 0);
  auto down = write(5);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, kUnreachable);
  // While it is down, statements fail fast (one connection attempt per pause at most).
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(write(6));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ASSERT_EQ(g_pg->start(), 0);
  // The first write after the pause (250 ms after the last failed attempt) opens a new
  // session; failed tries store nothing.
  EXPECT_TRUE(sb::test::wait_until([&] { return static_cast<bool>(write(7)); }, 5s));
  EXPECT_EQ(pg_query_text(*db, "SELECT string_agg(x::text, ',' ORDER BY x) FROM kept"), "4,7");
}

}  // namespace
}  // namespace sb::storage::pg
