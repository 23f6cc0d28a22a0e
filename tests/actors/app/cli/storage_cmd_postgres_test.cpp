// The real `squadbox storage migrate` against a throwaway PostgreSQL server
// (tests/support/pg_server.hpp): a populated data dir moves into a fresh schema (exit 0,
// per-table counts, the verified chain head) and a node's stores read it there; a second
// run into the same schema, a password in --to, a tampered audit chain, an unreachable
// server and a node still holding the file all exit non-zero saying why.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/security/audit/audit_chain.hpp"
#include "storage/audit_store.hpp"
#include "storage/namespace_store.hpp"
#include "storage/vault_store.hpp"
#include "tests/support/audit_test_support.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/populated_node.hpp"

namespace sb::app::cli::storage_migrate_test {
namespace {

sb::test::PgServer* const g_migrate_pg = sb::test::shared_pg_server();

class StorageMigrateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    SB_REQUIRE_PG(g_migrate_pg);
    data = dir.file("data");
    std::filesystem::create_directories(data);
    schema = sb::test::unique_name("mig");
  }
  void populate() { sb::test::populate_node_database(data + "/squadbox.db", data, data + "/vault.key"); }
  std::string locator() const { return storage::postgres_locator(g_migrate_pg->conninfo(), schema); }
  sb::test::CliRun migrate(const std::string& tag, const std::string& to) {
    return sb::test::run_cli(dir, tag, {"storage", "migrate", "--data-dir", data, "--to", to, "--schema", schema});
  }
  int64_t target_count(const std::string& table) {
    auto db = storage::Database::open(locator());
    EXPECT_TRUE(db) << db.error().message;
    if (!db) return -1;
    auto stmt = db->prepare("SELECT count(*) FROM " + table);
    if (!stmt) return -1;
    auto row = stmt->step();
    return row && *row ? stmt->column_int64(0) : -1;
  }

  sb::test::TempDir dir;
  std::string data, schema;
};

TEST_F(StorageMigrateCli, MovesAPopulatedNodeAndVerifiesTheChain) {
  populate();
  const auto source_chain = storage::verify_database(data + "/squadbox.db");
  ASSERT_TRUE(source_chain);
  auto r = migrate("ok", g_migrate_pg->conninfo());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("inbound_messages"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("audit chain in postgres: ok, 7 records, head " + security::audit::to_hex(source_chain->head)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ok: 32 rows in 19 tables copied into schema \"" + schema + "\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("MISMATCH"), std::string::npos) << r.out;

  EXPECT_EQ(target_count("inbound_messages"), 5);
  EXPECT_EQ(target_count("audit_log"), sb::test::kPopulatedAuditRecords);
  auto ns = storage::NamespaceStore::open(locator(), data);
  ASSERT_TRUE(ns) << ns.error().message;
  auto beta = (*ns)->get("beta");
  ASSERT_TRUE(beta) << beta.error().message;
  EXPECT_EQ(beta->description, "the beta squad");
  storage::VaultOptions vo;
  vo.db_path = locator();
  vo.key_file = data + "/vault.key";
  auto vault = storage::Vault::open(vo);
  ASSERT_TRUE(vault) << vault.error().message;
  auto secret = (*vault)->get(sb::test::kPopulatedSecretName);
  ASSERT_TRUE(secret) << secret.error().message;
  EXPECT_EQ(secret->reveal(), sb::test::kPopulatedSecretValue);

  // The source stays as it was: its own chain still verifies.
  auto verify = sb::test::run_cli(dir, "verify", {"audit", "verify", "--data-dir", data});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;

  // `squadbox audit verify` on the node's new configuration: the chain ends at the old head.
  const std::string config = dir.file("postgres.toml");
  std::ofstream(config) << "[storage]\nbackend = \"postgres\"\npostgres_url = \"" << g_migrate_pg->conninfo()
                        << "\"\npostgres_schema = \"" << schema << "\"\n";
  auto on_pg = sb::test::run_cli(dir, "verify-pg",
                                 {"audit", "verify", "--config", config, "--data-dir", data, "--expect-head",
                                  security::audit::to_hex(source_chain->head)});
  EXPECT_EQ(on_pg.code, 0) << on_pg.out << on_pg.err;
  EXPECT_EQ(on_pg.out, "ok: 7 records, head " + security::audit::to_hex(source_chain->head) + "\n");

  // Run again into the same schema: refused, nothing changed.
  auto again = migrate("again", g_migrate_pg->conninfo());
  EXPECT_EQ(again.code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("schema \"" + schema + "\" is not empty"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("nothing was written"), std::string::npos) << again.err;
  EXPECT_EQ(target_count("inbound_messages"), 5);
  EXPECT_EQ(target_count("audit_log"), sb::test::kPopulatedAuditRecords);
}

TEST_F(StorageMigrateCli, APasswordInTheConnectionStringIsRefused) {
  populate();
  auto r = migrate("password", g_migrate_pg->conninfo() + " password=hunter2");
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("must not contain a password"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << "echoed the password: " << r.err;
  auto uri = migrate("uri", "postgresql://postgres:hunter2@127.0.0.1/postgres");
  EXPECT_EQ(uri.code, 2) << uri.out << uri.err;
}

TEST_F(StorageMigrateCli, ATamperedChainIsReportedWithExit1) {
  populate();
  security::audit::test::tamper(data + "/squadbox.db", "UPDATE audit_log SET subject = 'x' WHERE seq = 4");
  auto r = migrate("tampered", g_migrate_pg->conninfo());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("audit chain in postgres: FAILED at seq 4 (edited)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("audit chain in sqlite:   FAILED at seq 4 (edited)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAILED: the copy was committed"), std::string::npos) << r.out;
}

TEST_F(StorageMigrateCli, AnUnreachableServerIsNamedAndNothingIsTouched) {
  populate();
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  auto r = migrate("unreachable", "host=127.0.0.1 port=1 dbname=postgres connect_timeout=5");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("host=127.0.0.1 port=1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("postgres.unreachable"), std::string::npos) << r.err;
}

TEST_F(StorageMigrateCli, ARunningNodeIsRefused) {
  populate();
  // A node keeps its connection to the file open while it runs.
  auto node = storage::Database::open(data + "/squadbox.db");
  ASSERT_TRUE(node);
  ASSERT_TRUE(node->exec("SELECT count(*) FROM namespaces").ok());
  auto r = migrate("running", g_migrate_pg->conninfo());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("storage.in_use"), std::string::npos) << r.err;
  EXPECT_EQ(target_count("namespaces"), -1) << "no table was created in the target";
}

TEST_F(StorageMigrateCli, AnOlderSourceIsUpgradedFirstAndSaysSo) {
  // What a node of the previous release left: every migration but the newest.
  auto db = storage::Database::open(dir.file("old.db"));
  ASSERT_TRUE(db);
  const auto scripts = storage::migration_scripts();
  for (size_t i = 0; i + 1 < scripts.size(); ++i) ASSERT_TRUE(db->exec(scripts[i]).ok()) << i;
  ASSERT_TRUE(db->exec("PRAGMA user_version = " + std::to_string(scripts.size() - 1)).ok());
  ASSERT_TRUE(db->exec("INSERT INTO namespaces(id, name, created_at, updated_at) VALUES('n1', 'old', 1, 1)").ok());
  db = storage::Database::open(":memory:");  // closes old.db
  const std::string old_dir = dir.file("old");
  std::filesystem::create_directories(old_dir);
  std::filesystem::rename(dir.file("old.db"), old_dir + "/squadbox.db");
  auto r = sb::test::run_cli(
      dir, "older",
      {"storage", "migrate", "--data-dir", old_dir, "--to", g_migrate_pg->conninfo(), "--schema", schema});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("from schema version " + std::to_string(storage::kSchemaVersion - 1) + " to " +
                       std::to_string(storage::kSchemaVersion)),
            std::string::npos)
      << r.out;
  EXPECT_EQ(target_count("namespaces"), 1);
}

}  // namespace
}  // namespace sb::app::cli::storage_migrate_test
