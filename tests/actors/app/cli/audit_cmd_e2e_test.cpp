// `squadbox audit verify` on real (tampered) database files and `squadbox audit tail`
// against a real node.
#include <gtest/gtest.h>

#include "storage/audit_store.hpp"
#include "tests/support/audit_test_support.hpp"
#include "tests/support/node_process.hpp"

namespace {

using namespace std::chrono_literals;
using sb::security::audit::test::append_chain;
using sb::security::audit::test::tamper;
using sb::test::NodeProcess;
using sb::test::run_cli;
using sb::test::TempDir;

std::string head_hex(const std::string& db_path) {
  auto r = sb::storage::verify_database(db_path);
  return r.ok() ? sb::security::audit::to_hex(r->head) : "";
}

TEST(AuditVerifyCli, PrintsTheCountAndHeadOfAGoodChain) {
  TempDir dir;
  append_chain(dir.file("squadbox.db"), 1000);
  auto r = run_cli(dir, "ok", {"audit", "verify", "--data-dir", dir.path()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ok: 1000 records, head " + head_hex(dir.file("squadbox.db")) + "\n");
}

TEST(AuditVerifyCli, NamesTheFirstBadRecordAndExits1) {
  struct Case {
    const char* tag;
    std::string sql;
    std::string first_line;
  };
  const std::vector<Case> cases = {
      {"update", "UPDATE audit_log SET subject = 'x' WHERE seq = 37", "FAILED at seq 37 (edited): hash mismatch"},
      {"delete", "DELETE FROM audit_log WHERE seq = 50", "FAILED at seq 50 (deleted): seq gap"},
      {"swap", sb::security::audit::test::swap_rows_sql(10, 20), "FAILED at seq 10 (edited)"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    append_chain(dir.file("squadbox.db"), 100);
    tamper(dir.file("squadbox.db"), c.sql);
    auto r = run_cli(dir, c.tag, {"audit", "verify", "--data-dir", dir.path()});
    EXPECT_EQ(r.code, 1) << c.tag;
    EXPECT_EQ(r.out.rfind(c.first_line, 0), 0u) << c.tag << ": " << r.out;
  }
}

TEST(AuditVerifyCli, ExpectHeadCatchesACutOffTail) {
  TempDir dir;
  const std::string db = dir.file("squadbox.db");
  append_chain(db, 40);
  const std::string head = head_hex(db);
  append_chain(db, 10);
  auto still = run_cli(dir, "still", {"audit", "verify", "--data-dir", dir.path(), "--expect-head", head});
  EXPECT_EQ(still.code, 0) << still.out << still.err;
  tamper(db, "DELETE FROM audit_log WHERE seq > 35");
  auto plain = run_cli(dir, "plain", {"audit", "verify", "--data-dir", dir.path()});
  EXPECT_EQ(plain.code, 0) << "a cut-off tail is a valid chain on its own";
  auto cut = run_cli(dir, "cut", {"audit", "verify", "--data-dir", dir.path(), "--expect-head", head});
  EXPECT_EQ(cut.code, 1);
  EXPECT_EQ(cut.out.rfind("FAILED: head " + head + " is not in the chain", 0), 0u) << cut.out;
  auto bad = run_cli(dir, "badhead", {"audit", "verify", "--data-dir", dir.path(), "--expect-head", "xyz"});
  EXPECT_EQ(bad.code, 2);
}

TEST(AuditVerifyCli, AMissingDatabaseIsAUsageError) {
  TempDir dir;
  auto r = run_cli(dir, "none", {"audit", "verify", "--data-dir", dir.file("nowhere")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no database at"), std::string::npos) << r.err;
}

TEST(AuditCli, TailAndVerifyAgainstARunningNode) {
  TempDir dir;
  NodeProcess node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  const std::string d = dir.path();
  auto set = node.call("PUT", "/api/v1/container/secrets/anthropic", R"({"value":"tail-VALUE"})");
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->status, 201);
  // The audit actor writes asynchronously (fire-and-forget sink): wait for the record.
  ASSERT_TRUE(sb::test::wait_until(
      [&] {
        auto r = node.call("GET", "/api/v1/container/audit?limit=1000");
        return r.ok() && r->body.find("secret.set") != std::string::npos;
      },
      30s));

  auto tail = run_cli(dir, "tail", {"audit", "tail", "--data-dir", d, "-n", "5"});
  EXPECT_EQ(tail.code, 0) << tail.err;
  EXPECT_NE(tail.out.find(" admin-api secret.set anthropic {\"created\":true}\n"), std::string::npos) << tail.out;
  EXPECT_EQ(tail.out.find("tail-VALUE"), std::string::npos);
  auto json = run_cli(dir, "tailjson", {"audit", "tail", "--json", "--data-dir", d});
  EXPECT_EQ(json.code, 0);
  EXPECT_NE(json.out.find(R"("event":"secret.set","subject":"anthropic","detail":{"created":true},"hash":")"),
            std::string::npos)
      << json.out;
  auto none = run_cli(dir, "tailns", {"audit", "tail", "--namespace", "nobody", "--data-dir", d});
  EXPECT_EQ(none.code, 0);
  EXPECT_EQ(none.out, "");

  // verify works next to the running node (read-only, WAL).
  auto verify = run_cli(dir, "verify", {"audit", "verify", "--data-dir", d});
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_EQ(verify.out.rfind("ok: ", 0), 0u) << verify.out;

  // --follow prints records appended after it started.
  sb::test::ChildProcess follow(sb::test::squadbox(), {"audit", "tail", "--follow", "--data-dir", d}, {},
                                dir.file("follow"));
  ASSERT_TRUE(
      sb::test::wait_until([&] { return follow.stdout_text().find("secret.set anthropic") != std::string::npos; }, 30s))
      << follow.stderr_text();
  auto removed = node.call("DELETE", "/api/v1/container/secrets/anthropic");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->status, 204);
  EXPECT_TRUE(sb::test::wait_until(
      [&] { return follow.stdout_text().find("secret.removed anthropic") != std::string::npos; }, 30s))
      << follow.stdout_text() << follow.stderr_text();
  follow.signal(SIGTERM);
  EXPECT_EQ(follow.wait(10s), 0) << "SIGTERM ends --follow cleanly";
  // Each record is printed once.
  const std::string out = follow.stdout_text();
  EXPECT_EQ(out.find("secret.set anthropic"), out.rfind("secret.set anthropic")) << out;

  ASSERT_EQ(node.stop(), 0);
  auto after = run_cli(dir, "verify2", {"audit", "verify", "--data-dir", d});
  EXPECT_EQ(after.code, 0) << after.out;
}

TEST(AuditCli, TailRejectsABadCount) {
  TempDir dir;
  auto r = run_cli(dir, "badn", {"audit", "tail", "-n", "0", "--data-dir", dir.path()});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
