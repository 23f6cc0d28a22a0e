// The schedule routes through the real admin API (bearer check included) on a real
// http::Server on loopback, over a TaskStore on a temp SQLite file.
#include "actors/app/admin/tasks_routes.hpp"

#include <mutex>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "actors/app/admin/admin_routes.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "storage/namespace_store.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

const std::string kTasksRoutesToken(64, 's');
const std::string kPath = "/api/v1/container/schedules";
const std::string kProductExample =
    R"({"name":"standup","group":"main","prompt":"Summarise yesterday","schedule":{"type":"cron",)"
    R"("value":"0 9 * * 1-5"},"containerConfig":{"timeoutSecs":600},"contextMode":"isolated","enabled":true})";

class TasksApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = sb::storage::NamespaceStore::open(dir_.file("squadbox.db"), dir_.path());
    ASSERT_TRUE(ns) << ns.error().message;
    sb::namespaces::NamespacePatch main;
    main.name = "main";
    ASSERT_TRUE((*ns)->create(main));
    sb::storage::TaskStoreOptions so;
    so.default_time_zone = "Europe/Berlin";
    auto store = sb::storage::TaskStore::open(dir_.file("squadbox.db"), so);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::shared_ptr<sb::storage::TaskStore>(std::move(*store));
    sb::app::admin::AdminApiOptions o;
    o.version = "test";
    o.token = sb::Secret(kTasksRoutesToken);
    o.extensions.push_back([this](sb::http::Router& api) {
      sb::app::admin::add_tasks_routes(api, store_, [this](sb::AuditRecord r) {
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
                          const std::string& token = kTasksRoutesToken) {
    sb::http::Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    auto r = sb::http::request(method, base_ + path, h, body, 10s);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : sb::http::Response{};
  }
  static rapidjson::Document json(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str());
    EXPECT_FALSE(d.HasParseError()) << body;
    return d;
  }
  std::string create(const std::string& body = kProductExample) {
    auto r = call("POST", kPath, body);
    EXPECT_EQ(r.status, 201) << r.body;
    auto d = json(r.body);
    return d.IsObject() && d.HasMember("id") ? d["id"].GetString() : "";
  }
  std::vector<std::pair<std::string, std::string>> audit() {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : audit_) out.emplace_back(r.event, r.subject);
    return out;
  }
  static std::string error_message(const sb::http::Response& r) {
    auto d = json(r.body);
    return d.IsObject() && d.HasMember("error") ? d["error"]["message"].GetString() : "";
  }

  sb::test::TempDir dir_;
  std::shared_ptr<sb::storage::TaskStore> store_;
  sb::test::ActorSystemFixture fx_;
  sb::metrics::Registry metrics_;
  std::unique_ptr<sb::app::admin::AdminApi> api_;
  std::unique_ptr<sb::http::Server> server_;
  std::string base_;
  std::mutex mutex_;
  std::vector<sb::AuditRecord> audit_;
};

TEST_F(TasksApi, CreateGetListInTheProductShape) {
  auto r = call("POST", kPath, kProductExample);
  ASSERT_EQ(r.status, 201) << r.body;
  auto t = json(r.body);
  const std::string id = t["id"].GetString();
  EXPECT_STREQ(t["name"].GetString(), "standup");
  EXPECT_STREQ(t["group"].GetString(), "main");
  EXPECT_STREQ(t["schedule"]["value"].GetString(), "0 9 * * 1-5");
  EXPECT_EQ(t["containerConfig"]["timeoutSecs"].GetInt64(), 600);
  EXPECT_STREQ(t["contextMode"].GetString(), "isolated");
  EXPECT_TRUE(t["enabled"].GetBool());
  EXPECT_STREQ(t["status"].GetString(), "active");
  EXPECT_STREQ(t["timeZone"].GetString(), "Europe/Berlin");  // the node's zone
  EXPECT_TRUE(t["nextRun"].IsString());

  auto got = call("GET", kPath + "/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_STREQ(json(got.body)["id"].GetString(), id.c_str());
  auto list = call("GET", kPath);
  ASSERT_EQ(list.status, 200);
  auto all = json(list.body);
  ASSERT_TRUE(all.IsArray());
  EXPECT_EQ(all.Size(), 1u);
  auto by_group = json(call("GET", kPath + "?group=main&status=active").body);
  EXPECT_EQ(by_group.Size(), 1u);
  auto paused = json(call("GET", kPath + "?status=paused").body);
  EXPECT_EQ(paused.Size(), 0u);
  EXPECT_EQ(audit(), (std::vector<std::pair<std::string, std::string>>{{"schedule.created", id}}));
}

TEST_F(TasksApi, BadInputIs400NamingTheField) {
  auto cron = call("POST", kPath,
                   R"({"name":"x","group":"main","prompt":"p","schedule":{"type":"cron","value":"0 9 * 13 *"}})");
  EXPECT_EQ(cron.status, 400);
  EXPECT_EQ(error_message(cron).rfind("schedule.value: cron: field 4 (month)", 0), 0u) << cron.body;

  auto group =
      call("POST", kPath, R"({"name":"x","group":"nope","prompt":"p","schedule":{"type":"interval","value":"1000"}})");
  EXPECT_EQ(group.status, 400);
  EXPECT_EQ(error_message(group), "group: no namespace nope");

  auto unknown = call("POST", kPath, R"({"name":"x","grup":"main"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(error_message(unknown), "grup: unknown field");

  auto missing = call("POST", kPath, R"({"name":"x","group":"main","prompt":"p"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(error_message(missing).rfind("schedule: required", 0), 0u);

  auto malformed = call("POST", kPath, "{");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_STREQ(json(malformed.body)["error"]["code"].GetString(), "invalid_json");

  auto past =
      call("POST", kPath,
           R"({"name":"x","group":"main","prompt":"p","schedule":{"type":"once","value":"2001-01-01T00:00:00Z"}})");
  EXPECT_EQ(past.status, 400);
  EXPECT_EQ(error_message(past), "schedule.value: has no fire time after now");

  auto status = call("GET", kPath + "?status=sleeping");
  EXPECT_EQ(status.status, 400);
  auto no_group = call("GET", kPath + "?group=nope");
  EXPECT_EQ(no_group.status, 400);
  const std::string id = create();
  auto limit = call("GET", kPath + "/" + id + "/runs?limit=0");
  EXPECT_EQ(limit.status, 400);
  EXPECT_EQ(error_message(limit), "limit: must be 1 to 1000");
  auto patch = call("PATCH", kPath + "/" + id, R"({"timeZone":"Atlantis/Capital"})");
  EXPECT_EQ(patch.status, 400);
  EXPECT_EQ(error_message(patch).rfind("timeZone: ", 0), 0u);
}

TEST_F(TasksApi, UnknownIdIs404AndWrongMethodIs405) {
  EXPECT_EQ(call("GET", kPath + "/nope").status, 404);
  EXPECT_EQ(call("PATCH", kPath + "/nope", R"({"name":"x"})").status, 404);
  EXPECT_EQ(call("DELETE", kPath + "/nope").status, 404);
  EXPECT_EQ(call("POST", kPath + "/nope/run").status, 404);
  EXPECT_EQ(call("GET", kPath + "/nope/runs").status, 404);
  const std::string id = create();
  EXPECT_EQ(call("GET", kPath + "/" + id + "/logs").status, 404);
  EXPECT_EQ(call("PUT", kPath).status, 405);
  EXPECT_EQ(call("DELETE", kPath).status, 405);
  auto post_item = call("POST", kPath + "/" + id);
  EXPECT_EQ(post_item.status, 405);
  EXPECT_EQ(post_item.header("Allow").value_or(""), "GET, PATCH, DELETE");
  EXPECT_EQ(call("GET", kPath + "/" + id + "/run").status, 405);
  EXPECT_EQ(call("DELETE", kPath + "/" + id + "/runs").status, 405);
  EXPECT_EQ(call("GET", kPath, "", "wrong-token").status, 401);
}

TEST_F(TasksApi, PauseResumeUpdateAndRemoveAreAudited) {
  const std::string id = create();
  auto paused = call("PATCH", kPath + "/" + id, R"({"enabled":false})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_STREQ(json(paused.body)["status"].GetString(), "paused");
  EXPECT_TRUE(json(paused.body)["nextRun"].IsNull());
  auto resumed = call("PATCH", kPath + "/" + id, R"({"status":"active"})");
  ASSERT_EQ(resumed.status, 200);
  EXPECT_TRUE(json(resumed.body)["nextRun"].IsString());
  auto updated =
      call("PATCH", kPath + "/" + id,
           R"({"schedule":{"type":"interval","value":"3600000"},"announce":"tg:42","retry":{"maxAttempts":2}})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  auto u = json(updated.body);
  EXPECT_STREQ(u["schedule"]["type"].GetString(), "interval");
  EXPECT_STREQ(u["announce"].GetString(), "tg:42");
  EXPECT_EQ(u["retry"]["maxAttempts"].GetInt64(), 2);
  auto removed = call("DELETE", kPath + "/" + id);
  EXPECT_EQ(removed.status, 204);
  EXPECT_EQ(call("GET", kPath + "/" + id).status, 404);
  std::vector<std::string> events;
  for (const auto& [event, subject] : audit()) {
    events.push_back(event);
    EXPECT_EQ(subject, id);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"schedule.created", "schedule.paused", "schedule.resumed",
                                              "schedule.updated", "schedule.removed"}));
}

TEST_F(TasksApi, RunNowIsQueuedAndRunsAreListed) {
  const std::string id = create();
  auto queued = call("POST", kPath + "/" + id + "/run");
  ASSERT_EQ(queued.status, 202) << queued.body;
  EXPECT_TRUE(json(queued.body)["queued"].GetBool());
  EXPECT_TRUE(json(call("GET", kPath + "/" + id).body)["runRequested"].GetBool());
  auto earliest = store_->earliest_next_run();
  ASSERT_TRUE(earliest && earliest->has_value());

  // What the scheduler will do with the request, through the store.
  auto run = store_->start_run(id, sb::schedule::RunTrigger::manual);
  ASSERT_TRUE(run) << run.error().message;
  ASSERT_TRUE(store_->finish_run(run->id, {sb::schedule::RunStatus::success, "done", "", std::nullopt}));
  auto runs = call("GET", kPath + "/" + id + "/runs?limit=5");
  ASSERT_EQ(runs.status, 200);
  auto r = json(runs.body);
  ASSERT_TRUE(r.IsArray());
  ASSERT_EQ(r.Size(), 1u);
  EXPECT_STREQ(r[0]["trigger"].GetString(), "manual");
  EXPECT_STREQ(r[0]["status"].GetString(), "success");
  EXPECT_STREQ(r[0]["result"].GetString(), "done");
  auto t = json(call("GET", kPath + "/" + id).body);
  EXPECT_FALSE(t["runRequested"].GetBool());
  EXPECT_STREQ(t["lastResult"].GetString(), "done");
  EXPECT_EQ(audit().back().first, "schedule.run_requested");
}

}  // namespace
