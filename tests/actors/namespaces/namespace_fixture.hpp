#pragma once
// A node slice for the namespace actors: the real storage writer and outbox (no senders:
// rows stay 'pending' for the test to read), a real NamespaceStore for namespaces and
// mappings, and optionally real crun containers running the real squadbox-agent (echo).
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/app/namespace_runs.hpp"
#include "actors/channels/outbox.hpp"
#include "actors/namespaces/namespace_manager.hpp"
#include "actors/node/node.hpp"
#include "actors/storage/storage_writer.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/factory/bot_factory.hpp"
#include "channels/local/local_chat_hub.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "storage/migrations.hpp"
#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::test {

using namespace std::chrono_literals;

struct OutboxRowView {
  int64_t id = 0;
  std::string bot, chat_jid, text, reply_to, key;
};

class NamespaceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.node.data_dir = dir_.path();
    config_.container.memory_mb = 64;
    config_.container.pids = 64;
    config_.container.stop_grace_ms = 500;
    auto db = storage::Database::open(config_.storage_path(), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(storage::migrate(*db).ok());
    db_.emplace(std::move(*db));
    auto store = storage::NamespaceStore::open(config_.storage_path(), config_.node.data_dir);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);

    config::Config bots_cfg;
    config::ChannelBotConfig slack;
    slack.platform = "slack";
    slack.name = "main";
    slack.secrets = {{"signing_secret", "s"}, {"bot_token", "slack-token"}};
    slack.settings = {{"bot_user_id", "U0BOT"}};
    bots_cfg.channels.push_back(slack);
    config::ChannelBotConfig tg;
    tg.platform = "telegram";
    tg.name = "tgbot";
    tg.secrets = {{"secret_token", "tg-secret"}, {"bot_token", "tg-token"}};
    tg.settings = {{"username", "SquadBot"}};
    tg.api_base_url = telegram_base_url_;
    bots_cfg.channels.push_back(tg);
    auto bots = channels::make_bots(bots_cfg, [](const std::string& name) -> Result<Secret> {
      if (name == "slack-token") return Secret("xoxb-test");
      if (name == "tg-token") return Secret("7654321:AAHtesttoken_abcdefghijklmnopqrstuv");
      if (name == "tg-secret") return Secret("tg_Secret-token_42");
      return Secret("secret-value");
    });
    ASSERT_TRUE(bots.ok()) << bots.error().message;
    bots_ = *bots;

    actors::StorageWriterOptions w;
    w.path = config_.storage_path();
    w.synchronous = "NORMAL";
    put("storage", caf::actor_cast<caf::actor>(actors::spawn_storage_writer(system_, w)));
    actors::OutboxOptions o;
    o.bots = bots_;
    o.db_path = config_.storage_path();
    put("outbox", caf::actor_cast<caf::actor>(actors::spawn_outbox(system_, std::move(o))));
  }

  void TearDown() override {
    caf::scoped_actor self{system_};
    if (manager_) {
      self->request(manager_, 10s, actors::shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
      manager_ = nullptr;
    }
    // The namespace actors' containers are killed by their supervisors' exit handlers.
    if (runtime_) {
      ASSERT_TRUE(wait_until(
          [&] {
            auto all = runtime_->list({});
            return all && all->empty();
          },
          20s));
    }
    for (const std::string name : {"storage", "outbox"}) {
      auto a = system_.registry().get(caf::atom_from_string(name));
      system_.registry().erase(caf::atom_from_string(name));
      if (a) self->send_exit(caf::actor_cast<caf::actor>(a), caf::exit_reason::user_shutdown);
    }
  }

  void put(const std::string& name, caf::actor a) { system_.registry().put(caf::atom_from_string(name), a); }

  // Real containers: the agent image in a temp image store and crun as root.
  void use_containers() {
    ASSERT_EQ(::geteuid(), 0u) << "container tests need root (CI runs as root)";
    ASSERT_EQ(std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null"), 0);
    namespace fs = std::filesystem;
    images_ = std::make_unique<container::oci::ImageStore>(fs::path(dir_.path()) / "images");
    auto built = images_->build_default_image(bin_dir() + "/squadbox-agent");
    ASSERT_TRUE(built.ok()) << built.error().message;
    container::oci::OciRuntimeOptions o;
    o.state_dir = fs::path(dir_.path()) / "oci" / "containers";
    o.runtime_root = fs::path(dir_.path()) / "oci" / "state";
    o.install_id = "test-install";
    fs::create_directories(o.state_dir);
    runtime_ = std::make_shared<container::oci::OciRuntime>(o, *images_);
  }

  std::shared_ptr<actors::NamespaceServices> services() {
    auto s = std::make_shared<actors::NamespaceServices>();
    app::NamespaceRunContext ctx;
    ctx.config = config_;
    ctx.runtime = runtime_;
    ctx.install_id = "test-install";
    ctx.metrics = &metrics_;
    s->make_run = app::namespace_run_factory(std::move(ctx));
    s->ready = true;
    return s;
  }

  // Spawns the manager; `ready` sends ready_atom (containers may start).
  void start_manager(std::shared_ptr<actors::NamespaceServices> services, bool ready = true) {
    actors::NamespaceManagerOptions o;
    o.config = config_.namespaces;
    o.db_path = config_.storage_path();
    o.services = std::move(services);
    o.local_chat = hub_;
    o.bots = bots_;
    o.metrics = &metrics_;
    manager_ = actors::spawn_namespace_manager(system_, std::move(o));
    if (ready) caf::anon_send(manager_, actors::ready_atom::value);
  }

  void stop_manager() {
    caf::scoped_actor self{system_};
    self->request(manager_, 10s, actors::shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
    manager_ = nullptr;
  }

  namespaces::Namespace make_namespace(const std::string& name, std::vector<std::string> jids,
                                       namespaces::ContainerConfig container = {}) {
    namespaces::NamespacePatch p;
    p.name = name;
    p.container = container;
    auto ns = store_->create(p);
    EXPECT_TRUE(ns.ok()) << ns.error().message;
    for (const auto& jid : jids) {
      namespaces::MappingRequest m;
      m.jid = jid;
      m.namespace_ref = ns->id;
      EXPECT_TRUE(store_->map(m).ok()) << jid;
    }
    return *ns;
  }

  // Stores the message as the ingest would and returns it with its id.
  sb::messaging::StoredMessage store_inbound(sb::messaging::StoredMessage m) {
    static int counter = 0;
    if (m.platform_message_id.empty()) m.platform_message_id = "p" + std::to_string(++counter);
    auto stmt = db_->prepare(
        "INSERT INTO inbound_messages(channel, bot, platform_message_id, chat_jid, sender, sender_name, text, "
        "reply_ref, message_ref, sent_at, is_group, received_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    EXPECT_TRUE(stmt.ok());
    int i = 1;
    for (const auto* v : {&m.channel, &m.bot, &m.platform_message_id, &m.chat_jid, &m.sender_id, &m.sender_name,
                          &m.text, &m.reply_ref, &m.message_ref})
      (void)stmt->bind(i++, std::string_view(*v));
    (void)stmt->bind(i++, m.timestamp_ms);
    (void)stmt->bind(i++, int64_t{m.is_group ? 1 : 0});
    (void)stmt->bind(i++, m.timestamp_ms);
    EXPECT_TRUE(stmt->step().ok());
    m.id = db_->last_insert_rowid();
    return m;
  }

  sb::messaging::StoredMessage slack_message(const std::string& text, const std::string& chat = "slack:C1") {
    sb::messaging::StoredMessage m;
    m.channel = "slack";
    m.bot = "main";
    m.chat_jid = chat;
    m.sender_id = "U1";
    m.sender_name = "Alice";
    m.text = text;
    m.reply_ref = "1700000000.000100";  // in a thread
    m.message_ref = "1700000000.000200";
    m.timestamp_ms = 1'790'000'000'000;
    m.is_group = true;
    return store_inbound(std::move(m));
  }

  void route(const namespaces::Namespace& ns, const sb::messaging::StoredMessage& m) {
    caf::anon_send(manager_, actors::route_atom::value, actors::routed_message{ns.id, ns.name, m});
  }

  std::vector<OutboxRowView> outbox_rows() {
    std::vector<OutboxRowView> out;
    auto stmt = db_->prepare(
        "SELECT id, channel || '/' || bot, chat_jid, text, COALESCE(reply_to, ''), COALESCE(idempotency_key, '') "
        "FROM outbox ORDER BY id");
    EXPECT_TRUE(stmt.ok());
    while (true) {
      auto row = stmt->step();
      if (!row || !*row) break;
      out.push_back({stmt->column_int64(0), stmt->column_text(1), stmt->column_text(2), stmt->column_text(3),
                     stmt->column_text(4), stmt->column_text(5)});
    }
    return out;
  }

  bool wait_rows(size_t n, std::chrono::milliseconds timeout = 60s) {
    return wait_until([&] { return outbox_rows().size() >= n; }, timeout);
  }

  int64_t scalar(const std::string& sql) {
    auto stmt = db_->prepare(sql);
    EXPECT_TRUE(stmt.ok()) << sql;
    auto row = stmt->step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return stmt->column_int64(0);
  }

  std::string text_of(const std::string& sql) {
    auto stmt = db_->prepare(sql);
    EXPECT_TRUE(stmt.ok()) << sql;
    auto row = stmt->step();
    if (!row.ok() || !*row) return {};
    return stmt->column_text(0);
  }

  actors::component_status manager_status() {
    caf::scoped_actor self{system_};
    actors::component_status out;
    self->request(manager_, 10s, actors::status_atom::value)
        .receive([&](const actors::component_status& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  std::string telegram_base_url_;  // set before SetUp to point the Telegram bot at a fake
  TempDir dir_;
  config::Config config_;
  metrics::Registry metrics_;
  std::optional<storage::Database> db_;
  std::unique_ptr<storage::NamespaceStore> store_;
  std::vector<std::shared_ptr<const channels::ChannelBot>> bots_;
  std::shared_ptr<channels::local::LocalChatHub> hub_ = std::make_shared<channels::local::LocalChatHub>();
  std::unique_ptr<container::oci::ImageStore> images_;
  std::shared_ptr<container::oci::OciRuntime> runtime_;
  caf::actor_system_config cfg_;
  caf::actor_system system_{[this]() -> caf::actor_system_config& {
    actors::configure_actor_system(cfg_, config::Config{});
    return cfg_;
  }()};
  actors::namespace_manager_actor manager_;
};

}  // namespace sb::test
