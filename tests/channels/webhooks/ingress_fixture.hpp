#pragma once
// Shared by the ingress tests: one bot per platform (plus a polling Telegram bot) with
// known credentials, request signers for each platform, golden payloads (REFERENCE §3
// shapes), and a fixture with an actor system, the real storage writer and ingest on a
// temp SQLite file, a recording "router", and a WebhookListener on loopback.
#include <sodium.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/channels/channel_ingest.hpp"
#include "actors/channels/ingest_sink.hpp"
#include "actors/node/node.hpp"
#include "actors/storage/storage_writer.hpp"
#include "channels/bot/channel_bot.hpp"
#include "channels/factory/bot_factory.hpp"
#include "channels/slack/verify.hpp"
#include "channels/webhooks/webhook_listener.hpp"
#include "channels/whatsapp/verify.hpp"
#include "runtime/core/hex.hpp"
#include "runtime/http/client.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::test::ingress {

using namespace std::chrono_literals;

// RFC 8032 test 1 (REFERENCE §3).
constexpr const char* kDiscordSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kDiscordPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* kSlackSecret = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr const char* kWhatsAppSecret = "It's a Secret to Everybody";
constexpr const char* kWhatsAppVerifyToken = "verify-me-7";
constexpr const char* kTelegramSecret = "tg_Secret-token_42";

inline std::map<std::string, std::string> vault_entries() {
  return {{"slack-signing", kSlackSecret},
          {"slack-token", "xoxb-test"},
          {"wa-app", kWhatsAppSecret},
          {"wa-verify", kWhatsAppVerifyToken},
          {"wa-access", "EAAtest"},
          {"tg-secret", kTelegramSecret},
          {"tg-token", "7654321:AAHtesttoken_abcdefghijklmnopqrstuv"}};
}

inline config::Config bots_config() {
  config::Config c;
  auto bot = [&](std::string platform, std::string name, std::map<std::string, std::string> secrets,
                 std::map<std::string, std::string> settings, config::BotMode mode = config::BotMode::webhook) {
    config::ChannelBotConfig b;
    b.platform = std::move(platform);
    b.name = std::move(name);
    b.secrets = std::move(secrets);
    b.settings = std::move(settings);
    b.mode = mode;
    c.channels.push_back(b);
  };
  bot("slack", "main", {{"signing_secret", "slack-signing"}, {"bot_token", "slack-token"}},
      {{"bot_user_id", "U0BOT1234"}});
  bot("discord", "helper", {}, {{"public_key", kDiscordPublic}, {"application_id", "775799577604522054"}});
  bot("whatsapp", "shop", {{"app_secret", "wa-app"}, {"verify_token", "wa-verify"}, {"access_token", "wa-access"}},
      {{"phone_number_id", "106540352242922"}});
  bot("telegram", "tgbot", {{"secret_token", "tg-secret"}, {"bot_token", "tg-token"}},
      {{"username", "SquadHelperBot"}});
  bot("telegram", "tgpoll", {{"bot_token", "tg-token"}}, {}, config::BotMode::polling);
  return c;
}

inline std::vector<std::shared_ptr<const channels::ChannelBot>> make_test_bots() {
  auto entries = vault_entries();
  auto bots = channels::make_bots(bots_config(), [entries](const std::string& name) -> Result<Secret> {
    auto it = entries.find(name);
    if (it == entries.end()) return make_error("vault.not_found", "no entry " + name);
    return Secret(it->second);
  });
  EXPECT_TRUE(bots.ok()) << bots.error().message;
  return bots.ok() ? *bots : std::vector<std::shared_ptr<const channels::ChannelBot>>{};
}

inline std::string unix_now(std::int64_t offset_s = 0) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
      offset_s);
}

// -- golden payloads -----------------------------------------------------------

inline std::string slack_event(const std::string& event_id, const std::string& text = "hello squad") {
  return R"({"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"message",)"
         R"("channel":"C123ABC456","user":"U123ABC456","text":")" +
         text +
         R"(","ts":"1355517523.000005","event_ts":"1355517523.000005","channel_type":"channel"},)"
         R"("type":"event_callback","event_id":")" +
         event_id + R"(","event_time":1355517523})";
}

inline std::string discord_command(const std::string& id) {
  return R"({"application_id":"775799577604522054","channel_id":"772908445358620702",)"
         R"("data":{"id":"866818195033292851","name":"ask","type":1,"options":[{"name":"question","type":3,"value":"What is up?"}]},)"
         R"("guild_id":"772904309264089089","id":")" +
         id +
         R"(","member":{"user":{"global_name":"Ada","id":"53908232506183680","username":"ada_l"}},)"
         R"("token":"aW50ZXJhY3Rpb246Nzg2MDA4.x_y-z","type":2,"version":1})";
}

inline std::string whatsapp_delivery(const std::string& message_id) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",)"
         R"("value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",)"
         R"("phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],)"
         R"("messages":[{"from":"16505551234","id":")" +
         message_id +
         R"(","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]}}]}]})";
}

// Its dedupe key is "-1001234567890:<message_id>" (chat:message, never the update_id).
inline std::string telegram_update(std::int64_t update_id, std::int64_t message_id = 4412) {
  return R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":)" + std::to_string(message_id) +
         R"(,"from":{"id":123456789,"is_bot":false,"first_name":"Grace","username":"ghopper"},)"
         R"("chat":{"id":-1001234567890,"title":"Ops squad","type":"supergroup"},"date":1718000000,)"
         R"("text":"@SquadHelperBot roll back please","entities":[{"offset":0,"length":15,"type":"mention"}]}})";
}

// -- signers --------------------------------------------------------------------

inline http::Headers slack_headers(const std::string& body, const std::string& ts = unix_now(),
                                   const std::string& content_type = "application/json") {
  auto v = channels::slack::Verifier::create(Secret(kSlackSecret));
  return {{"Content-Type", content_type}, {"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", v->sign(ts, body)}};
}

inline http::Headers discord_headers(const std::string& body, const std::string& ts = unix_now()) {
  if (sodium_init() < 0) ADD_FAILURE() << "sodium_init";
  unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  sodium_hex2bin(seed, sizeof seed, kDiscordSeed, 64, nullptr, nullptr, nullptr);
  crypto_sign_seed_keypair(pk, sk, seed);
  const std::string message = ts + body;
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(), sk);
  return {{"Content-Type", "application/json"},
          {"X-Signature-Ed25519", hex_encode({sig, sizeof sig})},
          {"X-Signature-Timestamp", ts}};
}

inline http::Headers whatsapp_headers(const std::string& body) {
  auto v = channels::whatsapp::Verifier::create(Secret(kWhatsAppSecret), Secret(kWhatsAppVerifyToken));
  return {{"Content-Type", "application/json"}, {"X-Hub-Signature-256", v->sign(body)}};
}

inline http::Headers telegram_headers(const std::string& token = kTelegramSecret) {
  return {{"Content-Type", "application/json"}, {"X-Telegram-Bot-Api-Secret-Token", token}};
}

// -- the fixture --------------------------------------------------------------

// What the stand-in router received, thread-safe.
struct Routed {
  std::mutex mutex;
  std::vector<sb::messaging::StoredMessage> messages;
  size_t count(const std::string& platform_id) {
    std::lock_guard lk(mutex);
    size_t n = 0;
    for (const auto& m : messages) n += m.platform_message_id == platform_id;
    return n;
  }
  std::vector<sb::messaging::StoredMessage> snapshot() {
    std::lock_guard lk(mutex);
    return messages;
  }
};

struct Audited {
  std::mutex mutex;
  std::vector<AuditRecord> records;
  AuditSink sink() {
    return [this](AuditRecord r) {
      std::lock_guard lk(mutex);
      records.push_back(std::move(r));
    };
  }
  std::vector<AuditRecord> snapshot() {
    std::lock_guard lk(mutex);
    return records;
  }
};

inline caf::actor_system_config& node_like_config(caf::actor_system_config& cfg) {
  config::Config c;
  actors::configure_actor_system(cfg, c);
  return cfg;
}

class IngressFixture : public ::testing::Test {
 protected:
  void SetUp() override { start_node(); }
  void TearDown() override {
    listener.reset();
    system.registry().erase(caf::atom("storage"));
    system.registry().erase(caf::atom("ingest"));
    system.registry().erase(caf::atom("router"));
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ingest, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }

  void start_node() {
    db_path = dir.file("squadbox.db");
    actors::StorageWriterOptions w;
    w.path = db_path;
    writer = actors::spawn_storage_writer(system, w);
    system.registry().put(caf::atom("storage"), caf::actor_cast<caf::strong_actor_ptr>(writer));
    ingest = actors::spawn_ingest(system, actors::IngestOptions{&metrics});
    system.registry().put(caf::atom("ingest"), caf::actor_cast<caf::strong_actor_ptr>(ingest));
    router = system.spawn([routed = routed](caf::event_based_actor*) -> caf::behavior {
      return {[routed](actors::route_atom, const sb::messaging::StoredMessage& m) {
        std::lock_guard lk(routed->mutex);
        routed->messages.push_back(m);
      }};
    });
    system.registry().put(caf::atom("router"), caf::actor_cast<caf::strong_actor_ptr>(router));
    // The writer migrates the database in its start-up: once it answers, the schema is there.
    caf::scoped_actor self{system};
    bool ready = false;
    self->request(writer, 10s, actors::status_atom::value)
        .receive([&](const actors::component_status&) { ready = true; }, [](caf::error&) {});
    ASSERT_TRUE(ready) << "storage writer did not start";
  }

  // Starts the listener on 127.0.0.1 with short timeouts (TLS when both files are given).
  void start_listener(std::string cert = "", std::string key = "",
                      const std::function<void(channels::webhooks::WebhookListenerOptions&)>& tweak = {}) {
    channels::webhooks::WebhookListenerOptions o;
    o.server.name = "webhooks";
    o.server.address = "127.0.0.1";
    o.server.port = 0;
    o.server.request_timeout = 500ms;
    o.server.threads = 2;
    o.server.tls_cert_file = std::move(cert);
    o.server.tls_key_file = std::move(key);
    o.ack_timeout = 2500ms;
    o.audit = audited->sink();
    o.metrics = &metrics;
    if (tweak) tweak(o);
    listener =
        std::make_unique<channels::webhooks::WebhookListener>(actors::make_ingest_sink(system), make_test_bots(), o);
    auto port = listener->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    base_url = std::string(listener->tls() ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(*port);
  }

  Result<http::Response> post(const std::string& path, http::Headers headers, std::string body) {
    http::ClientOptions o;
    o.timeout = 10s;
    o.ca_file = ca_file;
    return http::request("POST", base_url + path, std::move(headers), std::move(body), o);
  }
  Result<http::Response> get(const std::string& path) {
    http::ClientOptions o;
    o.timeout = 10s;
    o.ca_file = ca_file;
    return http::request("GET", base_url + path, {}, "", o);
  }

  // Rows with this platform id, read through a separate connection (what is committed).
  int64_t stored(const std::string& platform_id) {
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(db_path, o);
    if (!db) {
      ADD_FAILURE() << db.error().message;
      return -1;
    }
    auto stmt = db->prepare("SELECT count(*) FROM inbound_messages WHERE platform_message_id = ?");
    if (!stmt) {
      ADD_FAILURE() << stmt.error().message;
      return -1;
    }
    (void)stmt->bind(1, std::string_view(platform_id));
    auto row = stmt->step();
    if (!row || !*row) return -1;
    return stmt->column_int64(0);
  }

  TempDir dir;
  std::string db_path;
  std::string ca_file;
  metrics::Registry metrics;  // outlives the actor system (declared before it)
  caf::actor_system_config cfg;
  caf::actor_system system{node_like_config(cfg)};
  std::shared_ptr<Routed> routed = std::make_shared<Routed>();
  std::shared_ptr<Audited> audited = std::make_shared<Audited>();
  actors::storage_writer_actor writer;
  actors::ingest_actor ingest;
  caf::actor router;
  std::unique_ptr<channels::webhooks::WebhookListener> listener;
  std::string base_url;
};

}  // namespace sb::test::ingress
