// routing_rows on PostgreSQL: the cases of routing_rows_cases.hpp, each in a schema of its
// own on the binary's throwaway server, then what only a server has: a database that is
// not there, and other sessions committing while the router reads.
#include <chrono>
#include <optional>
#include <thread>

#include "tests/storage/routing_rows_cases.hpp"
#include "tests/support/storage_test_support.hpp"

namespace {

SB_STORE_SUITE_ON_POSTGRES(RoutingRowsTest);

class RoutingRowsOnPostgres : public RoutingRowsTest {};
SB_STORE_SUITE_ON_POSTGRES(RoutingRowsOnPostgres);

// The counterpart of SQLite's missing file: a locator naming a database the server does
// not have.
TEST_P(RoutingRowsOnPostgres, AMissingDatabaseIsAnError) {
  auto rows = load_routing_rows(postgres_locator(sb::test::g_store_pg->conninfo_for("absent_db"), "st_absent"));
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, "postgres.no_database") << rows.error().message;
}

// The four SELECTs share one snapshot (storage/routing_rows.hpp), so the router never
// indexes a chat mapped to a namespace it has not read. Another session holds a lock on
// chat_mappings, so the load stops after reading namespaces; while it waits, that session
// commits a new namespace and a chat mapped to it. The load must see neither.
TEST_P(RoutingRowsOnPostgres, TheReadsShareOneSnapshotWhileOthersCommit) {
  create("alpha");
  auto writer = Database::open(db_path());
  ASSERT_TRUE(writer) << writer.error().message;
  const int64_t writer_pid = sb::storage::test::query_int(*writer, "SELECT pg_backend_pid()");
  auto tx = Transaction::begin(*writer);
  ASSERT_TRUE(tx) << tx.error().message;
  ASSERT_TRUE(writer->exec("LOCK TABLE chat_mappings IN ACCESS EXCLUSIVE MODE"));
  auto watcher = Database::open(db_path());
  ASSERT_TRUE(watcher) << watcher.error().message;

  std::optional<sb::Result<sb::routing::RoutingRows>> rows;
  std::thread loader([&] { rows.emplace(load_routing_rows(db_path())); });
  const std::string blocked =
      "SELECT count(*) FROM pg_stat_activity WHERE " + std::to_string(writer_pid) + " = ANY(pg_blocking_pids(pid))";
  bool waiting = false;
  for (int i = 0; i < 1000 && !waiting; ++i) {
    waiting = sb::storage::test::query_int(*watcher, blocked) > 0;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(waiting) << "the load never waited for chat_mappings";
  EXPECT_TRUE(
      writer->exec("INSERT INTO namespaces(id, name, created_at, updated_at) VALUES ('late-id', 'late', 1, 1);"
                   "INSERT INTO chat_mappings(jid, namespace_id, created_at) VALUES ('slack:LATE', 'late-id', 1)"));
  EXPECT_TRUE(tx->commit());
  loader.join();

  ASSERT_TRUE(rows && *rows) << (rows ? rows->error().message : "no result");
  ASSERT_EQ((*rows)->namespaces.size(), 1u);
  EXPECT_EQ((*rows)->namespaces[0].name, "alpha");
  EXPECT_TRUE((*rows)->mappings.empty()) << (*rows)->mappings.front().jid << " read from a later snapshot";
  EXPECT_TRUE(sb::routing::RoutingTable::build(**rows, "Andy"));
  // The next load sees both.
  auto after = load();
  EXPECT_EQ(after.namespaces.size(), 2u);
  EXPECT_EQ(after.mappings.size(), 1u);
}

}  // namespace
