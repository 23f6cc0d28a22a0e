#pragma once
// In-process outbound pipeline for tests and the benchmark: the real storage writer on a
// temporary SQLite file, the outbox actor and one channel sender per bot, against a
// loopback fake platform API (tests/support/fake_upstream.hpp).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/channels/channel_sender.hpp"
#include "actors/channels/outbox.hpp"
#include "actors/storage/storage_writer.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/bot/channel_bot.hpp"
#include "channels/factory/bot_factory.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::test::outbound {

using namespace std::chrono_literals;

inline std::shared_ptr<const channels::ChannelBot> make_test_bot(config::ChannelBotConfig c,
                                                                 std::map<std::string, std::string> vault) {
  auto bot = channels::make_bot(c, [vault](const std::string& name) -> Result<Secret> {
    auto it = vault.find(name);
    if (it == vault.end()) return make_error("vault.not_found", name);
    return Secret(it->second);
  });
  if (!bot) throw std::runtime_error(bot.error().message);
  return std::shared_ptr<const channels::ChannelBot>(std::move(*bot));
}

struct RowView {
  int64_t id = 0;
  std::string state;
  int64_t attempts = 0;
  std::string last_error;
  std::string text;
};

class OutboundPipeline : public ActorSystemFixture {
 public:
  explicit OutboundPipeline(std::vector<std::shared_ptr<const channels::ChannelBot>> bots,
                            config::OutboundConfig outbound = fast_retries(), std::string synchronous = "FULL")
      : bots_(std::move(bots)), outbound_(std::move(outbound)) {
    db_path = dir.file("squadbox.db");
    actors::StorageWriterOptions w;
    w.path = db_path;
    w.synchronous = synchronous;
    w.metrics = &metrics;
    writer = actors::spawn_storage_writer(system, w);
    put("storage", writer);
    caf::scoped_actor self{system};
    self->request(writer, 20s, actors::status_atom::value)
        .receive([](const actors::component_status&) {}, [](caf::error&) {});
    outbox = actors::spawn_outbox(system, actors::OutboxOptions{bots_, &metrics, 10s});
    put("outbox", outbox);
  }
  ~OutboundPipeline() {
    stop_senders();
    for (const std::string name : {"storage", "outbox"}) system.registry().erase(caf::atom_from_string(name));
    caf::anon_send_exit(outbox, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    system.await_all_actors_done();  // they use `metrics` and `dir`, which go first
  }

  static config::OutboundConfig fast_retries() {
    config::OutboundConfig o;
    o.request_timeout_ms = 5000;
    o.max_attempts = 5;
    o.backoff_base_ms = 50;
    o.backoff_max_ms = 200;
    return o;
  }

  void start_senders() {
    for (const auto& bot : bots_) {
      actors::ChannelSenderOptions s;
      s.bot = bot;
      s.db_path = db_path;
      s.outbound = outbound_;
      s.metrics = &metrics;
      senders.push_back(actors::spawn_channel_sender(system, s));
    }
  }
  void stop_senders() {
    for (auto& s : senders) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    senders.clear();
  }

  actors::enqueue_result enqueue(const std::string& bot, const std::string& jid, const std::string& text,
                                 const std::string& reply_to = "") {
    caf::scoped_actor self{system};
    actors::enqueue_result out;
    self->request(outbox, 20s, actors::enqueue_atom::value, actors::outbound_message{bot, jid, text, reply_to})
        .receive([&](const actors::enqueue_result& r) { out = r; },
                 [&](caf::error& e) { out.error = make_error("test.request_failed", system.render(e)); });
    return out;
  }

  std::vector<RowView> rows() const {
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(db_path, o);
    if (!db) throw std::runtime_error(db.error().message);
    auto stmt = db->prepare("SELECT id, state, attempts, COALESCE(last_error, ''), text FROM outbox ORDER BY id");
    if (!stmt) throw std::runtime_error(stmt.error().message);
    std::vector<RowView> out;
    while (*stmt->step()) {
      out.push_back({stmt->column_int64(0), stmt->column_text(1), stmt->column_int64(2), stmt->column_text(3),
                     stmt->column_text(4)});
    }
    return out;
  }
  size_t count_in(const std::string& state) const {
    size_t n = 0;
    for (const auto& r : rows()) n += r.state == state;
    return n;
  }

  TempDir dir;
  metrics::Registry metrics;
  std::string db_path;
  actors::storage_writer_actor writer;
  actors::outbox_actor outbox;
  std::vector<actors::channel_sender_actor> senders;

 private:
  template <class Handle>
  void put(const std::string& name, const Handle& h) {
    system.registry().put(caf::atom_from_string(name), caf::actor_cast<caf::strong_actor_ptr>(h));
  }
  std::vector<std::shared_ptr<const channels::ChannelBot>> bots_;
  config::OutboundConfig outbound_;
};

}  // namespace sb::test::outbound
