#pragma once
// Verification and queries against real databases on both engines
// (tests/support/store_engines.hpp): tampering through a raw connection, a chain written
// the way the audit log actor writes it, reads next to a writer.
#include <gtest/gtest.h>

#include "storage/audit_store.hpp"
#include "storage/error_codes.hpp"
#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "tests/support/audit_test_support.hpp"
#include "tests/support/store_engines.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::security::audit::FaultKind;
using sb::security::audit::test::append_chain;
using sb::security::audit::test::tamper;

class AuditStore : public ::testing::TestWithParam<sb::storage::Engine> {
 public:
  void SetUp() override { SB_STORE_TARGET(first_, dir_); }
  // A database of its own for each call: a file in the test's dir, or a new schema.
  std::string fresh() {
    if (GetParam() == sb::storage::Engine::postgres) {
      return sb::storage::postgres_locator(sb::test::g_store_pg->conninfo(), sb::test::unique_name("audit"));
    }
    return dir_.file("audit-" + std::to_string(++files_) + ".db");
  }

 protected:
  sb::test::TempDir dir_{"squadbox-audit"};
  std::string first_;
  int files_ = 0;
};

// One database per test (or per loop round), named like the old per-test struct.
struct AuditDb {
  explicit AuditDb(AuditStore* t) : path(t->fresh()) {}
  std::string path;
};

sb::security::audit::VerifyResult verify(const std::string& path) {
  auto r = sb::storage::verify_database(path);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : sb::security::audit::VerifyResult{};
}

TEST_P(AuditStore, AnUntouchedChainOfManyRecordsVerifies) {
  AuditDb db(this);
  append_chain(db.path, 3000);
  append_chain(db.path, 2000);  // continues across writers
  auto r = verify(db.path);
  EXPECT_FALSE(r.fault.has_value()) << r.fault->reason;
  EXPECT_EQ(r.records, 5000u);
  EXPECT_EQ(r.head.size(), 32u);
}

TEST_P(AuditStore, TamperingThroughSqlIsNamedBySeq) {
  struct Case {
    const char* what;
    std::string sql;
    int64_t seq;
    FaultKind kind;
  };
  const std::vector<Case> cases = {
      {"update detail", "UPDATE audit_log SET detail = '{\"n\":0}' WHERE seq = 37", 37, FaultKind::edited},
      {"update actor", "UPDATE audit_log SET actor = 'nobody' WHERE seq = 1", 1, FaultKind::edited},
      {"update time", "UPDATE audit_log SET at = at + 1 WHERE seq = 100", 100, FaultKind::edited},
      {"delete one", "DELETE FROM audit_log WHERE seq = 50", 50, FaultKind::deleted},
      {"delete range", "DELETE FROM audit_log WHERE seq BETWEEN 20 AND 29", 20, FaultKind::deleted},
      {"swap rows", sb::security::audit::test::swap_rows_sql(10, 20), 10, FaultKind::edited},
      {"renumber", "DELETE FROM audit_log WHERE seq = 60; UPDATE audit_log SET seq = seq - 1 WHERE seq > 60", 60,
       FaultKind::edited},
  };
  for (const auto& c : cases) {
    AuditDb db(this);
    append_chain(db.path, 100);
    ASSERT_FALSE(verify(db.path).fault.has_value());
    tamper(db.path, c.sql);
    auto r = verify(db.path);
    ASSERT_TRUE(r.fault.has_value()) << c.what;
    EXPECT_EQ(r.fault->seq, c.seq) << c.what << ": " << r.fault->reason;
    EXPECT_EQ(r.fault->kind, c.kind) << c.what << ": " << r.fault->reason;
    EXPECT_EQ(r.records, static_cast<size_t>(c.seq - 1)) << c.what;
  }
}

TEST_P(AuditStore, TheTriggersRefuseAStrayUpdate) {
  AuditDb db(this);
  append_chain(db.path, 3);
  auto raw = sb::storage::Database::open(db.path);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->exec("UPDATE audit_log SET detail = '{}' WHERE seq = 2").ok());
  EXPECT_FALSE(raw->exec("DELETE FROM audit_log WHERE seq = 2").ok());
  EXPECT_FALSE(verify(db.path).fault.has_value());
}

TEST_P(AuditStore, ReadsASnapshotWhileAWriterHoldsTheLock) {
  AuditDb db(this);
  append_chain(db.path, 10);
  auto writer = sb::storage::Database::open(db.path);
  ASSERT_TRUE(writer.ok());
  auto tx = sb::storage::Transaction::begin(*writer);
  ASSERT_TRUE(tx.ok());
  // An uncommitted (and bogus) row is invisible to the reader, which does not block.
  auto bogus = writer->prepare(
      "INSERT INTO audit_log(seq, at, actor, event, prev_hash, hash) "
      "VALUES(11, 0, 'x', 'y', ?1, ?2)");
  ASSERT_TRUE(bogus.ok()) << bogus.error().message;
  ASSERT_TRUE(bogus->bind_blob(1, std::string(1, '\0')).ok());
  ASSERT_TRUE(bogus->bind_blob(2, std::string(1, '\0')).ok());
  ASSERT_TRUE(bogus->step().ok());
  auto r = verify(db.path);
  EXPECT_FALSE(r.fault.has_value());
  EXPECT_EQ(r.records, 10u);
  ASSERT_TRUE(tx->rollback().ok());
}

TEST_P(AuditStore, MissingDatabaseIsAnError) {
  const std::string missing = GetParam() == sb::storage::Engine::postgres
                                  ? sb::storage::postgres_locator(sb::test::g_store_pg->conninfo_for("no_such_db"))
                                  : dir_.file("nothing.db");
  auto r = sb::storage::verify_database(missing);
  EXPECT_FALSE(r.ok());
}

TEST_P(AuditStore, FindsAHeadPrintedEarlier) {
  AuditDb db(this);
  append_chain(db.path, 20);
  auto head = verify(db.path).head;
  append_chain(db.path, 5);
  auto seq = sb::storage::find_seq_by_hash(db.path, head);
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(seq->has_value());
  EXPECT_EQ(**seq, 20);
  tamper(db.path, "DELETE FROM audit_log WHERE seq >= 20");
  EXPECT_FALSE(verify(db.path).fault.has_value()) << "a cut-off tail leaves a valid chain...";
  EXPECT_FALSE(sb::storage::find_seq_by_hash(db.path, head)->has_value()) << "...but the old head is gone";
}

// The seqs query_records answers, in order; fails the test on an error.
std::vector<int64_t> query_seqs(sb::storage::Database& db, const sb::storage::AuditQuery& q) {
  std::vector<int64_t> out;
  auto r = sb::storage::query_records(db, q);
  EXPECT_TRUE(r.ok()) << r.error().message;
  if (r.ok())
    for (const auto& rec : *r) out.push_back(rec.fields.seq);
  return out;
}

TEST_P(AuditStore, QueriesPageByAfterLimitAndNamespace) {
  AuditDb db(this);
  append_chain(db.path, 30, [](int64_t seq) -> std::string {
    if (seq == 7) return "not json";
    if (seq == 8) return "";
    if (seq % 3 == 0) return R"({"namespace":"ops","n":)" + std::to_string(seq) + "}";
    if (seq % 3 == 1) return R"({"namespace":"main"})";
    return R"({"other":"ops"})";
  });
  auto rdb = sb::storage::Database::open(db.path, {5000, true});
  ASSERT_TRUE(rdb.ok());
  auto seqs = [&](const sb::storage::AuditQuery& q) { return query_seqs(*rdb, q); };
  EXPECT_EQ(seqs({std::nullopt, 3, std::nullopt}), (std::vector<int64_t>{28, 29, 30}));
  EXPECT_EQ(seqs({25, 100, std::nullopt}), (std::vector<int64_t>{26, 27, 28, 29, 30}));
  EXPECT_EQ(seqs({5, 2, std::nullopt}), (std::vector<int64_t>{6, 7}));
  EXPECT_EQ(seqs({std::nullopt, 4, "ops"}), (std::vector<int64_t>{21, 24, 27, 30}));
  EXPECT_EQ(seqs({20, 100, "ops"}), (std::vector<int64_t>{21, 24, 27, 30}));
  EXPECT_EQ(seqs({0, 3, "main"}), (std::vector<int64_t>{1, 4, 10}));  // 7 is not JSON
  EXPECT_TRUE(seqs({std::nullopt, 10, "nobody"}).empty());
  EXPECT_EQ(seqs({std::nullopt, 0, std::nullopt}).size(), 1u) << "limit is at least 1";
  EXPECT_EQ(seqs({std::nullopt, 100000, std::nullopt}).size(), 30u);
  EXPECT_TRUE(seqs({30, 10, std::nullopt}).empty());
}

// With a namespace filter the query reads the log a page at a time; the limit counts
// matching records, across page boundaries, from either end.
TEST_P(AuditStore, ANamespaceFilterFindsSparseRecordsAcrossPages) {
  AuditDb db(this);
  append_chain(db.path, 2000, [](int64_t seq) -> std::string {
    return seq % 300 == 0 ? R"({"namespace":"ops"})" : R"({"namespace":"main"})";
  });
  auto rdb = sb::storage::Database::open(db.path, {5000, true});
  ASSERT_TRUE(rdb.ok());
  auto seqs = [&](const sb::storage::AuditQuery& q) { return query_seqs(*rdb, q); };
  EXPECT_EQ(seqs({std::nullopt, 3, "ops"}), (std::vector<int64_t>{1200, 1500, 1800}));
  EXPECT_EQ(seqs({std::nullopt, 100, "ops"}), (std::vector<int64_t>{300, 600, 900, 1200, 1500, 1800}));
  EXPECT_EQ(seqs({0, 100, "ops"}), (std::vector<int64_t>{300, 600, 900, 1200, 1500, 1800}));
  EXPECT_EQ(seqs({1000, 2, "ops"}), (std::vector<int64_t>{1200, 1500}));
  EXPECT_EQ(seqs({1800, 10, "ops"}), std::vector<int64_t>{});
  EXPECT_EQ(seqs({std::nullopt, 1000, "main"}).size(), 1000u);
  EXPECT_EQ(seqs({std::nullopt, 1000, "main"}).back(), 2000);
}

TEST_P(AuditStore, ANamespaceMatchesOnlyATopLevelStringMember) {
  using sb::storage::detail_names_namespace;
  EXPECT_TRUE(detail_names_namespace(R"({"namespace":"ops"})", "ops"));
  EXPECT_TRUE(detail_names_namespace(R"( { "n": 1, "namespace" : "ops" } )", "ops"));
  EXPECT_TRUE(detail_names_namespace(R"({"namespace":"o\u0070s"})", "ops"));  // escapes decode
  EXPECT_FALSE(detail_names_namespace(R"({"namespace":"opsx"})", "ops"));
  EXPECT_FALSE(detail_names_namespace(R"({"namespace":5})", "5"));
  EXPECT_FALSE(detail_names_namespace(R"({"inner":{"namespace":"ops"}})", "ops"));
  EXPECT_FALSE(detail_names_namespace(R"(["namespace","ops"])", "ops"));
  EXPECT_FALSE(detail_names_namespace("not json", "ops"));
  EXPECT_FALSE(detail_names_namespace("", ""));
}

sb::storage::AuditHead head_of(sb::storage::Database& db) {
  auto head = sb::storage::read_audit_head(db);
  EXPECT_TRUE(head.ok()) << head.error().message;
  EXPECT_TRUE(head.ok() && head->has_value());
  return head.ok() && head->has_value() ? **head : sb::storage::AuditHead{};
}

TEST_P(AuditStore, TheHeadIsTheNewestRecordAndNoneBeforeTheFirst) {
  AuditDb db(this);
  {
    auto rw = sb::storage::Database::open(db.path);
    ASSERT_TRUE(rw.ok());
    ASSERT_TRUE(sb::storage::migrate(*rw).ok());
  }
  auto rdb = sb::storage::Database::open(db.path, {5000, true});
  ASSERT_TRUE(rdb.ok());
  auto empty = sb::storage::read_audit_head(*rdb);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_FALSE(empty->has_value());
  append_chain(db.path, 12);
  const auto head = head_of(*rdb);
  EXPECT_EQ(head.seq, 12);
  EXPECT_EQ(head.hash.size(), 32u);
  EXPECT_EQ(head.hash, verify(db.path).head);
}

TEST_P(AuditStore, AppendedRecordsContinueTheChainAndASeqIsWrittenOnce) {
  AuditDb db(this);
  append_chain(db.path, 5);
  auto rw = sb::storage::Database::open(db.path);
  ASSERT_TRUE(rw.ok());
  sb::storage::GroupCommitter writer(*rw);
  auto head = head_of(*rw);
  std::vector<sb::storage::WriteOp> ops;
  std::string prev = head.hash;
  for (int64_t seq = head.seq + 1; seq <= head.seq + 3; ++seq) {
    sb::security::audit::ChainRecord r;
    r.fields = {seq, 1700000100000 + seq, "audit_log", "node.start", "node", R"({"namespace":"main"})"};
    r.prev_hash = prev;
    r.hash = sb::security::audit::chain_hash(prev, r.fields);
    prev = r.hash;
    ops.push_back(sb::storage::append_audit_record(r));
  }
  EXPECT_EQ(ops[0].sql, ops[1].sql) << "one SQL text: the writer reuses its statement";
  for (const auto& out : writer.commit_batch(ops)) ASSERT_TRUE(out.ok) << out.error_message;
  auto r = verify(db.path);
  EXPECT_FALSE(r.fault.has_value()) << r.fault->reason;
  EXPECT_EQ(r.records, 8u);
  EXPECT_EQ(head_of(*rw).seq, 8);
  EXPECT_EQ(head_of(*rw).hash, prev);

  // Replaying the last op (e.g. a head that went stale) must not fork the chain.
  auto again = writer.commit_single(ops.back());
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.error_code, sb::storage::kConstraintViolation);
}

}  // namespace
