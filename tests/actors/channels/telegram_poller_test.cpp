// The Telegram poller against a loopback fake Bot API, with the real storage writer and
// ingest actor on a temp SQLite file and a router that records what it is handed.
#include "actors/channels/telegram_poller.hpp"

#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "actors/channels/channel_ingest.hpp"
#include "actors/storage/storage_writer.hpp"
#include "storage/sqlite.hpp"
#include "tests/channels/telegram/poller_test_support.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
using sb::test::FakeTelegram;
using sb::test::UpstreamReply;

// What the router received, in order; thread-safe.
struct Routed {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<sb::messaging::StoredMessage> messages;

  bool wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return messages.size() >= n; });
  }
  std::vector<std::string> ids() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& m : messages) out.push_back(m.platform_message_id);
    return out;
  }
};

router_actor::behavior_type recording_router(router_actor::pointer self, std::shared_ptr<Routed> routed) {
  return {
      [=](route_atom, const sb::messaging::StoredMessage& m) {
        std::lock_guard lock(routed->mutex);
        routed->messages.push_back(m);
        routed->cv.notify_all();
      },
      [](status_atom) {
        return component_status{"router", "running", ""};
      },
      [=](shutdown_atom) {
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

const std::string kPollsHelp = "Telegram getUpdates polls by outcome.";

struct TelegramPoller : ::testing::Test, sb::test::ActorSystemFixture {
  void SetUp() override {
    db_path = dir.file("db.sqlite");
    StorageWriterOptions w;
    w.path = db_path;
    writer = spawn_storage_writer(system, w);
    ingest = spawn_ingest(system, IngestOptions{&metrics});
    router = system.spawn(recording_router, routed);
    put("storage", writer);
    put("ingest", ingest);
    put("router", router);
    // The writer opens and migrates the database on its own thread: wait for it, as the
    // node does by starting "storage" first.
    caf::scoped_actor self{system};
    bool ready = false;
    self->request(writer, 20s, status_atom::value)
        .receive([&](const component_status&) { ready = true; }, [&](caf::error&) {});
    ASSERT_TRUE(ready);
  }
  void TearDown() override {
    stop_poller();
    for (const std::string name : {"storage", "ingest", "router"}) system.registry().erase(caf::atom_from_string(name));
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ingest, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }
  template <class Handle>
  void put(const std::string& name, const Handle& h) {
    system.registry().put(caf::atom_from_string(name), caf::actor_cast<caf::strong_actor_ptr>(h));
  }

  TelegramPollerOptions options(int poll_timeout_s = 1) {
    TelegramPollerOptions o;
    o.bot = sb::test::make_polling_bot(fake.url());
    o.db_path = db_path;
    o.poll_timeout_s = poll_timeout_s;
    o.backoff_base = 20ms;
    o.backoff_max = 200ms;
    o.metrics = &metrics;
    return o;
  }
  void start_poller(int poll_timeout_s = 1) {
    poller = spawn_telegram_poller(system, options(poll_timeout_s));
    ASSERT_TRUE(poller);
  }
  // Asks the poller to shut down and waits until it is gone; the time that took.
  std::chrono::milliseconds stop_poller() {
    if (!poller) return 0ms;
    const auto start = std::chrono::steady_clock::now();
    caf::scoped_actor self{system};
    self->monitor(poller);
    bool answered = false;
    self->request(poller, 20s, shutdown_atom::value).receive([&](bool ok) { answered = ok; }, [&](caf::error&) {});
    EXPECT_TRUE(answered);
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; }, caf::after(20s) >> [] {});
    EXPECT_TRUE(down);
    poller = nullptr;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }
  // channel_state's offset for bot "main", or -1 when none is stored.
  int64_t stored_offset() {
    sb::storage::OpenOptions o;
    o.read_only = true;
    auto db = sb::storage::Database::open(db_path, o);
    if (!db) return -1;
    auto stmt = db->prepare("SELECT value FROM channel_state WHERE channel='telegram' AND bot='main' AND key='offset'");
    if (!stmt) return -1;
    auto row = stmt->step();
    if (!row || !*row) return -1;
    try {
      return std::stoll(stmt->column_text(0));
    } catch (const std::exception&) {
      return -2;  // not a number
    }
  }
  bool wait_for_stored_offset(int64_t want, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (stored_offset() == want) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  uint64_t polls(const std::string& result) {
    return metrics.counter("squadbox_telegram_polls_total", kPollsHelp, {{"bot", "telegram/main"}, {"result", result}})
        .value();
  }
  // An "ok" poll is counted when the offset write answers, a moment after the row is visible.
  bool wait_for_polls(const std::string& result, uint64_t at_least, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (polls(result) < at_least && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return polls(result) >= at_least;
  }
  int64_t stored_messages() {
    sb::storage::OpenOptions o;
    o.read_only = true;
    auto db = sb::storage::Database::open(db_path, o);
    auto stmt = db->prepare("SELECT count(*) FROM inbound_messages WHERE channel='telegram'");
    EXPECT_TRUE(stmt.ok());
    EXPECT_TRUE(stmt->step().ok());
    return stmt->column_int64(0);
  }

  FakeTelegram fake;
  sb::test::TempDir dir;
  std::string db_path;
  sb::metrics::Registry metrics;
  std::shared_ptr<Routed> routed = std::make_shared<Routed>();
  storage_writer_actor writer;
  ingest_actor ingest;
  router_actor router;
  telegram_poller_actor poller;
};

TEST_F(TelegramPoller, UpdatesArriveOnceInOrderAndTheOffsetPersists) {
  fake.add_update(100, "one");
  fake.add_update(101, "two");
  fake.add_update(102, "three");
  start_poller();
  ASSERT_TRUE(routed->wait_for(3, 10s));
  ASSERT_TRUE(wait_for_stored_offset(103, 10s));
  // The next poll confirms them (offset 103) and long-polls; a new update then arrives.
  ASSERT_TRUE(fake.wait_for_offset(103, 10s));
  fake.add_update(103, "four");
  ASSERT_TRUE(routed->wait_for(4, 10s));
  ASSERT_TRUE(wait_for_stored_offset(104, 10s));
  EXPECT_EQ(routed->ids(), (std::vector<std::string>{"42:1100", "42:1101", "42:1102", "42:1103"}));  // chat:message
  {
    std::lock_guard lock(routed->mutex);
    EXPECT_EQ(routed->messages[0].text, "one");
    EXPECT_EQ(routed->messages[0].chat_jid, "tg:42");
    EXPECT_EQ(routed->messages[0].bot, "main");
    EXPECT_GT(routed->messages[0].id, 0);  // stored before it was routed
  }
  EXPECT_EQ(fake.offsets().front(), 0);  // nothing stored: start from the oldest update
  EXPECT_EQ(fake.bad_requests(), 0u);
  EXPECT_TRUE(wait_for_polls("ok", 2, 10s));

  // A restart resumes from the persisted offset and routes nothing again.
  stop_poller();
  const size_t before = fake.offsets().size();
  start_poller();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (fake.offsets().size() <= before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  ASSERT_GT(fake.offsets().size(), before);
  EXPECT_EQ(fake.offsets().at(before), 104);
  EXPECT_FALSE(routed->wait_for(5, 300ms));
  EXPECT_EQ(stored_messages(), 4);
}

TEST_F(TelegramPoller, CrashAfterIngestBeforeTheOffsetWriteRoutesNothingTwice) {
  // A previous run stored updates 200 and 201 but died before writing the offset: the
  // ingest has them, channel_state does not.
  {
    caf::scoped_actor self{system};
    std::vector<sb::messaging::StoredMessage> batch;
    for (int64_t id : {200, 201}) {
      sb::messaging::StoredMessage m;
      m.channel = "telegram";
      m.bot = "main";
      m.chat_jid = "tg:42";
      m.sender_id = "42";
      m.text = "early";
      m.platform_message_id = "42:" + std::to_string(1000 + id);  // what the poller stores for update `id`
      batch.push_back(m);
    }
    ingest_result r;
    self->request(ingest, 10s, ingest_atom::value, std::move(batch))
        .receive([&](const ingest_result& x) { r = x; },
                 [&](caf::error&) { r.error = sb::make_error("test.request_failed", "failed"); });
    ASSERT_EQ(r.error.code, "");
    ASSERT_EQ(r.stored, 2u);
  }
  ASSERT_TRUE(routed->wait_for(2, 10s));
  ASSERT_EQ(stored_offset(), -1);
  fake.add_update(200, "early");
  fake.add_update(201, "early");
  fake.add_update(202, "new");
  start_poller();
  ASSERT_TRUE(wait_for_stored_offset(203, 10s));
  ASSERT_TRUE(routed->wait_for(3, 10s));
  EXPECT_FALSE(routed->wait_for(4, 300ms));
  EXPECT_EQ(routed->ids(), (std::vector<std::string>{"42:1200", "42:1201", "42:1202"}));
  EXPECT_EQ(fake.offsets().front(), 0);  // it did re-read them
  EXPECT_EQ(stored_messages(), 3);
}

TEST_F(TelegramPoller, ApiErrorsBackOffAndRecover) {
  UpstreamReply dropped;
  dropped.close_without_answer = true;
  UpstreamReply garbage;
  garbage.raw = "this is not HTTP\r\n\r\n";
  fake.script({
      UpstreamReply::json(500, R"({"ok":false,"error_code":500,"description":"Internal Server Error"})"),
      UpstreamReply::json(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})"),
      UpstreamReply::json(200, R"({"ok":false,"error_code":400,"description":"Bad Request"})"),
      UpstreamReply::json(200, "<html>not json</html>"),
      UpstreamReply::json(409, R"({"ok":false,"error_code":409,"description":"Conflict: webhook is active"})"),
      UpstreamReply::json(429, R"({"ok":false,"error_code":429,"parameters":{"retry_after":0}})"),
      dropped,
      garbage,
  });
  fake.add_update(300, "after the storm");
  start_poller();
  ASSERT_TRUE(routed->wait_for(1, 20s));
  ASSERT_TRUE(wait_for_stored_offset(301, 10s));
  EXPECT_EQ(fake.scripted_left(), 0u);
  EXPECT_EQ(polls("server_error"), 1u);
  EXPECT_EQ(polls("refused"), 3u);  // 401, ok:false, 409
  EXPECT_EQ(polls("malformed"), 1u);
  EXPECT_EQ(polls("rate_limited"), 1u);
  EXPECT_EQ(polls("network"), 2u);  // closed without an answer, not HTTP at all
  EXPECT_TRUE(wait_for_polls("ok", 1, 10s));
  // Every failed poll was retried the same way (same offset): nothing was skipped.
  auto offsets = fake.offsets();
  ASSERT_GE(offsets.size(), 9u);
  for (size_t i = 0; i < 9; ++i) EXPECT_EQ(offsets[i], 0) << i;
  EXPECT_EQ(routed->ids(), (std::vector<std::string>{"42:1300"}));
}

TEST_F(TelegramPoller, BackoffIsNotASpin) {
  // The API answers 500 forever: with a 20 ms base and a 200 ms cap the poller makes
  // at most a handful of requests in a second, not thousands.
  std::vector<UpstreamReply> errors(1000, UpstreamReply::json(500, R"({"ok":false,"error_code":500})"));
  fake.script(errors);
  start_poller();
  ASSERT_TRUE(fake.upstream().wait_for_requests(3, 10s));
  std::this_thread::sleep_for(1s);
  EXPECT_LE(fake.upstream().request_count(), 15u);
}

TEST_F(TelegramPoller, ShutdownIsPromptWhileALongPollIsPending) {
  start_poller(30);  // the fake holds an empty poll for 30 s
  ASSERT_TRUE(fake.wait_for_offset(0, 10s));
  std::this_thread::sleep_for(100ms);  // the request is now parked in the fake
  const auto took = stop_poller();
  EXPECT_LT(took, 5s) << took.count() << " ms";
  EXPECT_EQ(polls("ok") + polls("empty"), 0u);  // the interrupted poll is not a result
}

TEST_F(TelegramPoller, ShutdownIsPromptDuringABackoffWait) {
  fake.script({UpstreamReply::json(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})")});
  auto o = options();
  o.backoff_max = 60s;  // 401 waits the cap
  poller = spawn_telegram_poller(system, o);
  ASSERT_TRUE(poller);
  ASSERT_TRUE(fake.upstream().wait_for_requests(1, 10s));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (polls("refused") == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(polls("refused"), 1u);
  EXPECT_LT(stop_poller(), 5s);
  EXPECT_EQ(fake.upstream().request_count(), 1u);
}

TEST_F(TelegramPoller, AnswersStatus) {
  start_poller();
  caf::scoped_actor self{system};
  component_status status;
  self->request(caf::actor_cast<component_actor>(poller), 10s, status_atom::value)
      .receive([&](const component_status& s) { status = s; }, [&](caf::error&) {});
  EXPECT_EQ(status.name, "telegram_poller");
  EXPECT_NE(status.detail.find("telegram/main"), std::string::npos);
}

TEST_F(TelegramPoller, RefusesABotThatDoesNotPoll) {
  auto o = options();
  o.bot = sb::test::make_polling_bot(fake.url(), sb::config::BotMode::webhook);
  EXPECT_FALSE(spawn_telegram_poller(system, o));
  o.bot = nullptr;
  EXPECT_FALSE(spawn_telegram_poller(system, o));
}

TEST_F(TelegramPoller, AnUnreadableStoredOffsetStartsFromZero) {
  {
    caf::scoped_actor self{system};
    sb::storage::WriteOp op;
    op.sql =
        "INSERT INTO channel_state(channel, bot, key, value, updated_at) VALUES('telegram','main','offset','x7',0)";
    bool ok = false;
    self->request(writer, 10s, write_atom::value, op)
        .receive([&](const sb::storage::WriteOutcome& w) { ok = w.ok; }, [&](caf::error&) {});
    ASSERT_TRUE(ok);
  }
  fake.add_update(5, "hello");
  start_poller();
  ASSERT_TRUE(wait_for_stored_offset(6, 10s));
  EXPECT_EQ(fake.offsets().front(), 0);
  EXPECT_EQ(routed->ids(), (std::vector<std::string>{"42:1005"}));
}

}  // namespace
