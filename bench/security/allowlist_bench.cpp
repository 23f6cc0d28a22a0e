// Cost of one mount allowlist decision, as MountPolicy pays it per mount.
//   bench_allowlist [--smoke] [--benchmark_* flags]
// Prints ns/decision for: an allowed path (realpath + O_PATH pin + rules + reading the
// mount table), a path denied after resolving (outside every root), one denied by a
// blocked pattern before touching the file system, and the pure rule decision alone.
#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/core/log.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "runtime/security/allowlist/mount_check.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sb::security::allowlist;

bool g_smoke = false;
std::map<std::string, double> g_ns;  // benchmark name -> ns per decision (real time)

struct Tree {
  std::string base;
  AllowlistRules rules;
  Tree() {
    std::string tmpl = (fs::temp_directory_path() / "sb-bench-allowlist-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    base = fs::canonical(tmpl).string();
    fs::create_directories(base + "/home/u/projects/app/src/module");
    fs::create_directories(base + "/home/u/.ssh");
    fs::create_directories(base + "/srv/other");
    std::ofstream(base + "/allowlist.json")
        << R"({"allowedRoots":[{"path":")" << base << R"(/home/u/projects","allowReadWrite":true},)"
        << R"({"path":")" << base << R"(/srv/data"}],"blockedPatterns":["password","token"]})";
    rules = load_allowlist(base + "/allowlist.json", {{base + "/data", "data_dir"}});
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
};

Tree& tree() {
  static Tree t;
  return t;
}

void run(benchmark::State& state, const MountQuery& q, bool expect_allowed) {
  for (auto _ : state) {
    auto d = check_mount(tree().rules, q);
    if (d.allowed != expect_allowed) {
      state.SkipWithError(("unexpected decision: " + d.rule + ": " + d.reason).c_str());
      break;
    }
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_allowed(benchmark::State& s) {
  run(s, {MountKind::extra, tree().base + "/home/u/projects/app/src/module", "module", true, "g", true}, true);
}
void BM_denied_outside_roots(benchmark::State& s) {
  run(s, {MountKind::extra, tree().base + "/srv/other", "other", false, "g", false}, false);
}
void BM_denied_blocked_pattern(benchmark::State& s) {
  run(s, {MountKind::extra, tree().base + "/home/u/.ssh", "ssh", false, "g", false}, false);
}
void BM_rules_only(benchmark::State& state) {
  const std::string path = tree().base + "/home/u/projects/app/src/module";
  for (auto _ : state) benchmark::DoNotOptimize(decide_extra_mount(tree().rules, path, true, true));
  state.SetItemsProcessed(state.iterations());
}

// Keeps the per-run real time of each benchmark for the summary.
class Collect : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs)
      if (r.iterations > 0) {
        const std::string name = r.benchmark_name();                     // "BM_x/iterations:N"
        g_ns[name.substr(0, name.find('/'))] = r.GetAdjustedRealTime();  // ns (Unit: ns)
      }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0)
      g_smoke = true;
    else
      args.push_back(argv[i]);
  }
  sb::log::configure(sb::log::Level::error, sb::log::Format::logfmt);
  const int iterations = g_smoke ? 200 : 20000;
  for (auto [name, fn] : std::initializer_list<std::pair<const char*, void (*)(benchmark::State&)>>{
           {"BM_allowed", BM_allowed},
           {"BM_denied_outside_roots", BM_denied_outside_roots},
           {"BM_denied_blocked_pattern", BM_denied_blocked_pattern},
           {"BM_rules_only", BM_rules_only}})
    benchmark::RegisterBenchmark(name, fn)->Iterations(iterations)->Unit(benchmark::kNanosecond);
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  Collect reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\nMount allowlist, ns per decision (%d iterations each):\n", iterations);
  std::printf("  allowed (realpath + pin + rules + mount table):   %8.0f ns\n", g_ns["BM_allowed"]);
  std::printf("  denied after resolving (outside every root):      %8.0f ns\n", g_ns["BM_denied_outside_roots"]);
  std::printf("  denied by a blocked pattern (no file system):     %8.0f ns\n", g_ns["BM_denied_blocked_pattern"]);
  std::printf("  rules only (pure decision on a canonical path):   %8.0f ns\n", g_ns["BM_rules_only"]);
  return 0;
}
