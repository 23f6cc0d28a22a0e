// storage_copy on a real PostgreSQL (tests/support/pg_server.hpp): a node's SQLite database
// written through the stores is copied into a fresh schema; every table's rows arrive, the
// audit chain verifies there and ends at the source's head, the stores read the data back,
// new rows get fresh ids; a non-empty target, a schema mismatch and a failing row leave the
// target as it was; a file another connection holds is refused; a tampered chain is
// copied as it is and reported.
#include <gtest/gtest.h>

#include "storage/audit_store.hpp"
#include "storage/group_committer.hpp"
#include "storage/inbound_store.hpp"
#include "storage/migrations.hpp"
#include "storage/namespace_store.hpp"
#include "storage/storage_copy.hpp"
#include "storage/vault_store.hpp"
#include "tests/support/audit_test_support.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/populated_node.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::storage::copy_test {
namespace {

sb::test::PgServer* const g_copy_pg = sb::test::shared_pg_server();

int64_t one_int(Database& db, const std::string& sql) {
  auto stmt = db.prepare(sql);
  EXPECT_TRUE(stmt) << sql << ": " << stmt.error().message;
  if (!stmt) return -1;
  auto row = stmt->step();
  EXPECT_TRUE(row && *row) << sql;
  return row && *row ? stmt->column_int64(0) : -1;
}

class StorageCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    SB_REQUIRE_PG(g_copy_pg);
    source = dir.file("squadbox.db");
    key = dir.file("vault.key");
    target = postgres_locator(g_copy_pg->conninfo(), sb::test::unique_name("copy"));
  }

  void populate() { sb::test::populate_node_database(source, dir.path(), key); }

  // What `squadbox storage migrate` does, without the printing.
  Result<CopyReport> copy() {
    auto to = Database::open(target);
    if (!to) return to.error();
    if (auto st = check_postgres_target_empty(*to); !st) return st.error();
    auto from = open_stopped_sqlite(source);
    if (!from) return from.error();
    if (auto st = migrate(*from); !st) return st.error();
    if (auto st = migrate(*to); !st) return st.error();
    return copy_sqlite_to_postgres(*from, *to);
  }

  int64_t target_int(const std::string& sql) {
    auto db = Database::open(target);
    EXPECT_TRUE(db) << db.error().message;
    return db ? one_int(*db, sql) : -1;
  }

  sb::test::TempDir dir{"sbcopy"};
  std::string source, key, target;
};

TEST_F(StorageCopy, CopiesEveryTableWithItsRowsAndTheChainVerifiesOnTheTarget) {
  populate();
  auto report = copy();
  ASSERT_TRUE(report) << report.error().code << ": " << report.error().message;
  EXPECT_TRUE(report->counts_match());
  EXPECT_TRUE(report->chain_matches());
  std::map<std::string, int64_t> rows;
  for (const auto& t : report->tables) {
    EXPECT_EQ(t.source_rows, t.target_rows) << t.table;
    rows[t.table] = t.target_rows;
  }
  EXPECT_EQ(rows.size(), 19u) << "every table of schema version " << kSchemaVersion;
  EXPECT_EQ(rows["namespaces"], 2);
  EXPECT_EQ(rows["namespace_id_ranges"], 3) << "the deleted namespace's slot stays taken";
  EXPECT_EQ(rows["chat_mappings"], 1);
  EXPECT_EQ(rows["sender_allowlists"], 1);
  EXPECT_EQ(rows["routing_settings"], 2) << "the default policy and its namespace";
  EXPECT_EQ(rows["namespace_cursors"], 1);
  EXPECT_EQ(rows["inbound_messages"], 5);
  EXPECT_EQ(rows["outbox"], 2);
  EXPECT_EQ(rows["channel_state"], 1);
  EXPECT_EQ(rows["container_runs"], 1);
  EXPECT_EQ(rows["container_run_transitions"], 2);
  EXPECT_EQ(rows["scheduled_tasks"], 1);
  EXPECT_EQ(rows["task_runs"], 1);
  EXPECT_EQ(rows["secrets"], 1);
  EXPECT_EQ(rows["vault_check"], 1) << "the key that opens the source opens the target";
  EXPECT_EQ(rows["audit_log"], sb::test::kPopulatedAuditRecords);
  EXPECT_EQ(report->rows, 32);
  // Referenced tables come first, and the id ranges before the namespaces (the trigger).
  auto pos = [&](const std::string& t) {
    for (size_t i = 0; i < report->tables.size(); ++i)
      if (report->tables[i].table == t) return i;
    return report->tables.size();
  };
  EXPECT_LT(pos("namespace_id_ranges"), pos("namespaces"));
  EXPECT_LT(pos("namespaces"), pos("chat_mappings"));
  EXPECT_LT(pos("scheduled_tasks"), pos("task_runs"));
  EXPECT_LT(pos("container_runs"), pos("container_run_transitions"));

  EXPECT_EQ(report->target_chain.records, static_cast<size_t>(sb::test::kPopulatedAuditRecords));
  EXPECT_EQ(report->target_chain.head, report->source_chain.head);
  EXPECT_FALSE(report->target_chain.fault);
  auto verified = verify_database(target);  // what `squadbox audit verify` runs
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_FALSE(verified->fault);
  EXPECT_EQ(verified->head, report->source_chain.head);

  // The stores read the copied data.
  auto ns = NamespaceStore::open(target, dir.path());
  ASSERT_TRUE(ns) << ns.error().message;
  auto alpha = (*ns)->get("alpha");
  ASSERT_TRUE(alpha) << alpha.error().message;
  EXPECT_EQ(alpha->description, "the alpha squad");
  EXPECT_TRUE(alpha->is_main);
  auto mappings = (*ns)->mappings();
  ASSERT_TRUE(mappings);
  ASSERT_EQ(mappings->size(), 1u);
  EXPECT_EQ((*mappings)[0].jid, "tg:100");
  VaultOptions vo;
  vo.db_path = target;
  vo.key_file = key;  // the node's key: the ciphertexts were copied as they are
  auto vault = Vault::open(vo);
  ASSERT_TRUE(vault) << vault.error().message;
  auto secret = (*vault)->get(sb::test::kPopulatedSecretName);
  ASSERT_TRUE(secret) << secret.error().message;
  EXPECT_EQ(secret->reveal(), sb::test::kPopulatedSecretValue);
  EXPECT_EQ(target_int("SELECT count(*) FROM inbound_messages WHERE text = 'message 3 \xe2\x9c\x93' AND is_group = 0"),
            1);
}

TEST_F(StorageCopy, ARowInsertedAfterTheCopyGetsAFreshId) {
  populate();
  auto report = copy();
  ASSERT_TRUE(report) << report.error().message;
  auto db = Database::open(target);
  ASSERT_TRUE(db) << db.error().message;
  const int64_t max_inbound = one_int(*db, "SELECT max(id) FROM inbound_messages");
  GroupCommitter gc(*db);
  messaging::StoredMessage m;
  m.channel = "telegram";
  m.bot = "main";
  m.chat_jid = "tg:100";
  m.platform_message_id = "after-the-copy";
  auto out = gc.commit_single(insert_inbound(m, 1800000000000));
  ASSERT_TRUE(out.ok) << out.error_code << ": " << out.error_message;
  ASSERT_EQ(out.returned_ids.size(), 1u);
  EXPECT_GT(out.returned_ids[0], max_inbound);

  // A new namespace gets the next id range slot, after the deleted one's.
  const int64_t max_slot = one_int(*db, "SELECT max(slot) FROM namespace_id_ranges");
  EXPECT_EQ(max_slot, 3);
  auto ns = NamespaceStore::open(target, dir.path());
  ASSERT_TRUE(ns) << ns.error().message;
  namespaces::NamespacePatch p;
  p.name = "delta";
  auto delta = (*ns)->create(p);
  ASSERT_TRUE(delta) << delta.error().message;
  EXPECT_EQ(one_int(*db, "SELECT slot FROM namespace_id_ranges WHERE namespace_id = '" + delta->id + "'"),
            max_slot + 1);
  EXPECT_GT(one_int(*db,
                    "INSERT INTO task_runs(task_id, run_at, status) SELECT id, 1, 'running' FROM scheduled_tasks "
                    "RETURNING id"),
            1);
}

TEST_F(StorageCopy, ANonEmptyTargetIsRefusedAndLeftAsItWas) {
  populate();
  ASSERT_TRUE(copy());
  const int64_t inbound = target_int("SELECT count(*) FROM inbound_messages");
  auto again = copy();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "storage.target_not_empty");
  EXPECT_NE(again.error().message.find("copy_"), std::string::npos) << "names the schema: " << again.error().message;
  EXPECT_EQ(target_int("SELECT count(*) FROM inbound_messages"), inbound);

  // The check inside the copy holds too (another copy got in first).
  auto from = open_stopped_sqlite(source);
  ASSERT_TRUE(from) << from.error().message;
  auto to = Database::open(target);
  ASSERT_TRUE(to);
  auto inner = copy_sqlite_to_postgres(*from, *to);
  ASSERT_FALSE(inner);
  EXPECT_EQ(inner.error().code, "storage.target_not_empty");
  EXPECT_EQ(one_int(*to, "SELECT count(*) FROM audit_log"), sb::test::kPopulatedAuditRecords);
}

TEST_F(StorageCopy, ARowThatCannotBeStoredRollsTheWholeCopyBack) {
  populate();
  {
    // SQLite text may hold a NUL byte, PostgreSQL text cannot: this table fails after
    // others were inserted.
    auto db = Database::open(source);
    ASSERT_TRUE(db);
    auto stmt = db->prepare("INSERT INTO routing_settings(key, value) VALUES('nul', ?1)");
    ASSERT_TRUE(stmt);
    ASSERT_TRUE(stmt->bind(1, std::string_view("a\0b", 3)).ok());
    ASSERT_TRUE(stmt->step().ok());
  }
  auto report = copy();
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message.find("routing_settings"), std::string::npos) << report.error().message;
  auto to = Database::open(target);
  ASSERT_TRUE(to);
  EXPECT_TRUE(check_postgres_target_empty(*to).ok()) << "a failed copy left rows behind";
  EXPECT_EQ(one_int(*to, "SELECT count(*) FROM inbound_messages"), 0);
}

TEST_F(StorageCopy, ATableOnOneSideOnlyIsAnErrorNotSkipped) {
  populate();
  {
    auto db = Database::open(source);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE local_notes(id INTEGER PRIMARY KEY, note TEXT) STRICT").ok());
  }
  auto report = copy();
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, "storage.copy_schema_mismatch");
  EXPECT_NE(report.error().message.find("local_notes"), std::string::npos) << report.error().message;
  EXPECT_EQ(target_int("SELECT count(*) FROM namespaces"), 0);
}

TEST_F(StorageCopy, AFileAnotherConnectionHoldsIsRefused) {
  populate();
  {
    // A running node keeps its connections open between writes.
    auto node = Database::open(source);
    ASSERT_TRUE(node);
    EXPECT_EQ(one_int(*node, "SELECT count(*) FROM namespaces"), 2);
    auto refused = open_stopped_sqlite(source);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "storage.in_use");
  }
  auto from = open_stopped_sqlite(source);
  ASSERT_TRUE(from) << from.error().message;
  // And while the copy holds it, a node cannot write.
  OpenOptions quick;
  quick.busy_timeout_ms = 100;
  auto node = Database::open(source, quick);
  if (node) {
    EXPECT_FALSE(node->exec("INSERT INTO routing_settings(key, value) VALUES('late', 'x')").ok());
  }
  EXPECT_EQ(open_stopped_sqlite(dir.file("missing.db")).error().code, "storage.not_found");
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.db")));
}

TEST_F(StorageCopy, ALongTableGoesInManyBatchesAndVerifiesAcrossPages) {
  populate();
  // 10,007 records: twenty full batches of 500 and a tail, and three verify pages.
  security::audit::test::append_chain(source, 10000);
  std::vector<int64_t> seen;
  auto to = Database::open(target);
  ASSERT_TRUE(to);
  auto from = open_stopped_sqlite(source);
  ASSERT_TRUE(from) << from.error().message;
  ASSERT_TRUE(migrate(*to).ok());
  auto report = copy_sqlite_to_postgres(*from, *to, [&](const CopyProgress& p) {
    if (p.table == "audit_log") seen.push_back(p.rows_done);
  });
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->counts_match());
  EXPECT_TRUE(report->chain_matches());
  EXPECT_EQ(report->target_chain.records, 10007u);
  ASSERT_EQ(seen.size(), 21u);
  EXPECT_EQ(seen.front(), 500);
  EXPECT_EQ(seen.back(), 10007);
}

TEST_F(StorageCopy, ValuesAreBoundByTheirTypeIntoTheTargetColumnsType) {
  // A table both sides have, with PostgreSQL types the schema does not use today:
  // boolean takes 0/1, bytea takes blobs and text as their bytes.
  {
    auto db = Database::open(source);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db).ok());
    ASSERT_TRUE(db->exec("CREATE TABLE extra_types(id INTEGER PRIMARY KEY, flag INTEGER, raw BLOB, note TEXT, "
                         "ratio REAL) STRICT")
                    .ok());
    ASSERT_TRUE(db->exec("INSERT INTO extra_types VALUES (1, 1, x'00ff10', 'caf\xc3\xa9', 0.25), "
                         "(2, 0, NULL, NULL, NULL), (3, NULL, x'', '', -1.5e300)")
                    .ok());
  }
  {
    auto to = Database::open(target);
    ASSERT_TRUE(to);
    ASSERT_TRUE(migrate(*to).ok());
    ASSERT_TRUE(to->exec("CREATE TABLE extra_types(id bigint PRIMARY KEY, flag boolean, raw bytea, note text, "
                         "ratio double precision)")
                    .ok());
  }
  auto report = copy();
  ASSERT_TRUE(report) << report.error().code << ": " << report.error().message;
  EXPECT_TRUE(report->counts_match());
  auto to = Database::open(target);
  ASSERT_TRUE(to);
  EXPECT_EQ(one_int(*to,
                    "SELECT count(*) FROM extra_types WHERE id = 1 AND flag AND raw = '\\x00ff10'::bytea "
                    "AND note = 'caf\xc3\xa9' AND ratio = 0.25"),
            1);
  EXPECT_EQ(one_int(*to, "SELECT count(*) FROM extra_types WHERE id = 2 AND NOT flag AND raw IS NULL AND note IS NULL"),
            1);
  EXPECT_EQ(one_int(*to,
                    "SELECT count(*) FROM extra_types WHERE id = 3 AND flag IS NULL AND raw = ''::bytea AND "
                    "note = '' AND ratio = -1.5e300"),
            1);
}

TEST_F(StorageCopy, AValueTheTargetTypeCannotHoldIsAnErrorNamingIt) {
  {
    auto db = Database::open(source);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db).ok());
    ASSERT_TRUE(db->exec("CREATE TABLE extra_flags(id INTEGER PRIMARY KEY, flag INTEGER) STRICT").ok());
    ASSERT_TRUE(db->exec("INSERT INTO extra_flags VALUES (7, 2)").ok());
    ASSERT_TRUE(db->exec("INSERT INTO namespaces(id, name, created_at, updated_at) VALUES('n1', 'one', 1, 1)").ok());
  }
  {
    auto to = Database::open(target);
    ASSERT_TRUE(to);
    ASSERT_TRUE(migrate(*to).ok());
    ASSERT_TRUE(to->exec("CREATE TABLE extra_flags(id bigint PRIMARY KEY, flag boolean)").ok());
  }
  auto report = copy();
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, "storage.copy_type_mismatch");
  EXPECT_NE(report.error().message.find("extra_flags, column flag, rowid 7"), std::string::npos)
      << report.error().message;
  EXPECT_EQ(target_int("SELECT count(*) FROM namespaces"), 0);
}

TEST_F(StorageCopy, ATamperedChainIsCopiedAsItIsAndReported) {
  populate();
  security::audit::test::tamper(source, "UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 3");
  auto report = copy();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->counts_match());
  EXPECT_FALSE(report->chain_matches());
  ASSERT_TRUE(report->target_chain.fault);
  EXPECT_EQ(report->target_chain.fault->seq, 3);
  EXPECT_EQ(report->target_chain.fault->kind, security::audit::FaultKind::edited);
  ASSERT_TRUE(report->source_chain.fault);
  EXPECT_EQ(report->source_chain.fault->seq, 3);
}

}  // namespace
}  // namespace sb::storage::copy_test
