// End-to-end tests of the real `squadbox` binary: a process with its own data dir,
// a real SQLite file and a real HTTP listener on loopback.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/http/client.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::ChildProcess;
using sb::test::TempDir;

std::string serve_squadbox() {
  return sb::test::bin_dir() + "/squadbox";
}

// A running `squadbox serve` on an ephemeral admin port.
class Node {
 public:
  explicit Node(TempDir& dir, std::map<std::string, std::string> env = {})
      : dir_(dir),
        process_(serve_squadbox(), {"serve", "--data-dir", dir.path()}, with_defaults(std::move(env)), dir.file("serve")) {}

  static std::map<std::string, std::string> with_defaults(std::map<std::string, std::string> env) {
    env.emplace("SQUADBOX_ADMIN_PORT", "0");
    env.emplace("SQUADBOX_LOG_LEVEL", "debug");
    return env;
  }

  // Waits for the admin URL file and for /readyz to answer 200.
  bool wait_ready() {
    if (!sb::test::wait_until([&] { return std::filesystem::exists(dir_.file("admin.url")); }, 15s)) return false;
    std::ifstream(dir_.file("admin.url")) >> url_;
    port_ = static_cast<uint16_t>(std::stoi(url_.substr(url_.rfind(':') + 1)));
    return sb::test::wait_until(
        [&] {
          auto r = get("/readyz");
          return r.ok() && r->status == 200;
        },
        15s);
  }

  sb::Result<sb::http::Response> get(const std::string& path, sb::http::Headers headers = {}) {
    return sb::http::request("GET", url_ + path, std::move(headers), "", 5s);
  }
  std::string token() const {
    std::string t;
    std::ifstream(dir_.file("admin.token")) >> t;
    return t;
  }

  ChildProcess& process() { return process_; }
  uint16_t port() const { return port_; }
  const std::string& url() const { return url_; }

 private:
  TempDir& dir_;
  ChildProcess process_;
  std::string url_;
  uint16_t port_ = 0;
};

TEST(Serve, AnswersHealthReadinessAndMetrics) {
  TempDir dir;
  Node node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();

  auto health = node.get("/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"ok"})");

  auto ready = node.get("/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  for (const char* name : {"storage", "audit", "router", "namespaces", "scheduler", "channels"})
    EXPECT_NE(ready->body.find(std::string("\"name\":\"") + name + "\",\"state\":\"running\""), std::string::npos)
        << name << " in " << ready->body;

  auto metrics = node.get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->content_type.find("text/plain"), std::string::npos);
  for (const char* family :
       {"process_resident_memory_bytes", "process_cpu_seconds_total", "squadbox_actor_restarts_total",
        "squadbox_storage_commits_total", "squadbox_storage_batch_size_bucket", "squadbox_http_requests_total{"})
    EXPECT_NE(metrics->body.find(family), std::string::npos) << family;
  EXPECT_NE(metrics->body.find("status=\"200\""), std::string::npos);

  EXPECT_TRUE(std::filesystem::exists(dir.file("squadbox.db")));
  node.process().signal(SIGTERM);
  EXPECT_EQ(node.process().wait(10s), 0);
}

TEST(Serve, ApiNeedsTheBearerTokenCreatedAtFirstStart) {
  TempDir dir;
  Node node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();

  struct stat st {};
  ASSERT_EQ(::stat(dir.file("admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string token = node.token();
  EXPECT_EQ(token.size(), 64u);

  auto none = node.get("/api/v1/node");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->body, R"({"error":{"code":"unauthorized","message":"missing or invalid bearer token"}})");
  auto wrong = node.get("/api/v1/node", {{"Authorization", "Bearer " + std::string(64, 'a')}});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 401);
  auto unknown_unauth = node.get("/api/v1/nothing-here");
  ASSERT_TRUE(unknown_unauth.ok());
  EXPECT_EQ(unknown_unauth->status, 401) << "paths must not be probed without a token";

  auto ok = node.get("/api/v1/node", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("\"version\":"), std::string::npos);
  EXPECT_NE(ok->body.find("\"ready\":true"), std::string::npos) << ok->body;
  auto missing = node.get("/api/v1/nothing-here", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);

  // The status subcommand finds the node through the data dir alone.
  ChildProcess status(serve_squadbox(), {"status", "--data-dir", dir.path()}, {}, dir.file("status"));
  EXPECT_EQ(status.wait(15s), 0) << status.stderr_text();
  EXPECT_NE(status.stdout_text().find("\"actors\":"), std::string::npos);

  node.process().signal(SIGINT);
  ASSERT_EQ(node.process().wait(10s), 0);

  // The secret never reaches the log, even at debug level; its path does, once.
  const std::string log = node.process().stderr_text();
  EXPECT_EQ(log.find(token), std::string::npos) << "admin token leaked into the log";
  size_t first = log.find("admin.token_created");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("admin.token_created", first + 1), std::string::npos);
  EXPECT_NE(log.find(dir.file("admin.token")), std::string::npos);

  // A second start reuses the token and does not announce it again.
  Node again(dir);
  ASSERT_TRUE(again.wait_ready());
  EXPECT_EQ(again.token(), token);
  again.process().signal(SIGTERM);
  ASSERT_EQ(again.process().wait(10s), 0);
  EXPECT_EQ(again.process().stderr_text().find("admin.token_created"), std::string::npos);
}

TEST(Serve, AnswersEveryErrorStatusAsJson) {
  TempDir dir;
  Node node(dir, {{"SQUADBOX_ADMIN_REQUEST_TIMEOUT_MS", "300"}, {"SQUADBOX_ADMIN_BODY_LIMIT_BYTES", "2048"}});
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();

  auto not_found = node.get("/nope");
  ASSERT_TRUE(not_found.ok());
  EXPECT_EQ(not_found->status, 404);
  EXPECT_NE(not_found->body.find("\"code\":\"not_found\""), std::string::npos);

  auto wrong_method = sb::http::request("POST", node.url() + "/healthz", {}, "", 5s);
  ASSERT_TRUE(wrong_method.ok());
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->header("Allow").value_or(""), "GET, HEAD");

  {
    sb::test::RawSocket s(node.port());
    s.send("THIS IS NOT HTTP\r\n\r\n");
    bool closed = false;
    auto reply = s.read_all(5s, &closed);
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    EXPECT_NE(reply.find("\"code\":\"bad_request\""), std::string::npos);
    EXPECT_TRUE(closed);
  }
  {
    sb::test::RawSocket s(node.port());
    s.send("POST /api/v1/node HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    auto reply = s.read_all(5s);
    EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
    EXPECT_NE(reply.find("\"code\":\"payload_too_large\""), std::string::npos);
  }
  {
    sb::test::RawSocket s(node.port());
    s.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // ...and the rest never comes
    bool closed = false;
    auto started = std::chrono::steady_clock::now();
    auto reply = s.read_all(5s, &closed);
    EXPECT_EQ(reply.rfind("HTTP/1.1 408", 0), 0u) << reply;
    EXPECT_NE(reply.find("\"code\":\"request_timeout\""), std::string::npos);
    EXPECT_TRUE(closed);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  }
  auto metrics = node.get("/metrics");
  ASSERT_TRUE(metrics.ok());
  for (const char* status : {"400", "404", "405", "408", "413"})
    EXPECT_NE(metrics->body.find(std::string("status=\"") + status + "\""), std::string::npos) << status;

  // The node is still healthy after all of that.
  auto health = node.get("/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  node.process().signal(SIGTERM);
  EXPECT_EQ(node.process().wait(10s), 0);
}

TEST(Serve, SigtermStopsCleanlyWithinTenSeconds) {
  TempDir dir;
  Node node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  auto started = std::chrono::steady_clock::now();
  node.process().signal(SIGTERM);
  auto code = node.process().wait(10s);
  ASSERT_TRUE(code.has_value()) << "did not exit within 10 s";
  EXPECT_EQ(*code, 0) << node.process().stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  auto log = node.process().stderr_text();
  EXPECT_NE(log.find("event=node.stopping signal=SIGTERM"), std::string::npos) << log;
  EXPECT_NE(log.find("event=storage.writer_stopped"), std::string::npos) << log;
  EXPECT_NE(log.find("event=node.stopped exit_code=0"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(dir.file("admin.url")));

  // The database is intact and migrated.
  sb::storage::OpenOptions o;
  o.read_only = true;
  auto db = sb::storage::Database::open(dir.file("squadbox.db"), o);
  ASSERT_TRUE(db.ok());
  auto check = db->prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok());
  ASSERT_TRUE(check->step().ok());
  EXPECT_EQ(check->column_text(0), "ok");
}

TEST(Serve, LogsOneJsonObjectPerLineWhenAsked) {
  TempDir dir;
  Node node(dir, {{"SQUADBOX_LOG_FORMAT", "json"}});
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  node.process().signal(SIGTERM);
  ASSERT_EQ(node.process().wait(10s), 0);
  std::istringstream lines(node.process().stderr_text());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    EXPECT_EQ(line.front(), '{') << line;
    EXPECT_EQ(line.back(), '}') << line;
    EXPECT_NE(line.find("\"event\":"), std::string::npos) << line;
  }
  EXPECT_GT(count, 3);
}

TEST(Serve, RefusesADatabaseFromANewerVersion) {
  TempDir dir;
  {
    auto db = sb::storage::Database::open(dir.file("squadbox.db"), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("PRAGMA user_version = 999").ok());
  }
  ChildProcess p(serve_squadbox(), {"serve", "--data-dir", dir.path()}, {{"SQUADBOX_ADMIN_PORT", "0"}}, dir.file("serve"));
  EXPECT_EQ(p.wait(15s), 1);
  EXPECT_NE(p.stderr_text().find("999"), std::string::npos) << p.stderr_text();
}

TEST(Serve, PortInUseIsAClearErrorNotACrash) {
  TempDir dir_a, dir_b;
  Node a(dir_a);
  ASSERT_TRUE(a.wait_ready());
  ChildProcess b(serve_squadbox(), {"serve", "--data-dir", dir_b.path()}, {{"SQUADBOX_ADMIN_PORT", std::to_string(a.port())}},
                 dir_b.file("serve"));
  EXPECT_EQ(b.wait(15s), 1);
  EXPECT_NE(b.stderr_text().find("node.start_failed"), std::string::npos) << b.stderr_text();
  a.process().signal(SIGTERM);
  EXPECT_EQ(a.process().wait(10s), 0);
}

TEST(Cli, ConfigCheckAcceptsGoodAndNamesTheBadKeyWithExitTwo) {
  TempDir dir;
  std::ofstream(dir.file("good.toml")) << "[admin]\nport = 8080\n";
  std::ofstream(dir.file("bad.toml")) << "[admin]\nport = 8080\nbind = \"0.0.0.0\"\n";
  ChildProcess good(serve_squadbox(), {"config", "check", dir.file("good.toml")}, {}, dir.file("good"));
  EXPECT_EQ(good.wait(10s), 0) << good.stderr_text();
  ChildProcess bad(serve_squadbox(), {"config", "check", dir.file("bad.toml")}, {}, dir.file("bad"));
  EXPECT_EQ(bad.wait(10s), 2);
  EXPECT_NE(bad.stderr_text().find("admin.bind: unknown key"), std::string::npos) << bad.stderr_text();
  EXPECT_NE(bad.stderr_text().find("bad.toml:3"), std::string::npos) << bad.stderr_text();
}

TEST(Cli, ServeWithInvalidConfigurationExitsTwo) {
  TempDir dir;
  std::ofstream(dir.file("bad.toml")) << "[log]\nlevel = 3\n";
  ChildProcess from_file(serve_squadbox(), {"serve", "--config", dir.file("bad.toml"), "--data-dir", dir.path()}, {},
                         dir.file("a"));
  EXPECT_EQ(from_file.wait(10s), 2);
  EXPECT_NE(from_file.stderr_text().find("log.level: expected string, got integer"), std::string::npos)
      << from_file.stderr_text();
  ChildProcess from_env(serve_squadbox(), {"serve", "--data-dir", dir.path()}, {{"SQUADBOX_ADMIN_PORT", "-5"}},
                        dir.file("b"));
  EXPECT_EQ(from_env.wait(10s), 2);
  EXPECT_NE(from_env.stderr_text().find("SQUADBOX_ADMIN_PORT"), std::string::npos);
}

TEST(Cli, VersionHelpAndUsageErrors) {
  TempDir dir;
  ChildProcess version(serve_squadbox(), {"version"}, {}, dir.file("v"));
  EXPECT_EQ(version.wait(10s), 0);
  EXPECT_EQ(version.stdout_text().rfind("squadbox ", 0), 0u);
  EXPECT_NE(version.stdout_text().find("CAF 0.17"), std::string::npos);

  ChildProcess help(serve_squadbox(), {"--help"}, {}, dir.file("h"));
  EXPECT_EQ(help.wait(10s), 0);
  for (const char* sub : {"serve", "version", "config", "status"})
    EXPECT_NE(help.stdout_text().find(sub), std::string::npos) << sub;

  ChildProcess unknown(serve_squadbox(), {"frobnicate"}, {}, dir.file("u"));
  EXPECT_EQ(unknown.wait(10s), 2);
}

TEST(Cli, StatusWithoutARunningNodeFailsClearly) {
  TempDir dir;
  std::ofstream(dir.file("admin.token")) << "abc\n";
  ChildProcess status(serve_squadbox(), {"status", "--data-dir", dir.path(), "--url", "http://127.0.0.1:1"}, {},
                      dir.file("s"));
  EXPECT_EQ(status.wait(15s), 1);
  EXPECT_NE(status.stderr_text().find("cannot reach the node"), std::string::npos) << status.stderr_text();
}

}  // namespace
