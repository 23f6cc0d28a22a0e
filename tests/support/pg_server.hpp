#pragma once
// A real PostgreSQL 15 server for a test binary: a gtest Environment that starts a
// throwaway server through deploy/postgres.sh (initdb in a temp dir, free loopback port,
// trust authentication except for members of `password_login`) before the first test and
// removes it after the last. One server per test binary, however many files ask for it;
// each suite isolates itself with a schema or a database of its own (unique_name()).
//
//   sb::test::PgServer* g_pg = sb::test::shared_pg_server();   // namespace scope
//   void SetUp() override { SB_REQUIRE_PG(g_pg); ... }
//
// The tests are skipped, saying why, only when the server binaries are not installed
// (/usr/lib/postgresql/15/bin; `deploy/install-deps.sh --tests` installs them, so CI never
// skips). Any other failure to start is a test FAILURE with the script's output.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "storage/postgres/pg_connection.hpp"
#include "tests/support/temp_dir.hpp"

#ifndef SQUADBOX_SOURCE_DIR
#error "SQUADBOX_SOURCE_DIR must point at the source tree (deploy/postgres.sh)"
#endif

namespace sb::test {

inline constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

class PgServer : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!std::filesystem::exists(std::string(kPgBinDir) + "/postgres")) {
      skip_reason_ = std::string("PostgreSQL 15 is not installed (") + kPgBinDir +
                     "/postgres missing): deploy/install-deps.sh --tests installs it";
      return;
    }
    dir_ = std::make_unique<TempDir>("sbpg");
    if (int rc = script("start"); rc != 0) {
      error_ = "deploy/postgres.sh start failed (exit " + std::to_string(rc) + "): " + slurp(dir_->file("script.err"));
      return;
    }
    started_ = true;
    conninfo_ = slurp(dir_->file("conninfo"));
    while (!conninfo_.empty() && conninfo_.back() == '\n') conninfo_.pop_back();
    if (conninfo_.empty()) {
      error_ = "deploy/postgres.sh wrote no conninfo";
      return;
    }
    ready_ = true;
  }

  void TearDown() override {
    if (started_) script("remove");
    started_ = false;
    // remove deleted the folder already; TempDir's own removal is then a no-op.
    dir_.reset();
  }

  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  const std::string& skip_reason() const { return skip_reason_; }
  // "host=127.0.0.1 port=N user=postgres dbname=postgres"
  const std::string& conninfo() const { return conninfo_; }
  std::string conninfo_for(const std::string& dbname) const { return conninfo_ + " dbname=" + dbname; }
  std::string dir() const { return dir_->path(); }

  // Stops the server (-m fast, or -m immediate: a crash) and starts it again on the same
  // port, for tests of a lost database. Returns the script's exit code.
  int stop(bool crash) { return script("stop", crash ? " --crash" : ""); }
  int start() { return script("start"); }

  // Options for a connection into a schema of its own (created on first connect).
  storage::pg::PgOptions options(const std::string& schema = {}) const {
    storage::pg::PgOptions o;
    o.conninfo = conninfo_;
    o.schema = schema;
    o.connect_timeout = std::chrono::seconds(10);
    return o;
  }

  // A superuser connection to the `postgres` database for test set-up (roles, databases).
  Result<storage::pg::PgDatabase> admin() const { return storage::pg::PgDatabase::open(options()); }

 private:
  int script(const std::string& cmd, const std::string& extra = {}) {
    const std::string line = std::string(SQUADBOX_SOURCE_DIR) + "/deploy/postgres.sh " + cmd + " " + dir_->path() +
                             extra + " >" + dir_->file("script.out") + " 2>" + dir_->file("script.err");
    // The output lands in the server's folder (root may write there although the folder
    // belongs to the server's user); `remove` deletes it with the cluster.
    const int rc = std::system(line.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::unique_ptr<TempDir> dir_;
  std::string conninfo_, error_, skip_reason_;
  bool started_ = false, ready_ = false;
};

// The binary's one server, registered as a gtest Environment on first use (call it from
// a namespace-scope initializer so that it is registered before RUN_ALL_TESTS).
inline PgServer* shared_pg_server() {
  static PgServer* server = static_cast<PgServer*>(::testing::AddGlobalTestEnvironment(new PgServer()));
  return server;
}

// A lower-case name unique in this run, for schemas, databases and roles: PREFIX_<hex>.
inline std::string unique_name(const std::string& prefix) {
  std::random_device rd;
  std::ostringstream os;
  os << prefix << '_' << std::hex << rd() << rd();
  return os.str();
}

}  // namespace sb::test

// Skips the test if the server binaries are missing, fails it if the server did not start.
#define SB_REQUIRE_PG(server)                                                      \
  do {                                                                             \
    if (!(server)->skip_reason().empty()) GTEST_SKIP() << (server)->skip_reason(); \
    ASSERT_TRUE((server)->ready()) << (server)->error();                           \
  } while (0)
