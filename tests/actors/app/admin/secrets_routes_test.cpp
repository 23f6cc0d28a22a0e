// The secrets routes through the real admin API (bearer check included) and a real
// http::Server on loopback.
#include "actors/app/admin/secrets_routes.hpp"

#include <mutex>

#include <gtest/gtest.h>

#include "actors/app/admin/admin_routes.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "runtime/security/vault/secure_key.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/vault_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using sb::Secret;

const std::string kSecretsRoutesToken(64, 'c');

class SecretsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    vault_ = dir_.open();
    ASSERT_TRUE(vault_);
    sb::app::admin::AdminApiOptions o;
    o.version = "test";
    o.token = Secret(kSecretsRoutesToken);
    o.extensions.push_back([this](sb::http::Router& api) {
      sb::app::admin::add_secrets_routes(api, vault_, [this](sb::AuditRecord r) {
        std::lock_guard lock(mutex_);
        audit_.push_back(std::move(r));
      });
    });
    api_ = std::make_unique<sb::app::admin::AdminApi>(fx_.system, caf::actor{}, metrics_, std::move(o));
    server_ = std::make_unique<sb::http::Server>(sb::http::ServerOptions{}, api_->handler(), nullptr);
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    base_ = "http://127.0.0.1:" + std::to_string(*port);
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  sb::http::Response call(const std::string& method, const std::string& path, const std::string& body = "",
                          const std::string& token = kSecretsRoutesToken) {
    sb::http::Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    auto r = sb::http::request(method, base_ + path, h, body, 10s);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : sb::http::Response{};
  }
  std::vector<sb::AuditRecord> audit() {
    std::lock_guard lock(mutex_);
    return audit_;
  }

  sb::storage::test::VaultDir dir_;
  std::shared_ptr<sb::storage::Vault> vault_;
  sb::test::ActorSystemFixture fx_;
  sb::metrics::Registry metrics_;
  std::unique_ptr<sb::app::admin::AdminApi> api_;
  std::unique_ptr<sb::http::Server> server_;
  std::string base_;
  std::mutex mutex_;
  std::vector<sb::AuditRecord> audit_;
};

TEST_F(SecretsApi, SetListDeleteAndRotateWithEveryChangeAudited) {
  auto created = call("PUT", "/api/v1/container/secrets/anthropic", R"({"value":"sk-ant-VALUE-1"})");
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find(R"("name":"anthropic")"), std::string::npos) << created.body;
  EXPECT_NE(created.body.find(R"("createdAt":")"), std::string::npos);
  EXPECT_NE(created.body.find(R"(Z","updatedAt":")"), std::string::npos) << created.body;
  auto replaced = call("PUT", "/api/v1/container/secrets/anthropic", R"({"value":"sk-ant-VALUE-2"})");
  EXPECT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(vault_->get("anthropic")->reveal(), "sk-ant-VALUE-2");
  EXPECT_EQ(call("PUT", "/api/v1/container/secrets/slack.bot", R"({"value":"xoxb-VALUE"})").status, 201);

  auto list = call("GET", "/api/v1/container/secrets");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body.rfind(R"([{"name":"anthropic","createdAt":")", 0), 0u) << list.body;
  EXPECT_NE(list.body.find(R"({"name":"slack.bot",)"), std::string::npos) << list.body;
  EXPECT_EQ(list.body.find("VALUE"), std::string::npos) << "a value leaked into the list";

  auto rotated = call("POST", "/api/v1/container/secrets:rotate-key");
  EXPECT_EQ(rotated.status, 200);
  EXPECT_EQ(rotated.body, R"({"rotated":2})");
  EXPECT_EQ(vault_->get("slack.bot")->reveal(), "xoxb-VALUE");

  auto removed = call("DELETE", "/api/v1/container/secrets/slack.bot");
  EXPECT_EQ(removed.status, 204);
  EXPECT_TRUE(removed.body.empty());
  auto missing = call("DELETE", "/api/v1/container/secrets/slack.bot");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("not_found"), std::string::npos);

  auto records = audit();
  std::vector<std::string> events;
  for (const auto& r : records) {
    events.push_back(r.event + ":" + r.subject);
    EXPECT_EQ(r.actor, "admin-api");
    EXPECT_EQ(r.detail.find("VALUE"), std::string::npos) << "a value leaked into the audit log";
    EXPECT_EQ(r.subject.find("VALUE"), std::string::npos);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"secret.set:anthropic", "secret.set:anthropic", "secret.set:slack.bot",
                                              "secret.key_rotated:vault", "secret.removed:slack.bot"}));
  ASSERT_GE(records.size(), 4u);
  EXPECT_EQ(records[0].detail, R"({"created":true})");
  EXPECT_EQ(records[1].detail, R"({"created":false})");
  EXPECT_EQ(records[3].detail, R"({"rotated":2})");
}

TEST_F(SecretsApi, BadInputGets400NamingTheField) {
  struct Case {
    std::string path, body, code, message_start;
  };
  const std::vector<Case> cases = {
      {"/api/v1/container/secrets/-dash", R"({"value":"v"})", "invalid_field", "name:"},
      {"/api/v1/container/secrets/has%20space", R"({"value":"v"})", "invalid_field", "name:"},
      {"/api/v1/container/secrets/a%2Fb", R"({"value":"v"})", "invalid_field", "name:"},
      {"/api/v1/container/secrets/" + std::string(129, 'n'), R"({"value":"v"})", "invalid_field", "name:"},
      {"/api/v1/container/secrets/ok", R"({"other":"v"})", "invalid_field", "value: required"},
      {"/api/v1/container/secrets/ok", R"({"value":42})", "invalid_field", "value: must be a string"},
      {"/api/v1/container/secrets/ok", R"({"value":""})", "invalid_field", "value: must not be empty"},
      {"/api/v1/container/secrets/ok", R"({"value":"v")", "invalid_json", "body: malformed JSON"},
      {"/api/v1/container/secrets/ok", R"(["value"])", "invalid_json", "body:"},
      {"/api/v1/container/secrets/ok", "", "invalid_json", "body: malformed JSON"},
  };
  for (const auto& c : cases) {
    auto r = call("PUT", c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.path << " " << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("code":")" + c.code + "\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("message":")" + c.message_start), std::string::npos) << r.body;
  }
  EXPECT_EQ(call("DELETE", "/api/v1/container/secrets/-dash").status, 400);
  EXPECT_TRUE(vault_->list()->empty());
  EXPECT_TRUE(audit().empty());
  // The values are write-only: there is no GET of one secret.
  ASSERT_EQ(call("PUT", "/api/v1/container/secrets/ok", R"({"value":"v"})").status, 201);
  EXPECT_EQ(call("GET", "/api/v1/container/secrets/ok").status, 405);
}

TEST_F(SecretsApi, EveryRouteNeedsTheBearerToken) {
  ASSERT_TRUE(vault_->set("kept", Secret("v")).ok());
  for (const std::string& token : {std::string(), std::string(64, 'x')}) {
    EXPECT_EQ(call("PUT", "/api/v1/container/secrets/x", R"({"value":"v"})", token).status, 401);
    EXPECT_EQ(call("GET", "/api/v1/container/secrets", "", token).status, 401);
    EXPECT_EQ(call("DELETE", "/api/v1/container/secrets/kept", "", token).status, 401);
    EXPECT_EQ(call("POST", "/api/v1/container/secrets:rotate-key", "", token).status, 401);
  }
  EXPECT_EQ(vault_->list()->size(), 1u);
  EXPECT_TRUE(audit().empty());
}

TEST_F(SecretsApi, RotationWithAnEnvironmentKeyIsAConflict) {
  server_->stop();
  server_.reset();
  api_.reset();
  sb::storage::test::VaultDir env_dir;
  auto key = sb::security::vault::SecureKey::generate();
  ASSERT_TRUE(key.ok());
  char hex[65];
  key->write_hex(hex);
  auto env_vault = env_dir.open(std::string(hex));
  ASSERT_TRUE(env_vault);
  sb::http::Router router;
  sb::app::admin::add_secrets_routes(router, env_vault, nullptr);  // a null sink is allowed
  sb::http::Server server({}, router.handler(), nullptr);
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  auto r = sb::http::request(
      "POST", "http://127.0.0.1:" + std::to_string(*port) + "/api/v1/container/secrets:rotate-key", {}, "", 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 409);
  EXPECT_NE(r->body.find("SQUADBOX_VAULT_KEY"), std::string::npos) << r->body;
  server.stop();
}

TEST(SecretBody, ParsesOnlyAStringValue) {
  EXPECT_EQ(sb::app::admin::parse_secret_body(R"({"value":"a\"b\u00e9"})")->reveal(), "a\"b\xc3\xa9");
  EXPECT_EQ(sb::app::admin::parse_secret_body(R"({"value":"x","extra":1})")->reveal(), "x");
  EXPECT_EQ(sb::app::admin::parse_secret_body(R"({"value":null})").error().message, "value: must be a string");
  EXPECT_EQ(sb::app::admin::parse_secret_body("{").error().code, "invalid_json");
  EXPECT_EQ(sb::app::admin::parse_secret_body("{\"value\":\"" + std::string(64 * 1024 + 1, 'x') + "\"}").error().code,
            "invalid_field");
}

}  // namespace
