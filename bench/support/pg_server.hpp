#pragma once
// A PostgreSQL 15 server for a benchmark run, shared by bench_storage and bench_ingress:
// SQUADBOX_PG_CONNINFO's server if set, else a throwaway one that deploy/postgres.sh
// starts in a fresh folder under bench_base_dir() (initdb, a free loopback port,
// synchronous_commit = on, fsync = on) and removes when this object goes. Each bench
// isolates itself with a schema of its own.
//
//   sb::bench::PgServer pg;
//   if (!pg.skip_reason().empty()) ...  // the server binaries are not installed
//   else if (!pg.error().empty()) ...   // installed, but the server did not start
//   else use pg.conninfo()
#include <string>

namespace sb::bench {

inline constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

// Where benchmarks put their files: $SQUADBOX_BENCH_DIR, else $TMPDIR, else /tmp. It must
// be a real disk: on tmpfs fsync is free and durable figures mean nothing.
std::string bench_base_dir();

class PgServer {
 public:
  PgServer();
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  bool ready() const { return !conninfo_.empty(); }
  // Set when the server binaries are missing (deploy/install-deps.sh --tests installs them).
  const std::string& skip_reason() const { return skip_reason_; }
  // Set when the binaries are there but the server did not start (the script's stderr).
  const std::string& error() const { return error_; }
  // "host=127.0.0.1 port=N user=postgres dbname=postgres"
  const std::string& conninfo() const { return conninfo_; }
  // The throwaway server's folder (empty with SQUADBOX_PG_CONNINFO): its log is DIR/log.
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, conninfo_, skip_reason_, error_;
};

}  // namespace sb::bench
