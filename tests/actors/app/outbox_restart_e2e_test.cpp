// The real `squadbox serve`: a message enqueued through the admin API while the fake
// Slack API answers 500 survives a SIGKILL of the broker and is delivered after the
// restart, once the API answers 200. Also the admin API's answers to bad input.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/http/client.hpp"
#include "storage/sqlite.hpp"
#include "storage/vault_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

std::string read_first_line(const std::string& path) {
  std::string s;
  std::ifstream(path) >> s;
  return s;
}

std::string row_state(const std::string& db_path, int64_t id) {
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(db_path, o);
  if (!db) return "";
  auto stmt = db->prepare("SELECT state FROM outbox WHERE id = ?");
  if (!stmt || !stmt->bind(1, id)) return "";
  auto row = stmt->step();
  return row && *row ? stmt->column_text(0) : "";
}

TEST(OutboxServe, ResumesAfterAKill) {
  std::atomic<int> status{500};
  FakeUpstream api;
  api.set_handler([&status](const RecordedRequest& r) {
    if (r.target != "/api/chat.postMessage" || r.header("Authorization") != "Bearer xoxb-serve-test")
      return UpstreamReply::json(400, R"({"ok":false,"error":"contract"})");
    if (status.load() == 500) return UpstreamReply::json(500, "down");
    return UpstreamReply::json(200, R"({"ok":true,"ts":"1.2"})");
  });

  TempDir dir;
  const std::string data = dir.file("data");
  const std::string config = dir.file("squadbox.toml");
  std::ofstream(config) << "[webhooks]\naddress = \"127.0.0.1\"\nport = 0\n"
                        << "[outbound]\nbackoff_base_ms = 50\nbackoff_max_ms = 200\nmax_attempts = 1000\n"
                        << "[channels.slack.main]\nsigning_secret = \"sl-sign\"\nbot_token = \"sl-token\"\n"
                        << "api_base_url = \"" << api.url() << "\"\n";
  const std::map<std::string, std::string> env = {{"SQUADBOX_ADMIN_PORT", "0"}, {"SQUADBOX_LOG_LEVEL", "info"}};
  const std::string exe = bin_dir() + "/squadbox";
  const std::vector<std::string> args = {"serve", "--config", config, "--data-dir", data};
  {
    // The first start makes the vault key and stops: the entries are missing.
    ChildProcess first(exe, args, env, dir.file("first"));
    ASSERT_TRUE(first.wait(30s).has_value());
    storage::VaultOptions vo;
    vo.db_path = data + "/squadbox.db";
    vo.key_file = data + "/vault.key";
    auto v = storage::Vault::open(vo);
    ASSERT_TRUE(v.ok()) << v.error().message;
    ASSERT_TRUE((*v)->set("sl-sign", Secret("signing")).ok());
    ASSERT_TRUE((*v)->set("sl-token", Secret("xoxb-serve-test")).ok());
  }

  int64_t id = 0;
  {
    std::filesystem::remove(data + "/admin.url");
    ChildProcess serve(exe, args, env, dir.file("second"));
    ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(data + "/admin.url"); }, 30s)) << serve.stderr_text();
    const std::string admin = read_first_line(data + "/admin.url");
    const http::Headers auth = {{"Authorization", "Bearer " + read_first_line(data + "/admin.token")}};

    // Bad input first: each gets its status and names the field.
    struct Bad {
      std::string body;
      int status;
      std::string names;
    };
    for (const Bad& b : {Bad{"{", 400, "body"}, Bad{R"({"bot":"slack/main","text":"x"})", 400, "chatJid"},
                         Bad{R"({"bot":"slack/nope","chatJid":"slack:C1","text":"x"})", 404, "bot"},
                         Bad{R"({"bot":"slack/main","chatJid":"tg:1","text":"x"})", 400, "chatJid"}}) {
      auto r = http::request("POST", admin + "/api/v1/container/outbox", auth, b.body, 10s);
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(r->status, b.status) << b.body << " -> " << r->body;
      EXPECT_NE(r->body.find("\"" + b.names + ":"), std::string::npos) << r->body;
    }
    auto unauth = http::request("POST", admin + "/api/v1/container/outbox", {},
                                R"({"bot":"slack/main","chatJid":"slack:C1","text":"x"})", 10s);
    ASSERT_TRUE(unauth.ok());
    EXPECT_EQ(unauth->status, 401);

    auto r = http::request("POST", admin + "/api/v1/container/outbox", auth,
                           R"({"bot":"slack/main","chatJid":"slack:C0KILL","text":"survive the kill"})", 10s);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->status, 202) << r->body;
    ASSERT_EQ(r->body.rfind("{\"ids\":[", 0), 0u) << r->body;
    id = std::stoll(r->body.substr(8));
    // The API is failing: the sender retries, the row stays pending.
    ASSERT_TRUE(api.wait_for_requests(2, 30s));
    EXPECT_EQ(row_state(data + "/squadbox.db", id), "pending");
    auto listed = http::request("GET", admin + "/api/v1/container/outbox?state=pending&bot=slack/main", auth, "", 10s);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->status, 200);
    EXPECT_NE(listed->body.find("survive the kill"), std::string::npos) << listed->body;
    auto bad_list = http::request("GET", admin + "/api/v1/container/outbox?state=done", auth, "", 10s);
    ASSERT_TRUE(bad_list.ok());
    EXPECT_EQ(bad_list->status, 400);
    serve.signal(SIGKILL);
    serve.wait(20s);
  }

  status = 200;
  api.clear();
  std::filesystem::remove(data + "/admin.url");
  std::filesystem::remove(data + "/webhooks.url");
  ChildProcess again(exe, args, env, dir.file("third"));
  ASSERT_TRUE(wait_until([&] { return row_state(data + "/squadbox.db", id) == "sent"; }, 60s)) << again.stderr_text();
  EXPECT_GE(api.request_count(), 1u);
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(30s), 0);
  EXPECT_EQ(again.stderr_text().find("survive the kill"), std::string::npos) << "message text in the log";
  EXPECT_EQ(again.stderr_text().find("xoxb-serve-test"), std::string::npos) << "token in the log";
}

}  // namespace
}  // namespace sb::test
