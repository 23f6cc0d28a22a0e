// Durable inserts/s on a real file with synchronous=FULL (every commit fsync'ed):
//   group commit      batches of kBatch inserts through GroupCommitter::commit_batch
//   per-insert txn    one transaction per insert through commit_single (the baseline)
// and a summary line with the ratio. Target: group commit >= 50000/s and >= 10x.
// The same write on PostgreSQL 15 on loopback in the same run (synchronous_commit = on,
// fsync = on; docs/storage-postgres.md), with a summary line of its own:
//   postgres batch       kBatch inserts per pg::run_batch (pipeline mode: one transaction,
//                        one round trip, one WAL flush)
//   postgres per-insert  one autocommit INSERT per call (a round trip and a flush each)
// SQUADBOX_PG_CONNINFO names a server to use; otherwise deploy/postgres.sh starts a
// throwaway one in SQUADBOX_BENCH_DIR and removes it at the end (bench/support/pg_server.hpp). Without the server
// binaries (deploy/install-deps.sh --tests) the PostgreSQL cases are left out, saying so.
//
//   bench_storage [--smoke] [--benchmark_* flags]
// --smoke runs a few fixed iterations (seconds, for CI); figures are then rough.
// SQUADBOX_BENCH_DIR picks where the database goes (default $TMPDIR or /tmp); it
// must be a real disk: on tmpfs fsync is free and the comparison is meaningless.
#include <stdlib.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/support/pg_server.hpp"
#include "runtime/core/log.hpp"
#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres/pg_batch.hpp"
#include "storage/postgres/pg_connection.hpp"
#include "storage/sqlite.hpp"

namespace {

using sb::bench::bench_base_dir;
using sb::storage::Database;
using sb::storage::GroupCommitter;
using sb::storage::SqlParam;
using sb::storage::WriteOp;

constexpr int64_t kBatch = 1000;
constexpr long kTmpfsMagic = 0x01021994;  // TMPFS_MAGIC from <linux/magic.h>

bool g_smoke = false;
bool g_min_time_given = false;

// A fresh, migrated database in its own temp dir, removed afterwards. Each
// benchmark run gets a new one so runs do not see each other's rows.
class BenchDb {
 public:
  BenchDb() {
    std::string tmpl = bench_base_dir() + "/sb_storage_bench.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      error_ = "mkdtemp failed in " + bench_base_dir();
      return;
    }
    dir_ = tmpl;
    auto db = Database::open(dir_ + "/squadbox.db", sb::storage::OpenOptions{.synchronous = "FULL"});
    if (!db) {
      error_ = db.error().message;
      return;
    }
    db_.emplace(std::move(db).value());
    if (auto st = sb::storage::migrate(*db_); !st) error_ = st.error().message;
  }
  ~BenchDb() {
    db_.reset();  // close before deleting the files
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  BenchDb(const BenchDb&) = delete;
  BenchDb& operator=(const BenchDb&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  Database& db() { return *db_; }

 private:
  std::string dir_;
  std::optional<Database> db_;
  std::string error_;
};

// The realistic hot write: persisting one inbound message (with its dedupe key).
WriteOp inbound_insert(int64_t id) {
  return WriteOp{
      "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, sender, text,"
      " received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      {SqlParam::of(std::string("telegram")), SqlParam::of(std::to_string(id)),
       SqlParam::of(std::string("tg:123456789")), SqlParam::of(std::string("user:42")),
       SqlParam::of(std::string("a typical chat message of some eighty bytes, give or take a few")),
       SqlParam::of(int64_t{1700000000000} + id)}};
}

// The next kBatch inserts, built into `ops` (reused between iterations).
const std::vector<WriteOp>& next_batch(std::vector<WriteOp>& ops, int64_t& next_id) {
  ops.clear();
  for (int64_t k = 0; k < kBatch; ++k) ops.push_back(inbound_insert(next_id++));
  return ops;
}

void BM_GroupCommit(benchmark::State& state) {
  BenchDb env;
  if (!env.ok()) return state.SkipWithError(env.error().c_str());
  GroupCommitter committer(env.db());
  int64_t next_id = 0;
  std::vector<WriteOp> ops;
  ops.reserve(kBatch);
  for (auto _ : state) {
    // Building the ops is inside the timing: the writer actor receives them built,
    // but this keeps the figure honest (it is small next to the fsync).
    const auto out = committer.commit_batch(next_batch(ops, next_id));
    for (const auto& o : out) {
      if (!o.ok) return state.SkipWithError(o.error_message.c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["commits"] = static_cast<double>(committer.commits());
}

void BM_PerInsertTxn(benchmark::State& state) {
  BenchDb env;
  if (!env.ok()) return state.SkipWithError(env.error().c_str());
  GroupCommitter committer(env.db());
  int64_t next_id = 0;
  for (auto _ : state) {
    const auto o = committer.commit_single(inbound_insert(next_id++));
    if (!o.ok) return state.SkipWithError(o.error_message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["commits"] = static_cast<double>(committer.commits());
}

// ------------------------------------------------------------------ PostgreSQL

// The server for the whole run (bench/support/pg_server.hpp).
std::unique_ptr<sb::bench::PgServer> g_pg;

// A connection into a fresh schema holding an inbound_messages table with the same
// columns and dedupe key, dropped afterwards.
class PgBenchSchema {
 public:
  PgBenchSchema() {
    static int counter = 0;
    sb::storage::pg::PgOptions o;
    o.conninfo = g_pg->conninfo();
    o.schema = "bench_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    auto db = sb::storage::pg::PgDatabase::open(o);
    if (!db) {
      error_ = db.error().code + ": " + db.error().message;
      return;
    }
    db_ = std::make_unique<sb::storage::pg::PgDatabase>(std::move(*db));
    auto st = db_->exec(
        "CREATE TABLE inbound_messages (id bigserial PRIMARY KEY, channel text NOT NULL, platform_message_id text "
        "NOT NULL, chat_jid text NOT NULL, sender text NOT NULL, text text NOT NULL, received_at bigint NOT NULL, "
        "UNIQUE (channel, platform_message_id))");
    if (!st) error_ = st.error().message;
  }
  ~PgBenchSchema() {
    if (db_ && db_->is_connected()) (void)db_->exec("DROP SCHEMA " + db_->schema() + " CASCADE");
  }
  PgBenchSchema(const PgBenchSchema&) = delete;
  PgBenchSchema& operator=(const PgBenchSchema&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  sb::storage::pg::PgDatabase& db() { return *db_; }

 private:
  std::unique_ptr<sb::storage::pg::PgDatabase> db_;
  std::string error_;
};

void BM_PgBatch(benchmark::State& state) {
  PgBenchSchema env;
  if (!env.ok()) return state.SkipWithError(env.error().c_str());
  int64_t next_id = 0;
  std::vector<WriteOp> ops;
  ops.reserve(kBatch);
  for (auto _ : state) {
    const auto out = sb::storage::pg::run_batch(env.db(), next_batch(ops, next_id));
    for (const auto& o : out) {
      if (!o.ok) return state.SkipWithError(o.error_message.c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_PgPerInsert(benchmark::State& state) {
  PgBenchSchema env;
  if (!env.ok()) return state.SkipWithError(env.error().c_str());
  const WriteOp first = inbound_insert(0);
  auto stmt = env.db().prepare(first.sql);
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

// ---------------------------------------------------------------- case registry
//
// HOOK for more write paths in the same run (e.g. the storage writer actor):
// write `void BM_WriterActor(benchmark::State&)` that calls SetItemsProcessed with
// the number of durable inserts, then add one line to register_cases():
//     register_ratio_case("writer actor", BM_WriterActor, /*smoke_iterations=*/5);
// Its inserts/s and its ratio to the per-insert baseline appear in the summary.

struct Case {
  std::string label;       // as printed in the summary
  std::string bench_name;  // Google Benchmark name (label with '_' for ' ')
};
std::vector<Case> g_cases;
constexpr const char* kBaselineLabel = "per-insert txn";

void register_ratio_case(const std::string& label, void (*fn)(benchmark::State&), int64_t smoke_iterations) {
  std::string name = label;
  for (char& c : name) c = (c == ' ' || c == '-') ? '_' : c;
  auto* b = benchmark::RegisterBenchmark(name.c_str(), fn);
  // fsync time is wall time; CPU time would flatter every case enormously.
  b->UseRealTime()->Unit(benchmark::kMillisecond);
  if (g_smoke) {
    b->Iterations(smoke_iterations);
  } else if (!g_min_time_given) {
    b->MinTime(2.0);  // enough fsyncs for a stable per-insert figure
  }
  g_cases.push_back({label, name});
}

void register_cases() {
  register_ratio_case("group commit", BM_GroupCommit, 5);     // 5 x 1000 inserts
  register_ratio_case(kBaselineLabel, BM_PerInsertTxn, 200);  // 200 fsyncs
}

// The PostgreSQL pair, outside g_cases: its summary line compares it with itself and
// with SQLite's group commit, and a missing server leaves it out instead of failing.
constexpr const char* kPgBatch = "postgres_batch";
constexpr const char* kPgPerInsert = "postgres_per_insert";
void register_pg_cases() {
  g_pg = std::make_unique<sb::bench::PgServer>();
  if (!g_pg->ready()) {
    std::fprintf(stderr, "postgres cases left out: %s\n",
                 (g_pg->skip_reason().empty() ? g_pg->error() : g_pg->skip_reason()).c_str());
    return;
  }
  struct PgCase {
    const char* name;
    void (*fn)(benchmark::State&);
    int64_t smoke_iterations;
  };
  for (const PgCase& c : {PgCase{kPgBatch, BM_PgBatch, 5}, PgCase{kPgPerInsert, BM_PgPerInsert, 200}}) {
    auto* b = benchmark::RegisterBenchmark(c.name, c.fn);
    b->UseRealTime()->Unit(benchmark::kMillisecond);
    if (g_smoke) {
      b->Iterations(c.smoke_iterations);
    } else if (!g_min_time_given) {
      b->MinTime(2.0);
    }
  }
}

// Console output as usual, plus items_per_second per benchmark for the summary.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      const std::string& name = r.run_name.function_name;
      if (r.error_occurred) {
        failed_ = true;
        continue;
      }
      auto it = r.counters.find("items_per_second");
      if (it == r.counters.end()) continue;
      // With --benchmark_repetitions prefer the mean over single repetitions.
      const bool is_mean = r.run_type == Run::RT_Aggregate && r.aggregate_name == "mean";
      if (r.run_type == Run::RT_Iteration && means_.count(name) == 0) rates_[name] = it->second.value;
      if (is_mean) {
        rates_[name] = it->second.value;
        means_[name] = true;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& rates() const { return rates_; }
  bool failed() const { return failed_; }

 private:
  std::map<std::string, double> rates_;
  std::map<std::string, bool> means_;
  bool failed_ = false;
};

void warn_if_tmpfs() {
  struct statfs fs {};
  const std::string dir = bench_base_dir();
  if (statfs(dir.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kTmpfsMagic) {
    std::fprintf(stderr,
                 "warning: %s is tmpfs; fsync costs nothing there, so these figures do "
                 "not measure durability. Set SQUADBOX_BENCH_DIR to a disk path.\n",
                 dir.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Strip our own flag before Google Benchmark rejects it as unknown.
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

  // The migration log line would interleave with the benchmark table.
  sb::log::configure(sb::log::Level::warn, sb::log::Format::logfmt);
  register_cases();
  register_pg_cases();
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  warn_if_tmpfs();

  CapturingReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                   : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  auto rate_of = [&](const Case& c) -> double {
    auto it = reporter.rates().find(c.bench_name);
    return it == reporter.rates().end() ? 0.0 : it->second;
  };
  double baseline = 0;
  for (const Case& c : g_cases) {
    if (c.label == kBaselineLabel) baseline = rate_of(c);
  }
  // "group commit: X inserts/s, per-insert txn: Y inserts/s, ratio: Z x" (with more
  // cases, one ratio per case, each against the per-insert baseline).
  std::string rates;
  std::vector<std::pair<std::string, std::string>> ratios;  // label, "Z x"
  char buf[160];
  for (const Case& c : g_cases) {
    const double r = rate_of(c);
    if (r > 0) {
      std::snprintf(buf, sizeof buf, "%s: %.0f inserts/s", c.label.c_str(), r);
    } else {
      std::snprintf(buf, sizeof buf, "%s: n/a", c.label.c_str());
    }
    rates += (rates.empty() ? "" : ", ") + std::string(buf);
    if (c.label == kBaselineLabel) continue;
    if (r > 0 && baseline > 0) {
      std::snprintf(buf, sizeof buf, "%.1f x", r / baseline);
    } else {
      std::snprintf(buf, sizeof buf, "n/a");
    }
    ratios.emplace_back(c.label, buf);
  }
  std::string ratio_text;
  for (const auto& [label, value] : ratios) {
    if (!ratio_text.empty()) ratio_text += ", ";
    ratio_text += ratios.size() == 1 ? value : label + " " + value;
  }
  std::printf("%s%s, ratio: %s (target: >= 50000/s and >= 10x)\n", g_smoke ? "[smoke] " : "", rates.c_str(),
              ratio_text.c_str());
  if (g_pg && g_pg->ready()) {
    const auto rate = [&](const char* name) {
      auto it = reporter.rates().find(name);
      return it == reporter.rates().end() ? 0.0 : it->second;
    };
    const double batch = rate(kPgBatch), single = rate(kPgPerInsert);
    double sqlite_batch = 0;
    for (const Case& c : g_cases) {
      if (c.label == "group commit") sqlite_batch = rate_of(c);
    }
    std::printf(
        "%spostgres batch: %.0f inserts/s, postgres per-insert: %.0f inserts/s, ratio: %.1f x, "
        "postgres batch / sqlite group commit: %.2f\n",
        g_smoke ? "[smoke] " : "", batch, single, single > 0 ? batch / single : 0.0,
        sqlite_batch > 0 ? batch / sqlite_batch : 0.0);
  }
  g_pg.reset();  // stop the throwaway server before exit
  // Figures never fail the run; a broken write path (a skipped case) does.
  return reporter.failed() ? 1 : 0;
}
