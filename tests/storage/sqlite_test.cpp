// The RAII wrapper: open options, round trips, errors as values, transactions; the
// PostgreSQL locator that names the other engine through the same open().
#include "storage/sqlite.hpp"

#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/storage_test_support.hpp"

namespace sb::storage {
namespace {

using test::open_db;
using test::query_int;
using test::query_text;
using test::TempDir;

TEST(SqliteOpen, ReadWriteEnablesWalForeignKeysSyncAndBusyTimeout) {
  TempDir dir;
  auto db = open_db(dir.file("a.db"), OpenOptions{.busy_timeout_ms = 1234});
  ASSERT_TRUE(db);
  EXPECT_EQ(query_text(*db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_int(*db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(query_int(*db, "PRAGMA synchronous"), 2);  // 2 = FULL
  EXPECT_EQ(query_int(*db, "PRAGMA busy_timeout"), 1234);
  EXPECT_EQ(db->path(), dir.file("a.db"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("a.db")));
}

TEST(SqliteOpen, SynchronousNormalIsApplied) {
  TempDir dir;
  auto db = open_db(dir.file("a.db"), OpenOptions{.synchronous = "NORMAL"});
  ASSERT_TRUE(db);
  EXPECT_EQ(query_int(*db, "PRAGMA synchronous"), 1);  // 1 = NORMAL
}

TEST(SqliteOpen, UnknownSynchronousIsRejected) {
  TempDir dir;
  auto db = Database::open(dir.file("a.db"), OpenOptions{.synchronous = "OFF"});
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, "storage.invalid_option");
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.db")));
}

TEST(SqliteOpen, ReadOnlyMissingFileIsCantOpen) {
  TempDir dir;
  auto db = Database::open(dir.file("missing.db"), OpenOptions{.read_only = true});
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, "sqlite.cantopen");
  EXPECT_NE(db.error().message.find("missing.db"), std::string::npos);
}

TEST(SqliteOpen, NonDatabaseFileIsRejectedAtOpen) {
  TempDir dir;
  {
    std::ofstream f(dir.file("junk.db"));
    f << std::string(8192, 'x');
  }
  auto db = Database::open(dir.file("junk.db"));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, "sqlite.notadb");
  auto ro = Database::open(dir.file("junk.db"), OpenOptions{.read_only = true});
  ASSERT_FALSE(ro);
  EXPECT_EQ(ro.error().code, "sqlite.notadb");
}

TEST(SqliteOpen, ReadOnlyConnectionReadsButCannotWrite) {
  TempDir dir;
  {
    auto db = open_db(dir.file("a.db"));
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(x); INSERT INTO t VALUES (7)"));
  }
  auto ro = open_db(dir.file("a.db"), OpenOptions{.read_only = true});
  ASSERT_TRUE(ro);
  EXPECT_EQ(query_int(*ro, "SELECT x FROM t"), 7);
  auto st = ro->exec("INSERT INTO t VALUES (8)");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "sqlite.readonly");
}

TEST(SqliteStatement, RoundTripsEveryTypeIncludingNullAndBlobs) {
  TempDir dir;
  auto db = open_db(dir.file("a.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n ANY)"));

  const std::string blob("\x00\x01\xff\x00zz\x80", 7);   // embedded NULs, high bytes
  const std::string text = "h\xC3\xA9llo \xE2\x9C\x93";  // UTF-8
  {
    auto ins = db->prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)");
    ASSERT_TRUE(ins) << ins.error().message;
    EXPECT_EQ(ins->parameter_count(), 5);
    ASSERT_TRUE(ins->bind(1, std::numeric_limits<int64_t>::min()));
    ASSERT_TRUE(ins->bind(2, 2.5));
    ASSERT_TRUE(ins->bind(3, std::string_view(text)));
    ASSERT_TRUE(ins->bind_blob(4, blob));
    ASSERT_TRUE(ins->bind(5, nullptr));
    auto r = ins->step();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(*r);
  }
  auto sel = db->prepare("SELECT i, r, s, b, n, typeof(b) FROM t");
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->column_count(), 6);
  auto r = sel->step();
  ASSERT_TRUE(r);
  ASSERT_TRUE(*r);
  EXPECT_EQ(sel->column_int64(0), std::numeric_limits<int64_t>::min());
  EXPECT_DOUBLE_EQ(sel->column_double(1), 2.5);
  EXPECT_EQ(sel->column_text(2), text);
  EXPECT_EQ(sel->column_blob(3), blob);
  EXPECT_EQ(sel->column_blob(3).size(), 7u);
  EXPECT_TRUE(sel->column_is_null(4));
  EXPECT_FALSE(sel->column_is_null(0));
  EXPECT_EQ(sel->column_text(4), "");
  EXPECT_EQ(sel->column_int64(4), 0);
  EXPECT_EQ(sel->column_text(5), "blob");
  auto end = sel->step();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
}

TEST(SqliteStatement, EmptyTextAndBlobStayEmptyNotNull) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db);
  auto sel = db->prepare("SELECT typeof(?1), typeof(?2), length(?2)");
  ASSERT_TRUE(sel);
  ASSERT_TRUE(sel->bind(1, std::string_view{}));  // default view has data() == nullptr
  ASSERT_TRUE(sel->bind_blob(2, std::string_view{}));
  ASSERT_TRUE(sel->step().value());
  EXPECT_EQ(sel->column_text(0), "text");
  EXPECT_EQ(sel->column_text(1), "blob");
  EXPECT_EQ(sel->column_int64(2), 0);
}

TEST(SqliteStatement, BindParamHandlesEveryKind) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db);
  auto sel = db->prepare("SELECT typeof(?1), typeof(?2), typeof(?3), typeof(?4), typeof(?5), ?2, ?3, ?4, ?5");
  ASSERT_TRUE(sel);
  ASSERT_TRUE(sel->bind_param(1, SqlParam::null()));
  ASSERT_TRUE(sel->bind_param(2, SqlParam::of(int64_t{42})));
  ASSERT_TRUE(sel->bind_param(3, SqlParam::of(0.25)));
  ASSERT_TRUE(sel->bind_param(4, SqlParam::of(std::string("txt"))));
  ASSERT_TRUE(sel->bind_param(5, SqlParam::blob_of(std::string("\0b", 2))));
  ASSERT_TRUE(sel->step().value());
  EXPECT_EQ(sel->column_text(0), "null");
  EXPECT_EQ(sel->column_text(1), "integer");
  EXPECT_EQ(sel->column_text(2), "real");
  EXPECT_EQ(sel->column_text(3), "text");
  EXPECT_EQ(sel->column_text(4), "blob");
  EXPECT_EQ(sel->column_int64(5), 42);
  EXPECT_DOUBLE_EQ(sel->column_double(6), 0.25);
  EXPECT_EQ(sel->column_text(7), "txt");
  EXPECT_EQ(sel->column_blob(8), std::string("\0b", 2));

  SqlParam bogus;
  bogus.kind = 99;
  auto st = sel->bind_param(1, bogus);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "storage.bad_param");
}

TEST(SqliteStatement, ResetClearsBindingsAndAllowsReuse) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(x)"));
  auto ins = db->prepare("INSERT INTO t VALUES (?1)");
  ASSERT_TRUE(ins);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ins->bind(1, i));
    ASSERT_TRUE(ins->step());
    ins->reset();
  }
  ASSERT_TRUE(ins->step());  // no bind after reset: the parameter is NULL again
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM t"), 4);
  EXPECT_EQ(query_int(*db, "SELECT sum(x) FROM t"), 3);
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM t WHERE x IS NULL"), 1);
}

TEST(SqliteErrors, BadSqlIsAnErrorValue) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db);
  auto p = db->prepare("SELEC 1");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "sqlite.error");
  EXPECT_NE(p.error().message.find("syntax error"), std::string::npos) << p.error().message;

  auto missing = db->prepare("SELECT * FROM nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no such table"), std::string::npos);

  auto st = db->exec("CREATE TABLE t(x); INSERT INTO nope VALUES (1)");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "sqlite.error");
  EXPECT_NE(st.error().message.find("no such table"), std::string::npos);

  auto empty = db->prepare("   -- nothing\n");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, "sqlite.misuse");
}

TEST(SqliteErrors, PrepareTakesExactlyOneStatement) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db);
  auto two = db->prepare("SELECT 1; SELECT 2");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code, "storage.multiple_statements");
  EXPECT_TRUE(db->prepare("SELECT 1;  -- trailing comment\n"));
}

TEST(SqliteErrors, ConstraintAndRangeErrorsAreMapped) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(k TEXT PRIMARY KEY)"));
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES ('a')"));
  auto ins = db->prepare("INSERT INTO t VALUES (?1)");
  ASSERT_TRUE(ins);
  ASSERT_TRUE(ins->bind(1, "a"));
  auto r = ins->step();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "sqlite.constraint");
  EXPECT_NE(r.error().message.find("UNIQUE"), std::string::npos) << r.error().message;
  ins->reset();

  auto range = ins->bind(2, int64_t{1});
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error().code, "sqlite.range");
}

TEST(SqliteErrors, SecondWriterGetsBusyAfterTimeout) {
  TempDir dir;
  auto a = open_db(dir.file("a.db"));
  auto b = open_db(dir.file("a.db"), OpenOptions{.busy_timeout_ms = 20});
  ASSERT_TRUE(a && b);
  auto tx = Transaction::begin(*a);
  ASSERT_TRUE(tx);
  auto other = Transaction::begin(*b);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, "sqlite.busy");
  ASSERT_TRUE(tx->commit());
  EXPECT_TRUE(Transaction::begin(*b));  // lock released: now it works
}

TEST(SqliteDatabase, LastInsertRowidAndChanges) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, x)"));
  ASSERT_TRUE(db->exec("INSERT INTO t(id, x) VALUES (41, 0)"));
  EXPECT_EQ(db->last_insert_rowid(), 41);
  ASSERT_TRUE(db->exec("INSERT INTO t(x) VALUES (0)"));
  EXPECT_EQ(db->last_insert_rowid(), 42);
  ASSERT_TRUE(db->exec("UPDATE t SET x = 1"));
  EXPECT_EQ(db->changes(), 2);
}

TEST(SqliteDatabase, MovedDatabaseKeepsWorking) {
  auto opened = Database::open(":memory:");
  ASSERT_TRUE(opened);
  Database db = std::move(opened).value();
  ASSERT_TRUE(db.exec("CREATE TABLE t(x)"));
  Database moved = std::move(db);
  ASSERT_TRUE(moved.exec("INSERT INTO t VALUES (1)"));
  EXPECT_EQ(query_int(moved, "SELECT count(*) FROM t"), 1);
}

class SqliteTransaction : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = open_db(dir_.file("tx.db"));
    ASSERT_TRUE(db);
    db_.emplace(std::move(db).value());
    ASSERT_TRUE(db_->exec("CREATE TABLE t(x)"));
  }
  int64_t rows() { return query_int(*db_, "SELECT count(*) FROM t"); }

  TempDir dir_;
  std::optional<Database> db_;
};

TEST_F(SqliteTransaction, RollsBackOnDestruction) {
  {
    auto tx = Transaction::begin(*db_);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (1)"));
    EXPECT_TRUE(db_->in_transaction());
    EXPECT_EQ(rows(), 1);  // visible inside the transaction
  }
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(rows(), 0);
}

TEST_F(SqliteTransaction, CommitPersistsAcrossConnections) {
  {
    auto tx = Transaction::begin(*db_);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (1)"));
    ASSERT_TRUE(tx->commit());
    EXPECT_FALSE(tx->active());
    auto again = tx->commit();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, "storage.no_transaction");
  }
  auto other = open_db(dir_.file("tx.db"));
  ASSERT_TRUE(other);
  EXPECT_EQ(query_int(*other, "SELECT count(*) FROM t"), 1);
}

TEST_F(SqliteTransaction, ExplicitRollbackAndMoveDoNotDoubleRollback) {
  auto tx = Transaction::begin(*db_, /*immediate=*/false);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (1)"));
  Transaction moved = std::move(tx).value();
  EXPECT_TRUE(moved.active());
  ASSERT_TRUE(moved.rollback());
  EXPECT_FALSE(moved.active());
  EXPECT_EQ(rows(), 0);
  // A new transaction committed afterwards is not touched by the old objects.
  auto tx2 = Transaction::begin(*db_);
  ASSERT_TRUE(tx2);
  ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (2)"));
  ASSERT_TRUE(tx2->commit());
  EXPECT_EQ(rows(), 1);
}

TEST_F(SqliteTransaction, NestedBeginIsAnError) {
  auto tx = Transaction::begin(*db_);
  ASSERT_TRUE(tx);
  auto nested = Transaction::begin(*db_);
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().message.find("within a transaction"), std::string::npos);
  EXPECT_TRUE(db_->in_transaction());  // the outer one is unaffected
}

TEST(PostgresLocator, RoundTripsEveryFieldWhateverItHolds) {
  const std::string conninfo = "host=db.internal port=5433 dbname=squadbox sslmode=verify-full options='-c a=b;c'";
  const std::string file = "/etc/squad box/pass%word;file\n";
  const std::string locator = postgres_locator(conninfo, "node_1", file);
  EXPECT_TRUE(is_postgres_locator(locator));
  EXPECT_TRUE(locator.starts_with("postgres:schema=node_1;password_file=")) << locator;
  EXPECT_EQ(locator.find('\n'), std::string::npos) << "a locator stays on one log line";
  auto t = parse_postgres_locator(locator);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->conninfo, conninfo);
  EXPECT_EQ(t->schema, "node_1");
  EXPECT_EQ(t->password_file, file);

  auto bare = parse_postgres_locator(postgres_locator("dbname=x"));
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->conninfo, "dbname=x");
  EXPECT_EQ(bare->schema, "");
  EXPECT_EQ(bare->password_file, "");
}

TEST(PostgresLocator, AFilePathIsNotALocatorAndMalformedOnesAreRefused) {
  EXPECT_FALSE(is_postgres_locator("/var/lib/squadbox/squadbox.db"));
  EXPECT_FALSE(is_postgres_locator("./postgres:file.db"));
  for (const char* bad : {"postgres:", "postgres:schema=a", "postgres:conninfo=x;bogus=1", "postgres:conninfo",
                          "postgres:conninfo=%zz"}) {
    auto t = parse_postgres_locator(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code, "storage.invalid_locator") << bad;
  }
}

TEST(PostgresLocator, OpenRefusesAPasswordInTheConnectionStringBeforeConnecting) {
  auto db = Database::open(postgres_locator("host=127.0.0.1 port=1 password=hunter2"));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, "postgres.invalid_option");
  EXPECT_EQ(db.error().message.find("hunter2"), std::string::npos);
}

TEST(SqliteOpen, AFileDatabaseSaysItIsSqlite) {
  TempDir dir;
  auto db = open_db(dir.file("a.db"));
  ASSERT_TRUE(db);
  EXPECT_EQ(db->engine(), Engine::sqlite);
  EXPECT_EQ(db->postgres(), nullptr);
  EXPECT_NE(db->handle(), nullptr);
  EXPECT_STREQ(db->begin_sql(true), "BEGIN IMMEDIATE");
}

}  // namespace
}  // namespace sb::storage
