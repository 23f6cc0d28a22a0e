// The real `squadbox serve` with a Slack bot: a missing vault entry stops the start
// (exit 1, naming the entry); with the entry in the vault, a signed event is stored
// before its 200, the channels API lists the bot, and webhooks.url comes and goes.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "storage/vault_store.hpp"
#include "tests/channels/webhooks/ingress_fixture.hpp"
#include "tests/support/child_process.hpp"

namespace sb::test::ingress {
namespace {

std::string squadbox() {
  return bin_dir() + "/squadbox";
}

std::string read_first_line(const std::string& path) {
  std::string s;
  std::ifstream(path) >> s;
  return s;
}

class ServeWebhooks : public ::testing::Test {
 protected:
  void SetUp() override {
    data = dir.file("data");
    config = dir.file("squadbox.toml");
    // Every test that starts serve with bots sets webhooks.port = 0 (8080 would collide).
    std::ofstream(config) << "[webhooks]\naddress = \"127.0.0.1\"\nport = 0\n"
                          << "[channels.slack.main]\nsigning_secret = \"slack-signing\"\nbot_user_id = \"U0BOT1234\"\n";
  }
  std::map<std::string, std::string> env() { return {{"SQUADBOX_ADMIN_PORT", "0"}, {"SQUADBOX_LOG_LEVEL", "info"}}; }

  TempDir dir;
  std::string data, config;
};

TEST_F(ServeWebhooks, MissingVaultEntryStopsTheStartThenASignedEventIsStored) {
  {
    ChildProcess serve(squadbox(), {"serve", "--config", config, "--data-dir", data}, env(), dir.file("first"));
    auto code = serve.wait(30s);
    ASSERT_TRUE(code.has_value()) << "serve kept running without its vault entry";
    EXPECT_EQ(*code, 1);
    EXPECT_NE(serve.stderr_text().find("slack-signing"), std::string::npos) << serve.stderr_text();
    EXPECT_FALSE(std::filesystem::exists(data + "/webhooks.url"));
  }
  {
    // The operator stores the signing secret (the first start made the vault key).
    storage::VaultOptions vo;
    vo.db_path = data + "/squadbox.db";
    vo.key_file = data + "/vault.key";
    auto v = storage::Vault::open(vo);
    ASSERT_TRUE(v.ok()) << v.error().message;
    ASSERT_TRUE((*v)->set("slack-signing", Secret(kSlackSecret)).ok());
  }

  ChildProcess serve(squadbox(), {"serve", "--config", config, "--data-dir", data}, env(), dir.file("second"));
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(data + "/admin.url"); }, 30s)) << serve.stderr_text();
  ASSERT_TRUE(std::filesystem::exists(data + "/webhooks.url"));
  const std::string hooks = read_first_line(data + "/webhooks.url");
  const std::string admin = read_first_line(data + "/admin.url");
  ASSERT_EQ(hooks.rfind("http://127.0.0.1:", 0), 0u) << hooks;

  const std::string body = slack_event("EvServe1");
  auto r = http::request("POST", hooks + "/webhooks/slack/main", slack_headers(body), body, 10s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body << serve.stderr_text();
  {
    storage::OpenOptions o;
    o.read_only = true;
    auto db = storage::Database::open(data + "/squadbox.db", o);
    ASSERT_TRUE(db.ok());
    auto stmt = db->prepare("SELECT count(*) FROM inbound_messages WHERE platform_message_id = 'EvServe1'");
    ASSERT_TRUE(stmt.ok());
    ASSERT_TRUE(*stmt->step());
    EXPECT_EQ(stmt->column_int64(0), 1);
  }
  auto bad = http::request("POST", hooks + "/webhooks/slack/main", slack_headers(body, unix_now(-400)), body, 10s);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 401);

  const std::string token = read_first_line(data + "/admin.token");
  auto list =
      http::request("GET", admin + "/api/v1/container/channels", {{"Authorization", "Bearer " + token}}, "", 10s);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(list->body, R"({"channels":[{"id":"slack/main","platform":"slack","name":"main","mode":"webhook",)"
                        R"("webhookPath":"/webhooks/slack/main","canSend":false,"apiBaseUrl":"https://slack.com",)"
                        R"("received":1,"rejected":1,"connection":null}]})");
  auto unauth = http::request("GET", admin + "/api/v1/container/channels", {}, "", 10s);
  ASSERT_TRUE(unauth.ok());
  EXPECT_EQ(unauth->status, 401);

  // The router got it (no namespace is mapped and the default policy ignores: dropped);
  // the audit log has the reject.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto err = serve.stderr_text();
        return err.find("router.dropped") != std::string::npos &&
               err.find("reason=unmapped_ignored") != std::string::npos;
      },
      10s));
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(20s), 0);
  EXPECT_FALSE(std::filesystem::exists(data + "/webhooks.url"));
  const std::string log = serve.stderr_text();
  EXPECT_EQ(log.find("hello squad"), std::string::npos) << "message text in the log";
  EXPECT_EQ(log.find(kSlackSecret), std::string::npos) << "secret in the log";
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(data + "/squadbox.db", o);
  ASSERT_TRUE(db.ok());
  auto stmt = db->prepare("SELECT count(*) FROM audit_log WHERE event = 'channel.webhook_rejected'");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(*stmt->step());
  EXPECT_EQ(stmt->column_int64(0), 1);
}

}  // namespace
}  // namespace sb::test::ingress
