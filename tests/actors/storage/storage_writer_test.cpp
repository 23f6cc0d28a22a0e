#include "actors/storage/storage_writer.hpp"

#include <gtest/gtest.h>

#include "actors/audit/audit_log.hpp"
#include "actors/node/node.hpp"
#include "actors/supervision/supervisor.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::actors::shutdown_atom;
using sb::actors::status_atom;
using sb::actors::write_atom;
using sb::storage::SqlParam;
using sb::storage::WriteOp;
using sb::storage::WriteOutcome;

WriteOp insert_inbound(const std::string& platform_id) {
  return WriteOp{
      "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, sender, text, "
      "received_at, state) VALUES('slack', ?, 'slack:C1', 'U1', 'hi', 0, 'received')",
      {SqlParam::of(platform_id)}};
}

int64_t count_rows(const std::string& db_path, const std::string& table) {
  sb::storage::OpenOptions o;
  o.read_only = true;
  auto db = sb::storage::Database::open(db_path, o);
  EXPECT_TRUE(db.ok());
  auto stmt = db->prepare("SELECT count(*) FROM " + table);
  EXPECT_TRUE(stmt.ok());
  auto row = stmt->step();
  EXPECT_TRUE(row.ok() && *row);
  return stmt->column_int64(0);
}

sb::actors::StorageWriterOptions writer_options(const std::string& path, sb::metrics::Registry* m) {
  sb::actors::StorageWriterOptions o;
  o.path = path;
  o.metrics = m;
  return o;
}

// Collects `n` WriteOutcome replies (to earlier send()s) in arrival order.
std::vector<WriteOutcome> collect(caf::scoped_actor& self, size_t n) {
  std::vector<WriteOutcome> out;
  while (out.size() < n) {
    bool got = false;
    self->receive(
        [&](const WriteOutcome& o) {
          out.push_back(o);
          got = true;
        },
        caf::after(std::chrono::seconds(10)) >> [] {});
    if (!got) {
      ADD_FAILURE() << "only " << out.size() << " of " << n << " outcomes arrived";
      break;
    }
  }
  return out;
}

TEST(StorageWriter, ConcurrentWritesShareTransactionsAndEachGetsItsOutcome) {
  sb::test::TempDir dir;
  sb::test::ActorSystemFixture fx;
  sb::metrics::Registry metrics;
  caf::scoped_actor self{fx.system};
  auto writer = sb::actors::spawn_storage_writer(fx.system, writer_options(dir.file("db.sqlite"), &metrics));

  constexpr size_t n = 500;
  for (size_t i = 0; i < n; ++i) self->send(writer, write_atom::value, insert_inbound("m" + std::to_string(i)));
  for (const auto& out : collect(self, n)) EXPECT_TRUE(out.ok) << out.error_message;
  EXPECT_EQ(count_rows(dir.file("db.sqlite"), "inbound_messages"), static_cast<int64_t>(n));
  auto commits = metrics.counter("squadbox_storage_commits_total", "").value();
  EXPECT_GE(commits, 1u);
  EXPECT_LT(commits, n) << "writes were not grouped";
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}

TEST(StorageWriter, AFailingWriteFailsAloneInItsBatch) {
  sb::test::TempDir dir;
  sb::test::ActorSystemFixture fx;
  sb::metrics::Registry metrics;
  caf::scoped_actor self{fx.system};
  auto o = writer_options(dir.file("db.sqlite"), &metrics);
  o.commit_window = 200ms;  // hold the batch open so all three share one transaction
  auto writer = sb::actors::spawn_storage_writer(fx.system, o);
  self->send(writer, write_atom::value, insert_inbound("a"));
  self->send(writer, write_atom::value, insert_inbound("a"));  // duplicate platform id
  self->send(writer, write_atom::value, insert_inbound("b"));
  auto out = collect(self, 3);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_FALSE(out[1].ok);
  EXPECT_EQ(out[1].error_code, "sqlite.constraint");
  EXPECT_TRUE(out[2].ok);
  EXPECT_EQ(metrics.counter("squadbox_storage_commits_total", "").value(), 1u);
  EXPECT_EQ(count_rows(dir.file("db.sqlite"), "inbound_messages"), 2);
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}

// Writes queued before a shutdown are committed before the writer stops, even when
// their batch window has not elapsed.
TEST(StorageWriter, ShutdownDrainsQueuedWrites) {
  sb::test::TempDir dir;
  sb::test::ActorSystemFixture fx;
  caf::scoped_actor self{fx.system};
  auto o = writer_options(dir.file("db.sqlite"), nullptr);
  o.commit_window = std::chrono::seconds(30);
  auto writer = sb::actors::spawn_storage_writer(fx.system, o);
  constexpr size_t n = 100;
  for (size_t i = 0; i < n; ++i) self->send(writer, write_atom::value, insert_inbound("d" + std::to_string(i)));
  bool stopped = false;
  self->send(writer, shutdown_atom::value);
  std::vector<WriteOutcome> outcomes;
  while (!stopped) {
    bool got = false;
    self->receive(
        [&](const WriteOutcome& w) {
          outcomes.push_back(w);
          got = true;
        },
        [&](bool b) {
          stopped = b;
          got = true;
        },
        caf::after(std::chrono::seconds(10)) >> [] {});
    if (!got) break;
  }
  ASSERT_TRUE(stopped);
  EXPECT_EQ(outcomes.size(), n);
  for (const auto& w : outcomes) EXPECT_TRUE(w.ok);
  EXPECT_EQ(count_rows(dir.file("db.sqlite"), "inbound_messages"), static_cast<int64_t>(n));
}

TEST(StorageWriter, UnopenableDatabaseCrashesTheActorForItsSupervisor) {
  sb::test::ActorSystemFixture fx;
  caf::scoped_actor self{fx.system};
  auto writer = sb::actors::spawn_storage_writer(fx.system, writer_options("/nonexistent-dir/sub/db.sqlite", nullptr));
  self->monitor(writer);
  caf::error reason;
  self->receive([&](const caf::down_msg& d) { reason = d.reason; },
                caf::after(std::chrono::seconds(10)) >> [] { ADD_FAILURE() << "writer did not exit"; });
  EXPECT_TRUE(reason);
  EXPECT_NE(fx.system.render(reason).find("storage open failed"), std::string::npos) << fx.system.render(reason);
}

// Like `serve`, create and migrate the database before the tree starts: the audit
// log reads its chain head on a reader connection at start.
sb::config::Config node_config(const std::string& data_dir) {
  sb::config::Config c;
  c.node.data_dir = data_dir;
  auto db = sb::storage::Database::open(c.storage_path(), {});
  EXPECT_TRUE(db.ok());
  EXPECT_TRUE(sb::storage::migrate(*db).ok());
  return c;
}

TEST(Node, TreeStartsEveryComponentAndStopsInOrder) {
  sb::test::TempDir dir;
  sb::test::ActorSystemFixture fx;
  sb::metrics::Registry metrics;
  caf::scoped_actor self{fx.system};
  auto root = sb::actors::spawn_node(fx.system, {node_config(dir.path()), &metrics, {}, {}, {}, {}});

  auto deadline = std::chrono::steady_clock::now() + 10s;
  sb::actors::supervisor_status st;
  bool all_running = false;
  while (!all_running && std::chrono::steady_clock::now() < deadline) {
    self->request(root, 5s, status_atom::value)
        .receive([&](const sb::actors::supervisor_status& s) { st = s; }, [](caf::error&) {});
    all_running = st.children.size() == 8;
    for (const auto& c : st.children) all_running = all_running && c.state == sb::actors::ChildState::running;
  }
  EXPECT_TRUE(all_running);  // not ASSERT: the tree must still be shut down below
  std::vector<std::string> names;
  for (const auto& c : st.children) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"storage", "audit", "ingest", "outbox", "router", "namespaces",
                                             "scheduler", "channels"}));
  for (const auto& n : names) EXPECT_TRUE(sb::actors::lookup(fx.system, n)) << n;

  bool stopped = false;
  self->request(root, 10s, shutdown_atom::value).receive([&](bool b) { stopped = b; }, [](caf::error&) {});
  EXPECT_TRUE(stopped);
  for (const auto& n : names) EXPECT_FALSE(sb::actors::lookup(fx.system, n)) << n;
}

TEST(AuditLog, AppendsAHashChainThatSurvivesARestart) {
  sb::test::TempDir dir;
  std::vector<sb::actors::audit_receipt> receipts;
  for (int round = 0; round < 2; ++round) {
    sb::test::ActorSystemFixture fx;
    caf::scoped_actor self{fx.system};
    auto root = sb::actors::spawn_node(fx.system, {node_config(dir.path()), nullptr, {}, {}, {}, {}});
    sb::actors::audit_log_actor audit;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!audit && std::chrono::steady_clock::now() < deadline) {
      // Children register asynchronously after the root starts.
      self->request(root, 5s, status_atom::value)
          .receive([](const sb::actors::supervisor_status&) {}, [](caf::error&) {});
      audit = sb::actors::lookup<sb::actors::audit_log_actor>(fx.system, "audit");
    }
    ASSERT_TRUE(audit);
    for (int i = 0; i < 3; ++i) {
      self->request(audit, 5s, sb::actors::append_atom::value,
                    sb::AuditRecord{"test", "event." + std::to_string(i), "subject", "{}"})
          .receive([&](const sb::actors::audit_receipt& r) { receipts.push_back(r); },
                   [&](caf::error& e) { ADD_FAILURE() << fx.system.render(e); });
    }
    self->request(root, 10s, shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
  }
  ASSERT_EQ(receipts.size(), 6u);
  for (size_t i = 0; i < receipts.size(); ++i) EXPECT_EQ(receipts[i].seq, static_cast<int64_t>(i + 1));

  // Recompute the chain from the table.
  sb::storage::OpenOptions o;
  o.read_only = true;
  auto db = sb::storage::Database::open(dir.path() + "/squadbox.db", o);
  ASSERT_TRUE(db.ok());
  auto stmt = db->prepare("SELECT seq, at, actor, event, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq");
  ASSERT_TRUE(stmt.ok());
  std::string prev;
  size_t rows = 0;
  while (true) {
    auto row = stmt->step();
    ASSERT_TRUE(row.ok());
    if (!*row) break;
    sb::AuditRecord ev{stmt->column_text(2), stmt->column_text(3), stmt->column_text(4), stmt->column_text(5)};
    EXPECT_EQ(stmt->column_blob(6), prev) << "chain broken at seq " << stmt->column_int64(0);
    auto hash = sb::actors::audit_hash(prev, stmt->column_int64(0), stmt->column_int64(1), ev);
    EXPECT_EQ(stmt->column_blob(7), hash);
    EXPECT_EQ(sb::actors::to_hex(hash), receipts[rows].hash_hex);
    prev = hash;
    ++rows;
  }
  EXPECT_EQ(rows, 6u);
}

}  // namespace
