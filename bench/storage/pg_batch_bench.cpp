// Durable inserts/s into PostgreSQL 15 on loopback (synchronous_commit = on, fsync = on):
//   pipelined batch   kBatch inserts per run_batch: one transaction, one round trip,
//                     one WAL flush (storage/postgres/pg_batch.hpp)
//   one at a time     one autocommit INSERT per call: a round trip and a WAL flush each
// and a summary line with the ratio. The row is the realistic hot write: one inbound
// message with its dedupe key.
//
//   bench_pg_batch [--smoke] [--benchmark_* flags]
// SQUADBOX_PG_CONNINFO names a server to use; otherwise a throwaway one is started with
// deploy/postgres.sh in SQUADBOX_BENCH_DIR (default $TMPDIR or /tmp; it must be a real disk,
// on tmpfs a WAL flush costs nothing) and removed at the end. Without the server binaries
// (deploy/install-deps.sh --tests) the cases are skipped with that reason.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "storage/postgres/pg_batch.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace {

using sb::storage::SqlParam;
using sb::storage::WriteOp;
using sb::storage::pg::PgDatabase;
using sb::storage::pg::PgOptions;

constexpr int64_t kBatch = 1000;
bool g_smoke = false;
bool g_min_time_given = false;

std::string base_dir() {
  for (const char* var : {"SQUADBOX_BENCH_DIR", "TMPDIR"}) {
    if (const char* v = std::getenv(var); v && *v) return v;
  }
  return "/tmp";
}

// The server for the whole run: the one named by SQUADBOX_PG_CONNINFO, or a throwaway one.
class Server {
 public:
  Server() {
    if (const char* c = std::getenv("SQUADBOX_PG_CONNINFO"); c && *c) {
      conninfo_ = c;
      return;
    }
    if (!std::filesystem::exists("/usr/lib/postgresql/15/bin/postgres")) {
      error_ = "PostgreSQL 15 is not installed (deploy/install-deps.sh --tests)";
      return;
    }
    std::string tmpl = base_dir() + "/sbpgbench-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      error_ = "mkdtemp failed in " + base_dir();
      return;
    }
    dir_ = tmpl;
    const std::string cmd =
        std::string(SB_SOURCE_DIR) + "/deploy/postgres.sh start " + dir_ + " >/dev/null 2>" + dir_ + ".err";
    const int rc = std::system(cmd.c_str());
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
      error_ = "deploy/postgres.sh start failed: " + slurp(dir_ + ".err");
      return;
    }
    conninfo_ = slurp(dir_ + "/conninfo");
    while (!conninfo_.empty() && conninfo_.back() == '\n') conninfo_.pop_back();
  }
  ~Server() {
    if (dir_.empty()) return;
    const std::string cmd = std::string(SB_SOURCE_DIR) + "/deploy/postgres.sh remove " + dir_ + " >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
    std::filesystem::remove(dir_ + ".err");
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const std::string& error() const { return error_; }
  const std::string& conninfo() const { return conninfo_; }

 private:
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_, conninfo_, error_;
};

Server& server() {
  static Server s;
  return s;
}

// A connection into a fresh schema with the inbound table, dropped afterwards.
class BenchSchema {
 public:
  BenchSchema() {
    if (!server().error().empty()) {
      error_ = server().error();
      return;
    }
    PgOptions o;
    o.conninfo = server().conninfo();
    o.schema = "bench_" + std::to_string(getpid()) + "_" + std::to_string(counter_++);
    auto db = PgDatabase::open(o);
    if (!db) {
      error_ = db.error().code + ": " + db.error().message;
      return;
    }
    db_ = std::make_unique<PgDatabase>(std::move(*db));
    auto st = db_->exec(
        "CREATE TABLE inbound_messages (id bigserial PRIMARY KEY, channel text NOT NULL, platform_message_id text "
        "NOT NULL, chat_jid text NOT NULL, sender text NOT NULL, text text NOT NULL, received_at bigint NOT NULL, "
        "UNIQUE (channel, platform_message_id))");
    if (!st) error_ = st.error().message;
  }
  ~BenchSchema() {
    if (db_ && db_->is_connected()) (void)db_->exec("DROP SCHEMA " + db_->schema() + " CASCADE");
  }
  BenchSchema(const BenchSchema&) = delete;
  BenchSchema& operator=(const BenchSchema&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  PgDatabase& db() { return *db_; }

 private:
  static inline int counter_ = 0;
  std::unique_ptr<PgDatabase> db_;
  std::string error_;
};

constexpr const char* kInsert =
    "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, sender, text, received_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

WriteOp inbound_insert(int64_t id) {
  return WriteOp{kInsert,
                 {SqlParam::of(std::string("telegram")), SqlParam::of(std::to_string(id)),
                  SqlParam::of(std::string("tg:123456789")), SqlParam::of(std::string("user:42")),
                  SqlParam::of(std::string("a typical chat message of some eighty bytes, give or take a few")),
                  SqlParam::of(int64_t{1700000000000} + id)}};
}

void BM_PipelinedBatch(benchmark::State& state) {
  BenchSchema env;
  if (!env.ok()) return state.SkipWithError(env.error().c_str());
  int64_t next_id = 0;
  std::vector<WriteOp> ops;
  ops.reserve(kBatch);
  for (auto _ : state) {
    ops.clear();
    for (int64_t k = 0; k < kBatch; ++k) ops.push_back(inbound_insert(next_id++));
    const auto out = sb::storage::pg::run_batch(env.db(), ops);
    for (const auto& o : out) {
      if (!o.ok) return state.SkipWithError(o.error_message.c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_OneAtATime(benchmark::State& state) {
  BenchSchema env;
  if (!env.ok()) return state.SkipWithError(env.error().c_str());
  auto stmt = env.db().prepare(kInsert);
  if (!stmt) return state.SkipWithError(stmt.error().message.c_str());
  int64_t next_id = 0;
  for (auto _ : state) {
    const WriteOp op = inbound_insert(next_id++);
    for (size_t i = 0; i < op.params.size(); ++i) (void)stmt->bind_param(static_cast<int>(i + 1), op.params[i]);
    auto r = stmt->step();
    if (!r) return state.SkipWithError(r.error().message.c_str());
    stmt->reset();
  }
  state.SetItemsProcessed(state.iterations());
}

// Console output as usual, plus items_per_second per case for the summary line.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rates_[r.run_name.function_name] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double rate(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, double> rates_;
};

void register_case(const char* name, void (*fn)(benchmark::State&), int64_t smoke_iterations) {
  auto* b = benchmark::RegisterBenchmark(name, fn);
  // A WAL flush is wall time; CPU time would flatter both cases enormously.
  b->UseRealTime()->Unit(benchmark::kMillisecond);
  if (g_smoke) {
    b->Iterations(smoke_iterations);
  } else if (!g_min_time_given) {
    b->MinTime(2.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::strcmp(argv[i], "--smoke") == 0) {
      g_smoke = true;
      continue;
    }
    if (std::strncmp(argv[i], "--benchmark_min_time", 20) == 0) g_min_time_given = true;
    args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  register_case("pipelined_batch", BM_PipelinedBatch, 5);  // 5 x 1000 inserts
  register_case("one_at_a_time", BM_OneAtATime, 200);      // 200 commits
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  CapturingReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                   : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  const double batch = reporter.rate("pipelined_batch"), single = reporter.rate("one_at_a_time");
  std::printf("postgres: pipelined batch of %lld: %.0f inserts/s, one at a time: %.0f inserts/s, ratio: %.1f x\n",
              static_cast<long long>(kBatch), batch, single, single > 0 ? batch / single : 0.0);
  return 0;
}
