// GET /api/v1/container/audit through the real admin API and http::Server on loopback.
#include "actors/app/admin/audit_routes.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "actors/app/admin/admin_routes.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/audit_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

const std::string kToken(64, 'd');

class AuditApi : public ::testing::Test {
 protected:
  void SetUp() override {
    sb::security::audit::test::append_chain(db_path_, 40, [](int64_t seq) -> std::string {
      if (seq == 5) return "plain text";
      return seq % 2 ? R"({"namespace":"main","seq":)" + std::to_string(seq) + "}" : R"({"namespace":"ops"})";
    });
    sb::app::admin::AdminApiOptions o;
    o.token = sb::Secret(kToken);
    o.extensions.push_back([this](sb::http::Router& api) { sb::app::admin::add_audit_routes(api, db_path_); });
    api_ = std::make_unique<sb::app::admin::AdminApi>(fx_.system, caf::actor{}, metrics_, std::move(o));
    server_ = std::make_unique<sb::http::Server>(sb::http::ServerOptions{}, api_->handler(), nullptr);
    auto port = server_->start();
    ASSERT_TRUE(port.ok());
    base_ = "http://127.0.0.1:" + std::to_string(*port);
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  sb::http::Response get(const std::string& path, const std::string& token = kToken) {
    sb::http::Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    auto r = sb::http::request("GET", base_ + path, h, "", 10s);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : sb::http::Response{};
  }
  std::vector<int64_t> seqs(const std::string& query) {
    auto r = get("/api/v1/container/audit" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    std::vector<int64_t> out;
    EXPECT_TRUE(doc.IsArray()) << r.body;
    if (doc.IsArray())
      for (const auto& v : doc.GetArray()) out.push_back(v["seq"].GetInt64());
    return out;
  }

  sb::test::TempDir dir_;
  std::string db_path_ = dir_.file("squadbox.db");
  sb::test::ActorSystemFixture fx_;
  sb::metrics::Registry metrics_;
  std::unique_ptr<sb::app::admin::AdminApi> api_;
  std::unique_ptr<sb::http::Server> server_;
  std::string base_;
};

TEST_F(AuditApi, ReturnsRecordsWithIsoTimesDetailObjectsAndHexHashes) {
  auto r = get("/api/v1/container/audit?after=2&limit=3");
  ASSERT_EQ(r.status, 200);
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  ASSERT_TRUE(doc.IsArray()) << r.body;
  ASSERT_EQ(doc.Size(), 3u);
  const auto& first = doc[0];
  EXPECT_EQ(first["seq"].GetInt64(), 3);
  EXPECT_STREQ(first["at"].GetString(), "2023-11-14T22:13:23.000Z");  // 1700000000000 + 3 s
  EXPECT_STREQ(first["actor"].GetString(), "test");
  EXPECT_STREQ(first["event"].GetString(), "test.event");
  EXPECT_STREQ(first["subject"].GetString(), "subject-3");
  ASSERT_TRUE(first["detail"].IsObject());
  EXPECT_STREQ(first["detail"]["namespace"].GetString(), "main");
  EXPECT_EQ(std::string(first["hash"].GetString()).size(), 64u);
  // A non-object detail is still an object in the answer.
  ASSERT_TRUE(doc[2]["detail"].IsObject());
  EXPECT_STREQ(doc[2]["detail"]["raw"].GetString(), "plain text");
  // The hashes are the chain's.
  auto chain = sb::storage::verify_database(db_path_);
  ASSERT_TRUE(chain.ok());
  auto last = get("/api/v1/container/audit?limit=1");
  EXPECT_NE(last.body.find(sb::security::audit::to_hex(chain->head)), std::string::npos);
}

TEST_F(AuditApi, PagesAndFiltersByNamespace) {
  EXPECT_EQ(seqs(""), [] {
    std::vector<int64_t> all;
    for (int i = 1; i <= 40; ++i) all.push_back(i);
    return all;
  }());
  EXPECT_EQ(seqs("?limit=2"), (std::vector<int64_t>{39, 40}));
  EXPECT_EQ(seqs("?after=38"), (std::vector<int64_t>{39, 40}));
  EXPECT_EQ(seqs("?after=40").size(), 0u);
  EXPECT_EQ(seqs("?namespace=main&limit=3"), (std::vector<int64_t>{35, 37, 39}));
  EXPECT_EQ(seqs("?namespace=ops&after=34"), (std::vector<int64_t>{36, 38, 40}));
  EXPECT_EQ(seqs("?namespace=main&after=0&limit=3"), (std::vector<int64_t>{1, 3, 7}));  // 5 is not JSON
  EXPECT_TRUE(seqs("?namespace=nobody").empty());
}

TEST_F(AuditApi, BadParametersGet400NamingThem) {
  for (const std::string q :
       {"?after=-1", "?after=abc", "?after=", "?limit=0", "?limit=1001", "?limit=x", "?namespace="}) {
    auto r = get("/api/v1/container/audit" + q);
    EXPECT_EQ(r.status, 400) << q;
    const std::string field = q.substr(1, q.find('=') - 1);
    EXPECT_NE(r.body.find("\"message\":\"" + field + ":"), std::string::npos) << q << " -> " << r.body;
  }
}

TEST_F(AuditApi, NeedsTheBearerToken) {
  EXPECT_EQ(get("/api/v1/container/audit", "").status, 401);
  EXPECT_EQ(get("/api/v1/container/audit", std::string(64, 'e')).status, 401);
}

TEST(AuditApiNoDatabase, Answers503) {
  sb::test::TempDir dir;
  sb::http::Router router;
  sb::app::admin::add_audit_routes(router, dir.file("missing.db"));
  sb::http::Server server({}, router.handler(), nullptr);
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  auto r =
      sb::http::request("GET", "http://127.0.0.1:" + std::to_string(*port) + "/api/v1/container/audit", {}, "", 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  server.stop();
}

}  // namespace
