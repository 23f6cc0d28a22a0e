#pragma once
// A real squadbox database with an audit chain in it, written the way the audit log
// actor writes it, and raw tampering helpers (drop the append-only triggers first).
#include <string>

#include <gtest/gtest.h>

#include "runtime/security/audit/audit_chain.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"

namespace sb::security::audit::test {

// Appends records seq from+1 .. from+n continuing the chain in the file.
inline void append_chain(const std::string& db_path, int n,
                         const std::function<std::string(int64_t seq)>& detail_of = nullptr) {
  auto db = storage::Database::open(db_path);
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE(storage::migrate(*db).ok());
  int64_t seq = 0;
  std::string prev;
  {
    auto head = db->prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    ASSERT_TRUE(head.ok());
    auto row = head->step();
    ASSERT_TRUE(row.ok());
    if (*row) {
      seq = head->column_int64(0);
      prev = head->column_blob(1);
    }
  }
  auto tx = storage::Transaction::begin(*db);
  ASSERT_TRUE(tx.ok());
  auto insert = db->prepare(
      "INSERT INTO audit_log(seq, at, actor, event, subject, detail, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?)");
  ASSERT_TRUE(insert.ok());
  for (int i = 0; i < n; ++i) {
    ++seq;
    RecordFields f{seq,
                   1700000000000 + seq * 1000,
                   "test",
                   "test.event",
                   "subject-" + std::to_string(seq),
                   detail_of ? detail_of(seq) : R"({"n":)" + std::to_string(seq) + "}"};
    const std::string hash = chain_hash(prev, f);
    (void)insert->bind(1, f.seq);
    (void)insert->bind(2, f.at_ms);
    (void)insert->bind(3, std::string_view(f.actor));
    (void)insert->bind(4, std::string_view(f.event));
    (void)insert->bind(5, std::string_view(f.subject));
    (void)insert->bind(6, std::string_view(f.detail));
    (void)insert->bind_blob(7, prev);
    (void)insert->bind_blob(8, hash);
    ASSERT_TRUE(insert->step().ok());
    insert->reset();
    prev = hash;
  }
  ASSERT_TRUE(tx->commit().ok());
}

// Runs SQL on a raw connection after dropping the append-only triggers, as an attacker
// with write access to the file would.
inline void tamper(const std::string& db_path, const std::string& sql) {
  auto db = storage::Database::open(db_path);
  ASSERT_TRUE(db.ok());
  // PostgreSQL names a trigger with its table.
  const std::string on = db->engine() == storage::Engine::postgres ? " ON audit_log" : "";
  ASSERT_TRUE(
      db->exec("DROP TRIGGER IF EXISTS audit_log_no_update" + on + "; DROP TRIGGER IF EXISTS audit_log_no_delete" + on)
          .ok());
  auto st = db->exec(sql);
  ASSERT_TRUE(st.ok()) << st.error().message;
}

// Exchanges everything but seq between two rows.
inline std::string swap_rows_sql(int a, int b) {
  const std::string cols = "at, actor, event, subject, detail, prev_hash, hash";
  return "CREATE TEMP TABLE keep AS SELECT * FROM audit_log WHERE seq IN (" + std::to_string(a) + "," +
         std::to_string(b) + ");" + "UPDATE audit_log SET (" + cols + ") = (SELECT " + cols +
         " FROM keep WHERE keep.seq = " + std::to_string(b) + ") WHERE seq = " + std::to_string(a) + ";" +
         "UPDATE audit_log SET (" + cols + ") = (SELECT " + cols + " FROM keep WHERE keep.seq = " + std::to_string(a) +
         ") WHERE seq = " + std::to_string(b) + ";";
}

}  // namespace sb::security::audit::test
