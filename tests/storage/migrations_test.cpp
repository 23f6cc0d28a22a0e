// Schema migrations: fresh install, idempotence, refusal of newer schemas, and the
// constraints the rest of squadbox relies on.
#include "storage/migrations.hpp"

#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/storage_test_support.hpp"

namespace sb::storage {
namespace {

using test::open_db;
using test::query_int;
using test::TempDir;

std::set<std::string> user_tables(Database& db) {
  std::set<std::string> out;
  auto stmt = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  EXPECT_TRUE(stmt);
  if (!stmt) return out;
  while (stmt->step().value()) out.insert(stmt->column_text(0));
  return out;
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Status exec_ok(Database& db, std::string_view sql) {
  auto st = db.exec(sql);
  if (!st) ADD_FAILURE() << sql << ": " << st.error().message;
  return st;
}

class Migrated : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = open_db(dir_.file("squadbox.db"));
    ASSERT_TRUE(db);
    db_.emplace(std::move(db).value());
    auto st = migrate(*db_);
    ASSERT_TRUE(st) << st.error().message;
  }
  TempDir dir_;
  std::optional<Database> db_;
};

TEST(Migrations, FreshDatabaseMigratesToCurrentVersion) {
  TempDir dir;
  auto db = open_db(dir.file("squadbox.db"));
  ASSERT_TRUE(db);
  EXPECT_EQ(schema_version(*db), 0);
  auto st = migrate(*db);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(schema_version(*db), kSchemaVersion);
  EXPECT_FALSE(db->in_transaction());
}

TEST(Migrations, ReopenAndMigrateAgainIsANoOp) {
  TempDir dir;
  {
    auto db = open_db(dir.file("squadbox.db"));
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db));
    ASSERT_TRUE(exec_ok(
        *db, "INSERT INTO namespaces(id, name, description, created_at, updated_at) VALUES ('ns1', 'main', '', 1, 1)"));
  }
  auto db = open_db(dir.file("squadbox.db"));
  ASSERT_TRUE(db);
  EXPECT_EQ(schema_version(*db), kSchemaVersion);
  const int64_t schema_cookie = query_int(*db, "PRAGMA schema_version");
  auto st = migrate(*db);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_TRUE(migrate(*db));
  EXPECT_EQ(schema_version(*db), kSchemaVersion);
  // PRAGMA schema_version changes on any DDL: unchanged means nothing was re-run.
  EXPECT_EQ(query_int(*db, "PRAGMA schema_version"), schema_cookie);
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM namespaces"), 1);
}

TEST_F(Migrated, EveryTableExists) {
  const std::set<std::string> expected = {"namespaces",       "chat_mappings",     "inbound_messages",
                                          "outbox",           "container_runs",    "container_run_transitions",
                                          "scheduled_tasks",  "task_runs",         "audit_log",
                                          "secrets",          "channel_state",     "sender_allowlists",
                                          "routing_settings", "namespace_cursors", "namespace_id_ranges",
                                          "cluster_members",  "cluster_leases",    "vault_check",
                                          "cluster_settings"};
  EXPECT_EQ(user_tables(*db_), expected);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM sqlite_schema WHERE name = 'outbox_due'"), 1);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM sqlite_schema WHERE name = 'inbound_messages_by_state'"), 1);
}

// v7 gives the namespaces that exist their host id range slots, oldest first, and every
// later namespace one of its own through the trigger.
TEST(Migrations, Version7GivesEveryNamespaceAnIdRangeSlot) {
  TempDir dir;
  auto db = open_db(dir.file("squadbox.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db));
  ASSERT_TRUE(exec_ok(*db,
                      "DROP TRIGGER namespaces_id_range; DROP TABLE namespace_id_ranges;"
                      "INSERT INTO namespaces(id, name, created_at, updated_at) VALUES ('n2', 'later', 5, 5),"
                      " ('n1', 'older', 3, 3);"
                      "DROP INDEX outbox_pending_chat; ALTER TABLE outbox DROP COLUMN attempt_started_at;"  // v8
                      "ALTER TABLE inbound_messages DROP COLUMN turn_last_id;"                              // v9
                      "ALTER TABLE namespaces DROP COLUMN agent_config;"                                    // v10
                      "ALTER TABLE namespaces DROP COLUMN instructions;"                                    // v10
                      "DROP TRIGGER container_runs_seq; DROP INDEX container_runs_by_seq;"                  // v11
                      "ALTER TABLE container_runs DROP COLUMN seq;"                                         // v11
                      "DROP TABLE cluster_members; DROP TABLE cluster_leases; DROP TABLE vault_check; DROP TABLE cluster_settings;"      // v12
                      "PRAGMA user_version = 6;"));
  auto st = migrate(*db);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(query_int(*db, "SELECT slot FROM namespace_id_ranges WHERE namespace_id = 'n1'"), 1);
  EXPECT_EQ(query_int(*db, "SELECT slot FROM namespace_id_ranges WHERE namespace_id = 'n2'"), 2);
  ASSERT_TRUE(exec_ok(*db, "INSERT INTO namespaces(id, name, created_at, updated_at) VALUES ('n3', 'new', 9, 9)"));
  EXPECT_EQ(query_int(*db, "SELECT slot FROM namespace_id_ranges WHERE namespace_id = 'n3'"), 3);
  // Deleting a namespace keeps its slot taken.
  ASSERT_TRUE(exec_ok(*db, "DELETE FROM namespaces WHERE id = 'n3'"));
  ASSERT_TRUE(exec_ok(*db, "INSERT INTO namespaces(id, name, created_at, updated_at) VALUES ('n4', 'new', 9, 9)"));
  EXPECT_EQ(query_int(*db, "SELECT slot FROM namespace_id_ranges WHERE namespace_id = 'n4'"), 4);
}

// v10 gives the namespaces that exist no agent settings of their own (the node's defaults)
// and no instructions.
TEST(Migrations, Version10GivesExistingNamespacesTheNodeDefaults) {
  TempDir dir;
  auto db = open_db(dir.file("squadbox.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db));
  ASSERT_TRUE(exec_ok(*db,
                      "ALTER TABLE namespaces DROP COLUMN agent_config; ALTER TABLE namespaces DROP COLUMN "
                      "instructions;"
                      "INSERT INTO namespaces(id, name, created_at, updated_at) VALUES ('n1', 'older', 3, 3);"
                      "DROP TRIGGER container_runs_seq; DROP INDEX container_runs_by_seq;"              // v11
                      "ALTER TABLE container_runs DROP COLUMN seq;"                                     // v11
                      "DROP TABLE cluster_members; DROP TABLE cluster_leases; DROP TABLE vault_check; DROP TABLE cluster_settings;"  // v12
                      "PRAGMA user_version = 9;"));
  auto st = migrate(*db);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(schema_version(*db), kSchemaVersion);
  EXPECT_EQ(test::query_text(*db, "SELECT agent_config FROM namespaces WHERE id = 'n1'"), "{}");
  EXPECT_EQ(test::query_text(*db, "SELECT instructions FROM namespaces WHERE id = 'n1'"), "");
}

// v11 numbers the container runs that exist in their insertion (rowid) order, and every
// later run after them.
TEST(Migrations, Version11NumbersContainerRunsInInsertionOrder) {
  TempDir dir;
  auto db = open_db(dir.file("squadbox.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db));
  ASSERT_TRUE(exec_ok(*db,
                      "DROP TRIGGER container_runs_seq; DROP INDEX container_runs_by_seq;"
                      "ALTER TABLE container_runs DROP COLUMN seq;"
                      "INSERT INTO container_runs(id, kind, backend, image, state) VALUES"
                      " ('zeta', 'agent', 'oci', 'img', 'exited'), ('alpha', 'agent', 'oci', 'img', 'exited');"
                      "DROP TABLE cluster_members; DROP TABLE cluster_leases; DROP TABLE vault_check; DROP TABLE cluster_settings;"  // v12
                      "PRAGMA user_version = 10;"));
  auto st = migrate(*db);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(schema_version(*db), kSchemaVersion);
  EXPECT_EQ(query_int(*db, "SELECT seq FROM container_runs WHERE id = 'zeta'"), 1);
  EXPECT_EQ(query_int(*db, "SELECT seq FROM container_runs WHERE id = 'alpha'"), 2);
  ASSERT_TRUE(exec_ok(*db,
                      "INSERT INTO container_runs(id, kind, backend, image, state) VALUES"
                      " ('beta', 'agent', 'oci', 'img', 'pending')"));
  EXPECT_EQ(query_int(*db, "SELECT seq FROM container_runs WHERE id = 'beta'"), 3);
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM container_runs WHERE seq IS NULL"), 0);
}

// After v2 the dedupe key is per (channel, bot, platform id) and the outbox knows its bot.
TEST(Migrations, Version2DedupesInboundPerBot) {
  TempDir dir;
  const std::string path = dir.file("squadbox.db");
  auto db = open_db(path);
  ASSERT_TRUE(db);
  ASSERT_TRUE(sb::storage::migrate(*db).ok());
  ASSERT_TRUE(exec_ok(*db,
                      "INSERT INTO inbound_messages(channel, bot, platform_message_id, chat_jid, received_at) "
                      "VALUES('slack', 'a', 'Ev1', 'slack:C1', 1), ('slack', 'b', 'Ev1', 'slack:C1', 1)"));
  auto duplicate = db->exec(
      "INSERT INTO inbound_messages(channel, bot, platform_message_id, chat_jid, received_at) "
      "VALUES('slack', 'a', 'Ev1', 'slack:C1', 2)");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "sqlite.constraint");
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM inbound_messages"), 2);
  ASSERT_TRUE(exec_ok(*db,
                      "INSERT INTO outbox(channel, bot, chat_jid, text, next_attempt_at, created_at, updated_at) "
                      "VALUES('slack', 'a', 'slack:C1', 'hi', 0, 0, 0)"));
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM outbox WHERE state = 'pending' AND delivered_id IS NULL"), 1);
}

// v5 rebuilds v1's task tables: rows and their run log survive, with the new defaults.
TEST(Migrations, Version5KeepsVersion1TasksAndRuns) {
  TempDir dir;
  auto db = open_db(dir.file("squadbox.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db));
  // Back to v4's task tables (v1's shape), with a paused task and one run.
  ASSERT_TRUE(exec_ok(*db, "DROP TABLE task_runs; DROP TABLE scheduled_tasks;"));
  ASSERT_TRUE(exec_ok(
      *db,
      "CREATE TABLE scheduled_tasks (id TEXT PRIMARY KEY, name TEXT NOT NULL, namespace_id TEXT NOT "
      "NULL REFERENCES namespaces(id) ON DELETE CASCADE, prompt TEXT NOT NULL, schedule_type TEXT NOT "
      "NULL, schedule_value TEXT NOT NULL, image TEXT, timeout_secs INTEGER NOT NULL DEFAULT 300, "
      "context_mode TEXT NOT NULL DEFAULT 'isolated', enabled INTEGER NOT NULL DEFAULT 1, next_run "
      "INTEGER, last_run INTEGER, last_result TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT "
      "NULL) STRICT;"
      "CREATE INDEX scheduled_tasks_due ON scheduled_tasks(enabled, next_run);"
      "CREATE INDEX scheduled_tasks_by_namespace ON scheduled_tasks(namespace_id);"
      "CREATE TABLE task_runs (id INTEGER PRIMARY KEY, task_id TEXT NOT NULL REFERENCES "
      "scheduled_tasks(id) ON DELETE CASCADE, run_at INTEGER NOT NULL, duration_ms INTEGER, status "
      "TEXT NOT NULL, result TEXT, error TEXT) STRICT;"
      "CREATE INDEX task_runs_by_task ON task_runs(task_id, run_at);"
      "INSERT INTO namespaces(id, name, description, created_at, updated_at) VALUES ('ns1', 'main', '', 1, 1);"
      "INSERT INTO scheduled_tasks(id, name, namespace_id, prompt, schedule_type, schedule_value, "
      "enabled, created_at, updated_at) VALUES ('t1', 'daily', 'ns1', 'hi', 'cron', '0 9 * * *', 0, 7, 8);"
      "INSERT INTO task_runs(task_id, run_at, duration_ms, status, result) VALUES ('t1', 9, 10, 'success', 'ok');"
      "DROP INDEX outbox_pending_chat; ALTER TABLE outbox DROP COLUMN attempt_started_at;"  // v8
      "ALTER TABLE inbound_messages DROP COLUMN turn_last_id;"                              // v9
      "ALTER TABLE namespaces DROP COLUMN agent_config;"                                    // v10
      "ALTER TABLE namespaces DROP COLUMN instructions;"                                    // v10
      "DROP TRIGGER container_runs_seq; DROP INDEX container_runs_by_seq;"                  // v11
      "ALTER TABLE container_runs DROP COLUMN seq;"                                         // v11
      "DROP TABLE cluster_members; DROP TABLE cluster_leases; DROP TABLE vault_check; DROP TABLE cluster_settings;"      // v12
      "PRAGMA user_version = 4;"));
  auto st = migrate(*db);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(schema_version(*db), kSchemaVersion);
  EXPECT_EQ(test::query_text(*db, "SELECT status FROM scheduled_tasks WHERE id = 't1'"), "paused");
  EXPECT_EQ(query_int(*db, "SELECT anchor_at FROM scheduled_tasks WHERE id = 't1'"), 7);
  EXPECT_EQ(test::query_text(*db, "SELECT time_zone FROM scheduled_tasks WHERE id = 't1'"), "UTC");
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM task_runs WHERE task_id = 't1' AND result = 'ok'"), 1);
  EXPECT_EQ(test::query_text(*db, "SELECT trigger FROM task_runs"), "schedule");
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%_v1'"), 0);
  // The run log still cascades from its task.
  ASSERT_TRUE(exec_ok(*db, "DELETE FROM scheduled_tasks"));
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM task_runs"), 0);
}

TEST(Migrations, NewerSchemaIsRefusedAndLeftUntouched) {
  TempDir dir;
  const std::string path = dir.file("squadbox.db");
  {
    auto db = open_db(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec_ok(*db, "CREATE TABLE future(x); INSERT INTO future VALUES (1)"));
    ASSERT_TRUE(exec_ok(*db, "PRAGMA user_version = " + std::to_string(kSchemaVersion + 1)));
  }  // last close checkpoints the WAL into the main file
  const std::string before = file_bytes(path);
  ASSERT_FALSE(before.empty());
  {
    auto db = open_db(path);
    ASSERT_TRUE(db);
    auto st = migrate(*db);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "storage.schema_too_new");
    const std::string& msg = st.error().message;
    EXPECT_NE(msg.find("version " + std::to_string(kSchemaVersion + 1)), std::string::npos) << msg;
    EXPECT_NE(msg.find("version " + std::to_string(kSchemaVersion) + ")"), std::string::npos) << msg;
    EXPECT_EQ(schema_version(*db), kSchemaVersion + 1);
    EXPECT_EQ(user_tables(*db), std::set<std::string>{"future"});
    EXPECT_FALSE(db->in_transaction());
  }
  EXPECT_EQ(file_bytes(path), before);
}

TEST_F(Migrated, InboundUniqueKeyRejectsDuplicates) {
  auto ins = db_->prepare(
      "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, received_at) "
      "VALUES (?1, ?2, ?3, ?4)");
  ASSERT_TRUE(ins);
  auto insert = [&](std::string_view channel, std::string_view id) {
    ins->reset();
    EXPECT_TRUE(ins->bind(1, channel));
    EXPECT_TRUE(ins->bind(2, id));
    EXPECT_TRUE(ins->bind(3, "tg:1"));
    EXPECT_TRUE(ins->bind(4, int64_t{1700000000000}));
    return ins->step();
  };
  EXPECT_TRUE(insert("telegram", "100"));
  auto dup = insert("telegram", "100");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, "sqlite.constraint");
  EXPECT_TRUE(insert("slack", "100"));  // same id, other channel: distinct message
  EXPECT_TRUE(insert("telegram", "101"));
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM inbound_messages"), 3);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM inbound_messages WHERE state = 'received'"), 3);
}

TEST_F(Migrated, ForeignKeysAreEnforcedAndCascade) {
  auto orphan = db_->exec("INSERT INTO chat_mappings VALUES ('tg:1', 'nope', 1)");
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code, "sqlite.constraint");

  ASSERT_TRUE(exec_ok(
      *db_, "INSERT INTO namespaces(id, name, description, created_at, updated_at) VALUES ('ns1', 'main', '', 1, 1)"));
  ASSERT_TRUE(exec_ok(*db_, "INSERT INTO chat_mappings VALUES ('tg:1', 'ns1', 1)"));
  ASSERT_TRUE(exec_ok(*db_,
                      "INSERT INTO scheduled_tasks(id, name, namespace_id, prompt, schedule_type,"
                      " schedule_value, anchor_at, created_at, updated_at)"
                      " VALUES ('t1', 'daily', 'ns1', 'hi', 'cron', '0 9 * * *', 1, 1, 1)"));
  ASSERT_TRUE(exec_ok(*db_, "INSERT INTO task_runs(task_id, run_at, status) VALUES ('t1', 2, 'success')"));
  ASSERT_TRUE(exec_ok(*db_, "DELETE FROM namespaces WHERE id = 'ns1'"));
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM chat_mappings"), 0);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM scheduled_tasks"), 0);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM task_runs"), 0);
}

TEST_F(Migrated, ScheduledTaskDefaultsAndChecks) {
  ASSERT_TRUE(exec_ok(
      *db_, "INSERT INTO namespaces(id, name, description, created_at, updated_at) VALUES ('ns1', 'main', '', 1, 1)"));
  const std::string head =
      "INSERT INTO scheduled_tasks(id, name, namespace_id, prompt, schedule_type,"
      " schedule_value, anchor_at, created_at, updated_at) VALUES ";
  ASSERT_TRUE(exec_ok(*db_, head + "('t1', 'n', 'ns1', 'p', 'interval', '60000', 1, 1, 1)"));
  EXPECT_EQ(query_int(*db_, "SELECT timeout_secs FROM scheduled_tasks"), 300);
  EXPECT_EQ(test::query_text(*db_, "SELECT context_mode FROM scheduled_tasks"), "isolated");
  EXPECT_EQ(test::query_text(*db_, "SELECT status FROM scheduled_tasks"), "active");
  EXPECT_EQ(test::query_text(*db_, "SELECT catch_up FROM scheduled_tasks"), "once");
  EXPECT_EQ(query_int(*db_, "SELECT retry_max_attempts FROM scheduled_tasks"), 0);
  // v5: 0 means no time limit; negative stays refused.
  ASSERT_TRUE(exec_ok(*db_, "UPDATE scheduled_tasks SET timeout_secs = 0 WHERE id = 't1'"));
  auto negative = db_->exec("UPDATE scheduled_tasks SET timeout_secs = -1 WHERE id = 't1'");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, "sqlite.constraint");

  auto bad_type = db_->exec(head + "('t2', 'n', 'ns1', 'p', 'hourly', 'x', 1, 1, 1)");
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().code, "sqlite.constraint");
  auto bad_mode = db_->exec("UPDATE scheduled_tasks SET context_mode = 'shared' WHERE id = 't1'");
  ASSERT_FALSE(bad_mode);
  EXPECT_EQ(bad_mode.error().code, "sqlite.constraint");
}

// v6: "has this task a run going?" probes a partial index, not the task's run log.
TEST_F(Migrated, RunsGoingAreFoundThroughTheirIndex) {
  auto plan =
      db_->prepare("EXPLAIN QUERY PLAN SELECT count(*) FROM task_runs WHERE task_id = 't1' AND status = 'running'");
  ASSERT_TRUE(plan) << plan.error().message;
  std::string details;
  while (plan->step().value()) details += plan->column_text(3) + "\n";
  EXPECT_NE(details.find("task_runs_running"), std::string::npos) << details;
  ASSERT_TRUE(exec_ok(
      *db_, "INSERT INTO namespaces(id, name, description, created_at, updated_at) VALUES ('ns1', 'main', '', 1, 1)"));
  ASSERT_TRUE(
      exec_ok(*db_,
              "INSERT INTO scheduled_tasks(id, name, namespace_id, prompt, schedule_type, schedule_value, "
              "anchor_at, created_at, updated_at) VALUES ('t1', 'n', 'ns1', 'p', 'interval', '60000', 1, 1, 1)"));
  ASSERT_TRUE(exec_ok(*db_,
                      "INSERT INTO task_runs(task_id, run_at, status) VALUES ('t1', 1, 'success'), "
                      "('t1', 2, 'running')"));
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM task_runs WHERE task_id = 't1' AND status = 'running'"), 1);
}

TEST_F(Migrated, TablesAreStrictlyTyped) {
  auto st = db_->exec(
      "INSERT INTO namespaces(id, name, description, created_at, updated_at) VALUES ('ns1', 'main', '', 'yesterday', "
      "1)");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "sqlite.constraint");
}

TEST_F(Migrated, AuditLogIsAppendOnly) {
  ASSERT_TRUE(exec_ok(*db_,
                      "INSERT INTO audit_log(at, actor, event, prev_hash, hash)"
                      " VALUES (1, 'admin', 'namespace.created', x'00', x'01')"));
  auto upd = db_->exec("UPDATE audit_log SET actor = 'mallory'");
  ASSERT_FALSE(upd);
  EXPECT_NE(upd.error().message.find("append-only"), std::string::npos);
  auto del = db_->exec("DELETE FROM audit_log");
  ASSERT_FALSE(del);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM audit_log WHERE actor = 'admin'"), 1);
}

}  // namespace
}  // namespace sb::storage
