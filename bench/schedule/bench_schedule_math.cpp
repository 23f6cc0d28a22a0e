// Cost of the schedule math (runtime/scheduling) the scheduler pays per task:
//   bench_schedule_math [--smoke] [--benchmark_* flags]
// Prints next-fire computations/s over a mix of cron expressions and time zones (issue 7
// target: >= 1M/s), per kind, interval next and catch-up, cron and once parse rates, and
// the memory a parsed schedule takes (sizeof + the heap it keeps, from mallinfo2).
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/schedule/interval.hpp"
#include "runtime/schedule/next_fire.hpp"
#include "runtime/schedule/once.hpp"
#include "runtime/schedule/schedule.hpp"

namespace {

using namespace sb::schedule;

bool g_smoke = false;
std::map<std::string, double> g_ns;  // benchmark name -> ns per item (real time)

const char* const kExpressions[] = {
    "*/15 * * * *",    "0 * * * *",    "0 9 * * 1-5",   "30 2 * * *",       "0 0 1 * *", "0 0 * * 0",
    "5/10 8-18 * * *", "0 12 13 * 5",  "0 0 29 2 *",    "15 3 * jan,jul *", "0 0 1 1 *", "*/5 * * * *",
    "45 23 L-ish",     "0 6,18 * * *", "0 9 1-7 * mon", "59 23 31 12 *",
};
const char* const kZones[] = {"UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney"};

struct Query {
  CronExpr expr;
  TimeZone tz;
  Instant after;
};

std::vector<Query> make_queries(const std::vector<std::string>& only = {}) {
  std::vector<CronExpr> exprs;
  for (const char* text : kExpressions) {
    if (!only.empty() && std::find(only.begin(), only.end(), text) == only.end()) continue;
    if (auto e = CronExpr::parse(text)) exprs.push_back(*e);  // "45 23 L-ish" is a parse-error sample
  }
  std::mt19937_64 rng(1);
  std::vector<Query> out;
  const Instant start = *parse_once("2026-01-01T00:00:00Z", TimeZone::utc());
  for (int i = 0; i < 4096; ++i) {
    const auto& e = exprs[static_cast<std::size_t>(i) % exprs.size()];
    const auto tz = *TimeZone::locate(kZones[(i / static_cast<int>(exprs.size())) % 4]);
    out.push_back({e, tz, start + std::chrono::milliseconds{static_cast<std::int64_t>(rng() % (365ull * 86400000))}});
  }
  return out;
}

void run_next_fire(benchmark::State& state, const std::vector<Query>& queries) {
  std::size_t i = 0;
  for (auto _ : state) {
    const Query& q = queries[i++ & 4095];
    benchmark::DoNotOptimize(next_fire(q.expr, q.tz, q.after));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_next_fire_mix(benchmark::State& s) {
  static const auto q = make_queries();
  run_next_fire(s, q);
}
void BM_next_fire_every_15min(benchmark::State& s) {
  static const auto q = make_queries({"*/15 * * * *"});
  run_next_fire(s, q);
}
void BM_next_fire_weekdays_9am(benchmark::State& s) {
  static const auto q = make_queries({"0 9 * * 1-5"});
  run_next_fire(s, q);
}
void BM_next_fire_monthly(benchmark::State& s) {
  static const auto q = make_queries({"0 0 1 * *"});
  run_next_fire(s, q);
}
void BM_next_fire_leap_day(benchmark::State& s) {
  static const auto q = make_queries({"0 0 29 2 *"});
  run_next_fire(s, q);
}

// Queries placed within a day of a DST change (the slow path: local_info lookups).
void BM_next_fire_near_dst(benchmark::State& s) {
  static const std::vector<Query> q = [] {
    std::vector<Query> out;
    const auto ny = *TimeZone::locate("America/New_York");
    const Instant jump = *parse_once("2026-03-08T07:00:00Z", TimeZone::utc());
    const Instant back = *parse_once("2026-11-01T06:00:00Z", TimeZone::utc());
    const CronExpr exprs[] = {*CronExpr::parse("30 2 * * *"), *CronExpr::parse("*/15 * * * *"),
                              *CronExpr::parse("30 1 * * *"), *CronExpr::parse("0 * * * *")};
    for (int i = 0; i < 4096; ++i)
      out.push_back({exprs[i % 4], ny, (i % 2 ? jump : back) + std::chrono::minutes{(i * 37) % 600 - 300}});
    return out;
  }();
  run_next_fire(s, q);
}

void BM_interval_next(benchmark::State& state) {
  const Instant anchor = *parse_once("2026-01-01T00:00:00Z", TimeZone::utc());
  std::int64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        interval_next(anchor, std::chrono::milliseconds{60007}, anchor + std::chrono::milliseconds{i}));
    i += 7919;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_cron_parse(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(CronExpr::parse(kExpressions[i++ % std::size(kExpressions)]));
  state.SetItemsProcessed(state.iterations());
}

void BM_once_parse(benchmark::State& state) {
  const TimeZone berlin = *TimeZone::locate("Europe/Berlin");
  const char* const texts[] = {"2026-03-08T09:30:00Z", "2026-03-08T09:30:00.250+01:00", "2026-10-25T02:30"};
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(parse_once(texts[i++ % 3], berlin));
  state.SetItemsProcessed(state.iterations());
}

class Collect : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs)
      if (r.iterations > 0) {
        const std::string name = r.benchmark_name();
        g_ns[name.substr(0, name.find('/'))] = r.GetAdjustedRealTime();
      }
    ConsoleReporter::ReportRuns(runs);
  }
};

double per_second(const char* name) {
  return g_ns[name] > 0 ? 1e9 / g_ns[name] : 0;
}

// Heap kept per schedule: glibc's in-use bytes around compiling n schedules into a
// vector reserved beforehand (0 under a sanitizer's allocator, which glibc cannot see).
void memory_figures(int n) {
  const TimeZone utc = TimeZone::utc();
  const char* const specs[][2] = {{"cron", "0 9 * * 1-5"},
                                  {"cron", "*/15 * * * *"},
                                  {"interval", "300000"},
                                  {"once", "2026-03-08T09:30:00+01:00"},
                                  {"cron", "0 0 1 jan,jul *"}};
  std::vector<Schedule> all;
  all.reserve(static_cast<std::size_t>(n));
  const auto before = mallinfo2();
  for (int i = 0; i < n; ++i) {
    const auto& s = specs[i % 5];
    all.push_back(*parse_schedule(s[0], s[1], utc));
  }
  const auto after = mallinfo2();
  const double kept =
      (static_cast<double>(after.uordblks + after.hblkhd) - static_cast<double>(before.uordblks + before.hblkhd)) / n;
  std::printf("  memory: sizeof(Schedule) = %zu B, sizeof(CronExpr) = %zu B, sizeof(TimeZone) = %zu B;\n",
              sizeof(Schedule), sizeof(CronExpr), sizeof(TimeZone));
  std::printf("          heap kept per compiled schedule: %.2f B (%d schedules: %.1f KiB in their vector)\n", kept, n,
              static_cast<double>(sizeof(Schedule)) * n / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0)
      g_smoke = true;
    else
      args.push_back(argv[i]);
  }
  const int iterations = g_smoke ? 2000 : 3'000'000;
  for (auto [name, fn] : std::initializer_list<std::pair<const char*, void (*)(benchmark::State&)>>{
           {"BM_next_fire_mix", BM_next_fire_mix},
           {"BM_next_fire_every_15min", BM_next_fire_every_15min},
           {"BM_next_fire_weekdays_9am", BM_next_fire_weekdays_9am},
           {"BM_next_fire_monthly", BM_next_fire_monthly},
           {"BM_next_fire_leap_day", BM_next_fire_leap_day},
           {"BM_next_fire_near_dst", BM_next_fire_near_dst},
           {"BM_interval_next", BM_interval_next},
           {"BM_cron_parse", BM_cron_parse},
           {"BM_once_parse", BM_once_parse}})
    benchmark::RegisterBenchmark(name, fn)->Iterations(iterations)->Unit(benchmark::kNanosecond);
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  Collect reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\nSchedule math, one thread (%d iterations each):\n", iterations);
  std::printf("  next fire, mix of %zu cron expressions x 4 zones over 2026: %10.0f /s  (issue target >= 1000000/s)\n",
              std::size(kExpressions) - 1, per_second("BM_next_fire_mix"));
  std::printf("    */15 * * * *:       %10.0f /s\n", per_second("BM_next_fire_every_15min"));
  std::printf("    0 9 * * 1-5:        %10.0f /s\n", per_second("BM_next_fire_weekdays_9am"));
  std::printf("    0 0 1 * *:          %10.0f /s\n", per_second("BM_next_fire_monthly"));
  std::printf("    0 0 29 2 * (leap):  %10.0f /s\n", per_second("BM_next_fire_leap_day"));
  std::printf("    New York, within 5 h of a DST change: %10.0f /s\n", per_second("BM_next_fire_near_dst"));
  std::printf("  interval next:        %10.0f /s\n", per_second("BM_interval_next"));
  std::printf("  cron parse:           %10.0f /s (one in 16 samples is a parse error)\n", per_second("BM_cron_parse"));
  std::printf("  once parse:           %10.0f /s\n", per_second("BM_once_parse"));
  memory_figures(g_smoke ? 1000 : 100000);
  return 0;
}
