// The "router" actor on real SQLite and real actors: a storage writer, the router, and a
// recording stand-in for the "namespaces" actor registered under that name.
#include "actors/routing/message_router.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>

#include <gtest/gtest.h>

#include "actors/storage/storage_writer.hpp"
#include "actors/supervision/supervisor.hpp"
#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
namespace ns = sb::namespaces;

// What the fake "namespaces" actor received.
struct Recorder {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<routed_message> routed;
  int reloads = 0;

  // Waits (generously) until `n` messages arrived; returns what is there.
  std::vector<routed_message> wait_for(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, timeout, [&] { return routed.size() >= n; });
    return routed;
  }
  size_t count() {
    std::lock_guard lock(mutex);
    return routed.size();
  }
};

namespace_manager_actor::behavior_type fake_namespaces(namespace_manager_actor::pointer self,
                                                       std::shared_ptr<Recorder> rec) {
  return {
      [rec](route_atom, const routed_message& m) {
        {
          std::lock_guard lock(rec->mutex);
          rec->routed.push_back(m);
        }
        rec->changed.notify_all();
      },
      [rec](route_atom, routed_batch& b) {
        {
          std::lock_guard lock(rec->mutex);
          for (auto& m : b.messages)
            rec->routed.push_back(routed_message{b.namespace_id, b.namespace_name, std::move(m)});
        }
        rec->changed.notify_all();
      },
      [rec](reload_atom) {
        std::lock_guard lock(rec->mutex);
        ++rec->reloads;
      },
      [](ready_atom) {},
      // The slot pool's messages between namespace actors: not part of routing.
      [](acquire_atom, const std::string&) {},
      [](acquire_atom, const std::string&, bool) {},
      [](task_atom, const scheduled_run&) {},
      [](release_atom, const std::string&) {},
      [](idle_atom, const std::string&) {},
      [](busy_atom, const std::string&) {},
      [](own_atom) {},
      [](yield_atom, const std::string&) { return true; },
      [](tick_atom) {},
      [](status_atom) {
        return component_status{"namespaces", "running", "fake"};
      },
      [self](shutdown_atom) {
        self->quit();
        return true;
      },
  };
}

class RouterActor : public ::testing::Test, public sb::test::ActorSystemFixture {
 protected:
  void SetUp() override {
    db_path_ = dir_.file("squadbox.db");
    auto store = sb::storage::NamespaceStore::open(db_path_, dir_.path());  // migrates
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    StorageWriterOptions w;
    w.path = db_path_;
    writer_ = spawn_storage_writer(system, w);
    system.registry().put(caf::atom("storage"), caf::actor_cast<caf::strong_actor_ptr>(writer_));
  }
  void TearDown() override {
    store_->set_on_change(nullptr);
    system.registry().erase(caf::atom("storage"));
    system.registry().erase(caf::atom("namespaces"));
    system.registry().erase(caf::atom("router"));
    if (router_) caf::anon_send_exit(router_, caf::exit_reason::user_shutdown);
    if (fake_) caf::anon_send_exit(fake_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
  }

  void start_namespaces() {
    fake_ = system.spawn(fake_namespaces, recorder_);
    system.registry().put(caf::atom("namespaces"), caf::actor_cast<caf::strong_actor_ptr>(fake_));
  }
  // Starts the router and waits until its start-up recover has run: the first status
  // answer means the recover is queued, the second that it is done.
  void start_router() {
    router_ = spawn_message_router(system, MessageRouterOptions{&metrics_, db_path_, "Andy"});
    system.registry().put(caf::atom("router"), caf::actor_cast<caf::strong_actor_ptr>(router_));
    status();
    status();
  }
  std::string status() {
    caf::scoped_actor self{system};
    std::string out;
    self->request(router_, 10s, status_atom::value)
        .receive([&](const component_status& s) { out = s.detail; },
                 [&](caf::error& e) { out = "error: " + system.render(e); });
    return out;
  }

  ns::Namespace create(const std::string& name, bool requires_trigger = true) {
    ns::NamespacePatch p;
    p.name = name;
    p.requires_trigger = requires_trigger;
    auto n = store_->create(p);
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : ns::Namespace{};
  }
  void map(const std::string& jid, const std::string& ns_ref) {
    ns::MappingRequest r;
    r.jid = jid;
    r.namespace_ref = ns_ref;
    auto m = store_->map(r);
    ASSERT_TRUE(m) << m.error().message;
  }
  void set_default(bool to_namespace, const std::string& ns_ref = "") {
    ns::RoutingRequest r;
    r.policy = to_namespace ? ns::DefaultPolicy::to_namespace : ns::DefaultPolicy::ignore;
    r.namespace_ref = ns_ref;
    auto s = store_->set_routing(r);
    ASSERT_TRUE(s) << s.error().message;
  }

  // Stores a message like the ingest does (state 'received' unless told) and returns it.
  sb::messaging::StoredMessage stored(const std::string& jid, const std::string& text, bool is_group = false,
                                      const std::string& sender = "U1", const std::string& state = "received") {
    sb::messaging::StoredMessage m;
    m.channel = "slack";
    m.bot = "main";
    m.chat_jid = jid;
    m.sender_id = sender;
    m.sender_name = "Ann";
    m.text = text;
    m.platform_message_id = "P" + std::to_string(++platform_seq_);
    m.timestamp_ms = 1700000000000;
    m.is_group = is_group;
    auto& db = rw_db();
    auto s = db.prepare(
        "INSERT INTO inbound_messages(channel, bot, platform_message_id, chat_jid, sender, sender_name, text, "
        "sent_at, is_group, received_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)");
    EXPECT_TRUE(s);
    EXPECT_TRUE(s->bind(1, m.channel) && s->bind(2, m.bot) && s->bind(3, m.platform_message_id) &&
                s->bind(4, m.chat_jid) && s->bind(5, m.sender_id) && s->bind(6, m.sender_name) && s->bind(7, m.text) &&
                s->bind(8, m.timestamp_ms) && s->bind(9, int64_t{is_group ? 1 : 0}) && s->bind(10, state));
    EXPECT_TRUE(s->step());
    m.id = db.last_insert_rowid();
    return m;
  }
  // The test's own read-write connection (the ingest's stand-in).
  sb::storage::Database& rw_db() {
    if (!rw_db_) {
      auto db = sb::storage::Database::open(db_path_);
      EXPECT_TRUE(db) << db.error().message;
      rw_db_.emplace(std::move(*db));
    }
    return *rw_db_;
  }
  void route(const sb::messaging::StoredMessage& m) { caf::anon_send(router_, route_atom::value, m); }

  std::string row_field(int64_t id, const std::string& column) {
    sb::storage::OpenOptions ro;
    ro.read_only = true;
    auto db = sb::storage::Database::open(db_path_, ro);
    auto s = db->prepare("SELECT coalesce(" + column + ", '') FROM inbound_messages WHERE id = ?1");
    EXPECT_TRUE(s);
    EXPECT_TRUE(s->bind(1, id));
    auto row = s->step();
    return row && *row ? s->column_text(0) : "<no row>";
  }
  // Polls until the row reaches `state` or a generous deadline passes.
  std::string wait_state(int64_t id, const std::string& state) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string now;
    while ((now = row_field(id, "state")) != state && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    return now;
  }
  uint64_t dropped(const std::string& reason) {
    return metrics_
        .counter("squadbox_router_dropped_total", "Inbound messages the router dropped, by reason",
                 {{"reason", reason}})
        .value();
  }
  uint64_t routed_count(const std::string& channel) {
    return metrics_
        .counter("squadbox_router_routed_total", "Inbound messages the router handed to a namespace",
                 {{"channel", channel}})
        .value();
  }

  sb::test::TempDir dir_;
  std::string db_path_;
  std::unique_ptr<sb::storage::NamespaceStore> store_;
  sb::metrics::Registry metrics_;
  storage_writer_actor writer_;
  message_router_actor router_;
  namespace_manager_actor fake_;
  std::shared_ptr<Recorder> recorder_ = std::make_shared<Recorder>();
  int platform_seq_ = 0;
  std::optional<sb::storage::Database> rw_db_;
};

TEST_F(RouterActor, MappedChatGoesToItsNamespace) {
  auto team = create("team");
  create("other");
  map("slack:C1", "team");
  map("slack:C2", "other");
  start_namespaces();
  start_router();
  auto m = stored("slack:C1", "hello");
  route(m);
  auto got = recorder_->wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].namespace_id, team.id);
  EXPECT_EQ(got[0].namespace_name, "team");
  EXPECT_EQ(got[0].message.id, m.id);
  EXPECT_EQ(got[0].message.text, "hello");
  EXPECT_EQ(got[0].message.sender_name, "Ann");
  EXPECT_EQ(row_field(m.id, "state"), "received") << "a routed row stays received until its turn finishes";
  EXPECT_EQ(routed_count("slack"), 1u);
  EXPECT_EQ(status(), "routed 1, dropped 0, table: 2 namespaces / 2 mappings");
}

TEST_F(RouterActor, UnmappedChatWithIgnorePolicyIsDroppedAndMarked) {
  create("team");
  start_namespaces();
  start_router();
  auto m = stored("slack:C9", "anyone?");
  route(m);
  EXPECT_EQ(wait_state(m.id, "dropped"), "dropped");
  EXPECT_EQ(row_field(m.id, "drop_reason"), "unmapped_ignored");
  EXPECT_EQ(dropped("unmapped_ignored"), 1u);
  EXPECT_EQ(recorder_->count(), 0u);
}

TEST_F(RouterActor, UnmappedChatWithNamespacePolicyIsRouted) {
  auto team = create("team");
  set_default(true, "team");
  start_namespaces();
  start_router();
  auto m = stored("slack:C9", "hi");
  route(m);
  auto got = recorder_->wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].namespace_id, team.id);
  EXPECT_EQ(row_field(m.id, "state"), "received");
}

TEST_F(RouterActor, BlockedSenderIsDroppedAndCounted) {
  create("team", false);
  map("slack:C1", "team");
  ns::SenderAllowlist list;
  list.channel = "slack";
  list.bot = "main";
  list.everyone = false;
  list.senders = {"U_OK"};
  ASSERT_TRUE(store_->set_allowlist(list));
  start_namespaces();
  start_router();
  auto blocked = stored("slack:C1", "let me in", false, "U_BAD");
  route(blocked);
  auto allowed = stored("slack:C1", "hi", false, "U_OK");
  route(allowed);
  auto got = recorder_->wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.id, allowed.id);
  EXPECT_EQ(wait_state(blocked.id, "dropped"), "dropped");
  EXPECT_EQ(row_field(blocked.id, "drop_reason"), "blocked_sender");
  EXPECT_EQ(dropped("blocked_sender"), 1u);
}

TEST_F(RouterActor, TriggerIsRequiredInAGroupButNotInADirectMessage) {
  create("team");  // requires the trigger "@Andy" in groups
  map("slack:G1", "team");
  map("slack:D1", "team");
  start_namespaces();
  start_router();
  auto group_plain = stored("slack:G1", "just chatting", true);
  auto group_trigger = stored("slack:G1", "@andy what time is it?", true);
  auto direct = stored("slack:D1", "no trigger here", false);
  route(group_plain);
  route(group_trigger);
  route(direct);
  auto got = recorder_->wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message.id, group_trigger.id);
  EXPECT_EQ(got[1].message.id, direct.id);
  EXPECT_EQ(wait_state(group_plain.id, "dropped"), "dropped");
  EXPECT_EQ(row_field(group_plain.id, "drop_reason"), "no_trigger");
  EXPECT_EQ(dropped("no_trigger"), 1u);
}

TEST_F(RouterActor, ReloadAfterAStoreChangeRoutesANewlyMappedChat) {
  create("team");
  // As serve wires it: every committed change asks the router to reload.
  store_->set_on_change([this] {
    if (auto r = lookup<message_router_actor>(system, "router")) caf::anon_send(r, reload_atom::value);
  });
  start_namespaces();
  start_router();
  auto before = stored("slack:NEW", "first");
  route(before);
  EXPECT_EQ(wait_state(before.id, "dropped"), "dropped");

  map("slack:NEW", "team");
  // A burst of reloads is coalesced; the router answers in between.
  for (int i = 0; i < 20; ++i) caf::anon_send(router_, reload_atom::value);
  status();  // the coalesced rebuild is queued behind this answer
  EXPECT_EQ(status(), "routed 0, dropped 1, table: 1 namespaces / 1 mappings");
  auto after = stored("slack:NEW", "second");
  route(after);
  auto got = recorder_->wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.id, after.id);
}

TEST_F(RouterActor, RecoverReplaysOnlyReceivedRowsInIdOrder) {
  create("team", false);
  map("slack:C1", "team");
  std::vector<int64_t> expected;
  ASSERT_TRUE(rw_db().exec("BEGIN"));  // one commit for all rows
  for (int i = 0; i < 1203; ++i) {     // more than two recover chunks
    const char* state = i % 3 == 1 ? "done" : i % 3 == 2 ? "dropped" : "received";
    auto m = stored("slack:C1", "m" + std::to_string(i), false, "U1", state);
    if (i % 3 == 0) expected.push_back(m.id);
  }
  ASSERT_TRUE(rw_db().exec("COMMIT"));
  start_namespaces();
  start_router();  // runs one recover by itself
  auto got = recorder_->wait_for(expected.size());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].message.id, expected[i]) << i;
  EXPECT_EQ(got[0].message.text, "m0");
  EXPECT_EQ(got[0].message.chat_jid, "slack:C1");

  // A second recover replays the same rows again (the namespaces refuse duplicates).
  caf::anon_send(router_, recover_atom::value);
  got = recorder_->wait_for(2 * expected.size());
  ASSERT_EQ(got.size(), 2 * expected.size());
  EXPECT_EQ(got[expected.size()].message.id, expected[0]);
}

TEST_F(RouterActor, WithoutANamespacesActorTheRowStaysReceived) {
  create("team", false);
  map("slack:C1", "team");
  start_router();
  auto m = stored("slack:C1", "hello");
  route(m);
  EXPECT_EQ(status(), "routed 0, dropped 0, table: 1 namespaces / 1 mappings");
  EXPECT_EQ(row_field(m.id, "state"), "received");
  // Once the namespaces actor runs, a recover delivers it.
  start_namespaces();
  caf::anon_send(router_, recover_atom::value);
  auto got = recorder_->wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.id, m.id);
}

TEST_F(RouterActor, AnUnreadableTableRoutesNothingAndDropsNothing) {
  create("team", false);
  map("slack:C1", "team");
  {
    auto db = sb::storage::Database::open(db_path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db->exec("INSERT INTO sender_allowlists(channel, bot, mode, senders, updated_at) "
                 "VALUES ('slack', 'x', 'list', 'not json', 1)"));
  }
  start_namespaces();
  start_router();
  auto m = stored("slack:C1", "hello");
  route(m);
  EXPECT_EQ(status(), "routed 0, dropped 0, table: not loaded");
  EXPECT_EQ(row_field(m.id, "state"), "received");
  EXPECT_EQ(recorder_->count(), 0u);
}

// M4 of the 2026-12 audit: acked rows that nobody works on must not wait for a restart.
TEST_F(RouterActor, RowsHeldWithoutANamespacesActorAreReplayedOnceOneRuns) {
  create("team", false);
  map("slack:C1", "team");
  start_router();
  auto m = stored("slack:C1", "hello");
  route(m);
  EXPECT_EQ(row_field(m.id, "state"), "received");
  start_namespaces();  // no recover_atom from anyone: the router retries by itself
  auto got = recorder_->wait_for(1);
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0].message.id, m.id);
}

TEST_F(RouterActor, ADeadManagersUnfinishedRowsAreReplayedToItsSuccessor) {
  create("team", false);
  map("slack:C1", "team");
  start_namespaces();
  start_router();
  auto m = stored("slack:C1", "in a turn when the manager dies");
  route(m);
  ASSERT_EQ(recorder_->wait_for(1).size(), 1u);
  // The manager dies with its namespace actors (and their turn queues); a new one
  // registers, as the supervisor does after a restart.
  system.registry().erase(caf::atom("namespaces"));
  caf::anon_send_exit(fake_, caf::exit_reason::kill);
  auto successor = std::make_shared<Recorder>();
  fake_ = system.spawn(fake_namespaces, successor);
  system.registry().put(caf::atom("namespaces"), caf::actor_cast<caf::strong_actor_ptr>(fake_));
  auto got = successor->wait_for(1);
  ASSERT_EQ(got.size(), 1u) << "the row still 'received' must reach the new manager";
  EXPECT_EQ(got[0].message.id, m.id);
}

TEST_F(RouterActor, ARowHeldWhileTheTableWasUnreadableIsRoutedAfterTheNextGoodReload) {
  create("team", false);
  map("slack:C1", "team");
  {
    auto db = sb::storage::Database::open(db_path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db->exec("INSERT INTO sender_allowlists(channel, bot, mode, senders, updated_at) "
                 "VALUES ('slack', 'x', 'list', 'not json', 1)"));
  }
  start_namespaces();
  start_router();
  auto m = stored("slack:C1", "hello");
  route(m);
  EXPECT_EQ(status(), "routed 0, dropped 0, table: not loaded");
  ASSERT_TRUE(rw_db().exec("DELETE FROM sender_allowlists WHERE bot = 'x'"));
  caf::anon_send(router_, reload_atom::value);  // the store's change notice
  auto got = recorder_->wait_for(1);
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0].message.id, m.id);
}

}  // namespace
