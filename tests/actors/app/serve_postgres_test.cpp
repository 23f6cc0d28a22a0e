// The real `squadbox serve` with storage.backend = "postgres" against a throwaway server
// (tests/support/pg_server.hpp): the node migrates its schema at start, a signed Slack
// event is stored in PostgreSQL before its 200, nothing is written to a SQLite file; an
// unreachable server or a wrong password stops the start naming storage.postgres_url.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/sqlite.hpp"
#include "storage/vault_store.hpp"
#include "tests/channels/webhooks/ingress_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_server.hpp"

namespace sb::test::ingress {
namespace {

sb::test::PgServer* const g_serve_pg = sb::test::shared_pg_server();

std::string squadbox_binary() {
  return bin_dir() + "/squadbox";
}

std::string first_line_of(const std::string& path) {
  std::string s;
  std::ifstream(path) >> s;
  return s;
}

class ServePostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    SB_REQUIRE_PG(g_serve_pg);
    data = dir.file("data");
    config = dir.file("squadbox.toml");
    schema = sb::test::unique_name("serve");
    std::ofstream(config) << "[webhooks]\naddress = \"127.0.0.1\"\nport = 0\n"
                          << "[channels.slack.main]\nsigning_secret = \"slack-signing\"\nbot_user_id = \"U0BOT1234\"\n";
  }
  std::map<std::string, std::string> env(const std::string& url) {
    return {{"SQUADBOX_ADMIN_PORT", "0"},
            {"SQUADBOX_LOG_LEVEL", "info"},
            {"SQUADBOX_STORAGE_BACKEND", "postgres"},
            {"SQUADBOX_STORAGE_POSTGRES_URL", url},
            {"SQUADBOX_STORAGE_POSTGRES_SCHEMA", schema}};
  }
  std::string locator() const { return storage::postgres_locator(g_serve_pg->conninfo(), schema); }
  int64_t count(const std::string& sql) {
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(locator(), o);
    EXPECT_TRUE(db.ok()) << db.error().message;
    if (!db) return -1;
    auto stmt = db->prepare(sql);
    EXPECT_TRUE(stmt.ok()) << stmt.error().message;
    if (!stmt) return -1;
    auto row = stmt->step();
    return row && *row ? stmt->column_int64(0) : -1;
  }

  // The Slack signing secret in the vault, which lives in PostgreSQL with the rest.
  void store_signing_secret() {
    storage::VaultOptions vo;
    vo.db_path = locator();
    vo.key_file = data + "/vault.key";
    auto v = storage::Vault::open(vo);
    ASSERT_TRUE(v.ok()) << v.error().message;
    ASSERT_TRUE((*v)->set("slack-signing", Secret(kSlackSecret)).ok());
  }

  TempDir dir;
  std::string data, config, schema;
};

TEST_F(ServePostgres, ASignedWebhookIsStoredInPostgresBeforeIts200) {
  {
    // The first start migrates the schema and makes the vault key, then stops: the Slack
    // signing secret is not in the vault (in PostgreSQL) yet.
    ChildProcess serve(squadbox_binary(), {"serve", "--config", config, "--data-dir", data},
                       env(g_serve_pg->conninfo()), dir.file("first"));
    auto code = serve.wait(60s);
    ASSERT_TRUE(code.has_value()) << "serve kept running without its vault entry";
    EXPECT_EQ(*code, 1) << serve.stderr_text();
    EXPECT_NE(serve.stderr_text().find("slack-signing"), std::string::npos) << serve.stderr_text();
  }
  EXPECT_GT(count("SELECT version FROM squadbox_schema"), 0);
  ASSERT_NO_FATAL_FAILURE(store_signing_secret());

  ChildProcess serve(squadbox_binary(), {"serve", "--config", config, "--data-dir", data}, env(g_serve_pg->conninfo()),
                     dir.file("second"));
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(data + "/webhooks.url"); }, 60s)) << serve.stderr_text();
  const std::string hooks = first_line_of(data + "/webhooks.url");
  const std::string body = slack_event("EvPostgres1");
  auto r = http::request("POST", hooks + "/webhooks/slack/main", slack_headers(body), body, 10s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body << serve.stderr_text();
  EXPECT_EQ(count("SELECT count(*) FROM inbound_messages WHERE platform_message_id = 'EvPostgres1'"), 1);
  // A redelivery is answered 200 and stored once.
  auto again = http::request("POST", hooks + "/webhooks/slack/main", slack_headers(body), body, 10s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(count("SELECT count(*) FROM inbound_messages WHERE platform_message_id = 'EvPostgres1'"), 1);

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(data + "/squadbox.db")) << "it wrote a SQLite file too";
}

TEST_F(ServePostgres, ALostDatabaseAnswers503AcksNothingAndIngestResumesByItself) {
  {
    // The first start migrates the schema and makes the vault key, then stops.
    ChildProcess first(squadbox_binary(), {"serve", "--config", config, "--data-dir", data},
                       env(g_serve_pg->conninfo()), dir.file("first"));
    ASSERT_TRUE(first.wait(60s).has_value()) << "serve kept running without its vault entry";
  }
  ASSERT_NO_FATAL_FAILURE(store_signing_secret());
  ChildProcess serve(squadbox_binary(), {"serve", "--config", config, "--data-dir", data}, env(g_serve_pg->conninfo()),
                     dir.file("serve"));
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(data + "/webhooks.url"); }, 60s)) << serve.stderr_text();
  const std::string hooks = first_line_of(data + "/webhooks.url");
  auto deliver = [&](const std::string& event_id) {
    const std::string body = slack_event(event_id);
    auto r = http::request("POST", hooks + "/webhooks/slack/main", slack_headers(body), body, 20s);
    return r.ok() ? r->status : -1;
  };
  ASSERT_EQ(deliver("EvLossBefore"), 200) << serve.stderr_text();

  // The server crashes (immediate shutdown: sessions cut, no checkpoint) while deliveries
  // keep coming: each is answered 503, so the platform keeps it and retries.
  ASSERT_EQ(g_serve_pg->stop(/*crash=*/true), 0);
  std::vector<std::string> during;
  for (int i = 0; i < 5; ++i) {
    during.push_back("EvLossDuring" + std::to_string(i));
    EXPECT_EQ(deliver(during.back()), 503) << during.back() << "\n" << serve.stderr_text();
  }
  EXPECT_FALSE(serve.wait(0ms).has_value()) << "the node exited without its database: " << serve.stderr_text();
  const std::string admin = first_line_of(data + "/admin.url");
  auto metric = [&] {
    auto r = http::request("GET", admin + "/metrics", {}, "", 5s);
    if (!r.ok()) return std::string("unreachable");
    const auto at = r->body.find("\nsquadbox_storage_unavailable ");
    return at == std::string::npos ? std::string("missing") : r->body.substr(at + 30, 1);
  };
  EXPECT_EQ(metric(), "1") << "the outage is not visible in the metrics";
  EXPECT_NE(serve.stderr_text().find("event=storage.unavailable"), std::string::npos) << serve.stderr_text();

  // It comes back: the platform's retries are taken without anyone restarting the node.
  ASSERT_EQ(g_serve_pg->start(), 0);
  for (const auto& id : during) {
    EXPECT_TRUE(wait_until([&] { return deliver(id) == 200; }, 30s)) << id << "\n" << serve.stderr_text();
  }
  ASSERT_EQ(deliver("EvLossAfter"), 200);
  EXPECT_EQ(metric(), "0");
  EXPECT_NE(serve.stderr_text().find("event=storage.available"), std::string::npos) << serve.stderr_text();
  for (const auto& id : during) {
    EXPECT_EQ(count("SELECT count(*) FROM inbound_messages WHERE platform_message_id = '" + id + "'"), 1) << id;
  }
  EXPECT_EQ(count("SELECT count(*) FROM inbound_messages WHERE platform_message_id = 'EvLossBefore'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM inbound_messages WHERE platform_message_id = 'EvLossAfter'"), 1);
  // The router carried on too: every message stored after the loss was routed (dropped
  // here: this node has no namespace for the chat), not left behind.
  EXPECT_TRUE(wait_until(
      [&] {
        return count(
                   "SELECT count(*) FROM inbound_messages WHERE platform_message_id LIKE 'EvLoss%' AND "
                   "state = 'received'") == 0;
      },
      30s))
      << serve.stderr_text();
  // And readiness is back.
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = http::request("GET", admin + "/readyz", {}, "", 5s);
        return r.ok() && r->status == 200;
      },
      30s))
      << serve.stderr_text();

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.stderr_text();
}

TEST_F(ServePostgres, AnUnreachableServerStopsTheStartNamingTheUrlKey) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  ChildProcess serve(squadbox_binary(), {"serve", "--config", config, "--data-dir", data},
                     env("host=127.0.0.1 port=1 dbname=postgres connect_timeout=5"), dir.file("unreachable"));
  auto code = serve.wait(60s);
  ASSERT_TRUE(code.has_value()) << "serve started without its database";
  EXPECT_NE(*code, 0);
  EXPECT_NE(serve.stderr_text().find("storage.postgres_url"), std::string::npos) << serve.stderr_text();
  EXPECT_NE(serve.stderr_text().find("postgres.unreachable"), std::string::npos) << serve.stderr_text();
}

TEST_F(ServePostgres, AWrongPasswordStopsTheStartNamingTheUrlKey) {
  auto admin = g_serve_pg->admin();
  ASSERT_TRUE(admin) << admin.error().message;
  const std::string role = sb::test::unique_name("node");
  ASSERT_TRUE(admin->exec("CREATE ROLE " + role + " LOGIN PASSWORD 'right horse' IN ROLE password_login"));
  const std::string password_file = dir.file("db.pass");
  std::ofstream(password_file) << "wrong horse\n";
  ::chmod(password_file.c_str(), 0600);
  auto e = env(g_serve_pg->conninfo() + " user=" + role);
  e["SQUADBOX_STORAGE_POSTGRES_PASSWORD_FILE"] = password_file;
  e["PGPASSFILE"] = dir.file("no-pgpass");  // libpq's own mechanisms must not answer
  ChildProcess serve(squadbox_binary(), {"serve", "--config", config, "--data-dir", data}, e, dir.file("wrong"));
  auto code = serve.wait(60s);
  ASSERT_TRUE(code.has_value()) << "serve started with a wrong password";
  EXPECT_NE(*code, 0);
  EXPECT_NE(serve.stderr_text().find("storage.postgres_url"), std::string::npos) << serve.stderr_text();
  EXPECT_NE(serve.stderr_text().find("postgres.auth"), std::string::npos) << serve.stderr_text();
  EXPECT_EQ(serve.stderr_text().find("wrong horse"), std::string::npos) << "the password in the log";
}

TEST_F(ServePostgres, APasswordFileOpenToOthersStopsTheStartNamingItsKey) {
  const std::string password_file = dir.file("db.pass");
  std::ofstream(password_file) << "some horse\n";
  ::chmod(password_file.c_str(), 0644);
  auto e = env(g_serve_pg->conninfo());
  e["SQUADBOX_STORAGE_POSTGRES_PASSWORD_FILE"] = password_file;
  ChildProcess serve(squadbox_binary(), {"serve", "--config", config, "--data-dir", data}, e, dir.file("mode"));
  auto code = serve.wait(60s);
  ASSERT_TRUE(code.has_value()) << "serve started with a password file others can read";
  EXPECT_EQ(*code, 1);
  EXPECT_NE(serve.stderr_text().find("storage.postgres_password_file"), std::string::npos) << serve.stderr_text();
  EXPECT_NE(serve.stderr_text().find("chmod 600"), std::string::npos) << serve.stderr_text();
  EXPECT_EQ(serve.stderr_text().find("some horse"), std::string::npos) << "the password in the log";
}

}  // namespace
}  // namespace sb::test::ingress
