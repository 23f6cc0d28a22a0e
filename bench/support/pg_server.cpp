#include "bench/support/pg_server.hpp"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef SB_SOURCE_DIR
#error "SB_SOURCE_DIR must point at the source tree (deploy/postgres.sh)"
#endif

namespace sb::bench {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string script() {
  return std::string(SB_SOURCE_DIR) + "/deploy/postgres.sh";
}

}  // namespace

std::string bench_base_dir() {
  for (const char* var : {"SQUADBOX_BENCH_DIR", "TMPDIR"}) {
    if (const char* v = std::getenv(var); v && *v) return v;
  }
  return "/tmp";
}

PgServer::PgServer() {
  if (const char* c = std::getenv("SQUADBOX_PG_CONNINFO"); c && *c) {
    conninfo_ = c;
    return;
  }
  if (!std::filesystem::exists(std::string(kPgBinDir) + "/postgres")) {
    skip_reason_ = std::string("PostgreSQL 15 is not installed (") + kPgBinDir +
                   "/postgres missing; deploy/install-deps.sh --tests installs it)";
    return;
  }
  std::string tmpl = bench_base_dir() + "/sb_pg_bench.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    error_ = "mkdtemp failed in " + bench_base_dir();
    return;
  }
  dir_ = tmpl;
  // The script's stderr goes beside the folder: as root the folder is handed to the
  // server's user.
  const int rc = std::system((script() + " start " + dir_ + " >/dev/null 2>" + dir_ + ".err").c_str());
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    error_ = "deploy/postgres.sh start failed: " + slurp(dir_ + ".err");
    return;
  }
  conninfo_ = slurp(dir_ + "/conninfo");
  while (!conninfo_.empty() && (conninfo_.back() == '\n' || conninfo_.back() == '\r')) conninfo_.pop_back();
  if (conninfo_.empty()) error_ = "deploy/postgres.sh wrote no " + dir_ + "/conninfo";
}

PgServer::~PgServer() {
  if (dir_.empty()) return;
  (void)std::system((script() + " remove " + dir_ + " >/dev/null 2>&1").c_str());
  std::error_code ec;
  std::filesystem::remove(dir_ + ".err", ec);
}

}  // namespace sb::bench
