// The ingest actor: durable, deduplicated intake; routed once, after the commit.
#include "actors/channels/channel_ingest.hpp"

#include <gtest/gtest.h>

#include "actors/storage/storage_writer.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;

sb::messaging::StoredMessage message(std::string platform_id, std::string text = "hi") {
  sb::messaging::StoredMessage m;
  m.channel = "slack";
  m.bot = "main";
  m.chat_jid = "slack:C1";
  m.sender_id = "U1";
  m.text = std::move(text);
  m.platform_message_id = std::move(platform_id);
  m.timestamp_ms = 1700000000000;
  return m;
}

int64_t scalar(const std::string& db_path, const std::string& sql) {
  sb::storage::OpenOptions o;
  o.read_only = true;
  auto db = sb::storage::Database::open(db_path, o);
  EXPECT_TRUE(db.ok());
  auto stmt = db->prepare(sql);
  EXPECT_TRUE(stmt.ok()) << sql;
  auto row = stmt->step();
  EXPECT_TRUE(row.ok() && *row);
  return stmt->column_int64(0);
}

struct IngestFixture : ::testing::Test, sb::test::ActorSystemFixture {
  void SetUp() override {
    db_path = dir.file("db.sqlite");
    StorageWriterOptions w;
    w.path = db_path;
    writer = spawn_storage_writer(system, w);
    system.registry().put(caf::atom("storage"), caf::actor_cast<caf::strong_actor_ptr>(writer));
    ingest = spawn_ingest(system, IngestOptions{&metrics});
  }
  void TearDown() override {
    system.registry().erase(caf::atom("storage"));
    system.registry().erase(caf::atom("router"));
    caf::anon_send_exit(ingest, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }
  ingest_result run(caf::scoped_actor& self, std::vector<sb::messaging::StoredMessage> batch) {
    ingest_result out;
    self->request(ingest, 10s, ingest_atom::value, std::move(batch))
        .receive([&](const ingest_result& r) { out = r; },
                 [&](caf::error& e) { out.error = sb::make_error("test.request_failed", system.render(e)); });
    return out;
  }
  sb::test::TempDir dir;
  std::string db_path;
  sb::metrics::Registry metrics;
  storage_writer_actor writer;
  ingest_actor ingest;
};

TEST_F(IngestFixture, StoresBeforeReplyingAndRoutesEachMessageOnce) {
  caf::scoped_actor self{system};
  // The test process plays the router.
  system.registry().put(caf::atom("router"), caf::actor_cast<caf::strong_actor_ptr>(self));

  auto first = run(self, {message("Ev1", "one"), message("Ev2", "two"), message("Ev1", "one again")});
  EXPECT_EQ(first.error.code, "");
  EXPECT_EQ(first.stored, 2u);
  EXPECT_EQ(first.duplicates, 1u);
  // Durable at reply time: a separate connection sees the rows.
  EXPECT_EQ(scalar(db_path, "SELECT count(*) FROM inbound_messages"), 2);
  EXPECT_EQ(scalar(db_path, "SELECT count(*) FROM inbound_messages WHERE bot = 'main' AND state = 'received'"), 2);

  // A redelivery of the whole batch: nothing new.
  auto again = run(self, {message("Ev1"), message("Ev2")});
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 2u);

  std::vector<sb::messaging::StoredMessage> routed;
  for (;;) {
    bool got = false;
    self->receive(
        [&](route_atom, const sb::messaging::StoredMessage& m) {
          routed.push_back(m);
          got = true;
        },
        caf::after(500ms) >> [] {});
    if (!got) break;
  }
  ASSERT_EQ(routed.size(), 2u);
  EXPECT_EQ(routed[0].platform_message_id, "Ev1");
  EXPECT_EQ(routed[0].text, "one");
  EXPECT_GT(routed[0].id, 0);
  EXPECT_EQ(routed[1].platform_message_id, "Ev2");
  EXPECT_NE(routed[0].id, routed[1].id);
}

TEST_F(IngestFixture, SameIdOnAnotherBotIsAnotherMessage) {
  caf::scoped_actor self{system};
  auto other = message("Ev1");
  other.bot = "second";
  auto r = run(self, {message("Ev1"), other});
  EXPECT_EQ(r.stored, 2u);
  EXPECT_EQ(r.duplicates, 0u);
  // No router registered: the messages stay stored, waiting in state 'received'.
  EXPECT_EQ(scalar(db_path, "SELECT count(*) FROM inbound_messages WHERE state = 'received'"), 2);
}

TEST_F(IngestFixture, WithoutAStorageWriterNothingIsAcknowledged) {
  caf::scoped_actor self{system};
  system.registry().erase(caf::atom("storage"));
  auto r = run(self, {message("Ev9")});
  EXPECT_NE(r.error.code, "");
  EXPECT_EQ(r.stored, 0u);
}

TEST_F(IngestFixture, EmptyBatchIsAnEmptySuccess) {
  caf::scoped_actor self{system};
  auto r = run(self, {});
  EXPECT_EQ(r.error.code, "");
  EXPECT_EQ(r.stored + r.duplicates, 0u);
}

}  // namespace
