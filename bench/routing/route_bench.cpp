// Cost of the pure routing decision (runtime/routing) over a table of 1k namespaces and
// 10k chat mappings, as the router pays it per inbound message.
//   bench_routing [--smoke] [--benchmark_* flags]
// Prints decisions/s for a realistic mix (group messages with and without the trigger,
// DMs, unmapped chats, blocked senders), for each kind alone, for stripping internal
// spans off a reply, and the time to rebuild the whole table (what a change costs).
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/routing/reply_rules.hpp"
#include "runtime/routing/route_decision.hpp"
#include "runtime/routing/routing_table.hpp"

namespace {

using namespace sb::routing;

constexpr int kNamespaces = 1000;
constexpr int kMappings = 10000;

bool g_smoke = false;
std::map<std::string, double> g_ns;  // benchmark name -> ns per item (real time)

RoutingRows make_rows() {
  RoutingRows rows;
  for (int i = 0; i < kNamespaces; ++i)
    rows.namespaces.push_back({"6f1c2a4e-0000-4000-8000-" + std::to_string(100000000000 + i), "ns" + std::to_string(i),
                               i == 0, i % 3 == 0 ? "!n" + std::to_string(i) : "", i % 5 != 0});
  for (int i = 0; i < kMappings; ++i)
    rows.mappings.push_back({"slack:C" + std::to_string(1000000 + i), rows.namespaces[i % kNamespaces].id});
  rows.allowlists.push_back({"slack", "main", false, {}});
  for (int i = 0; i < 200; ++i) rows.allowlists.back().senders.push_back("U" + std::to_string(5000 + i));
  rows.allowlists.push_back({"slack", "open", true, {}});
  return rows;
}

const RoutingTable& table() {
  static const RoutingTable t = [] {
    auto built = RoutingTable::build(make_rows(), "Andy");
    if (!built) {
      std::fprintf(stderr, "table: %s\n", built.error().message.c_str());
      std::abort();
    }
    return std::move(built).value();
  }();
  return t;
}

struct Message {
  std::string bot, jid, sender, text;
  bool is_group = false;
  bool mentions = false;
  MessageView view() const { return {"slack", bot, jid, sender, text, is_group, mentions}; }
};

enum class Kind { group_trigger, group_no_trigger, dm, unmapped, blocked };

Message make_message(Kind kind, int i) {
  const int chat = (i * 7919) % kMappings;
  const int ns = chat % kNamespaces;
  const std::string trigger = ns % 3 == 0 ? "!n" + std::to_string(ns) : "@Andy";
  Message m{"open", "slack:C" + std::to_string(1000000 + chat), "U" + std::to_string(5000 + i % 200), "", true, false};
  switch (kind) {
    case Kind::group_trigger: m.text = "hey " + trigger + ", can you summarise the thread above?"; break;
    case Kind::group_no_trigger: m.text = "lunch at noon? I was thinking about the new place on the corner"; break;
    case Kind::dm:
      m.is_group = false;
      m.text = "please look at the logs from last night";
      break;
    case Kind::unmapped:
      m.jid = "slack:D" + std::to_string(i);
      m.text = "hello";
      break;
    case Kind::blocked:
      m.bot = "main";
      m.sender = "U9" + std::to_string(i);
      m.text = "@Andy hi";
      break;
  }
  return m;
}

// 60% groups with the trigger, 15% groups without, 15% DMs, 5% unmapped, 5% blocked.
std::vector<Message> mix() {
  std::vector<Message> out;
  for (int i = 0; i < 4096; ++i) {
    const int r = i % 20;
    Kind k = r < 12   ? Kind::group_trigger
             : r < 15 ? Kind::group_no_trigger
             : r < 18 ? Kind::dm
             : r < 19 ? Kind::unmapped
                      : Kind::blocked;
    out.push_back(make_message(k, i));
  }
  return out;
}

std::vector<Message> only(Kind k) {
  std::vector<Message> out;
  for (int i = 0; i < 4096; ++i) out.push_back(make_message(k, i));
  return out;
}

void run_decisions(benchmark::State& state, const std::vector<Message>& messages) {
  const RoutingTable& t = table();
  std::vector<MessageView> views;
  for (const auto& m : messages) views.push_back(m.view());
  std::size_t i = 0, delivered = 0;
  for (auto _ : state) {
    auto d = decide(t, views[i++ & 4095]);
    delivered += d.deliver;
    benchmark::DoNotOptimize(d);
  }
  benchmark::DoNotOptimize(delivered);
  state.SetItemsProcessed(state.iterations());
}

void BM_decide_mix(benchmark::State& s) {
  static const auto m = mix();
  run_decisions(s, m);
}
void BM_decide_group_trigger(benchmark::State& s) {
  static const auto m = only(Kind::group_trigger);
  run_decisions(s, m);
}
void BM_decide_group_no_trigger(benchmark::State& s) {
  static const auto m = only(Kind::group_no_trigger);
  run_decisions(s, m);
}
void BM_decide_dm(benchmark::State& s) {
  static const auto m = only(Kind::dm);
  run_decisions(s, m);
}
void BM_decide_unmapped(benchmark::State& s) {
  static const auto m = only(Kind::unmapped);
  run_decisions(s, m);
}
void BM_decide_blocked(benchmark::State& s) {
  static const auto m = only(Kind::blocked);
  run_decisions(s, m);
}

void BM_strip_internal(benchmark::State& state) {
  const std::string reply =
      "<internal>The user wants a summary; check the thread first.</internal>\n\nHere is the summary: "
      "the deploy failed at 02:14 because the migration timed out. <internal>mention the retry?</internal>"
      "A retry at 02:30 succeeded.";
  for (auto _ : state) benchmark::DoNotOptimize(strip_internal(reply));
  state.SetItemsProcessed(state.iterations());
}

void BM_build_table(benchmark::State& state) {
  const RoutingRows rows = make_rows();
  for (auto _ : state) benchmark::DoNotOptimize(RoutingTable::build(rows, "Andy"));
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0)
      g_smoke = true;
    else
      args.push_back(argv[i]);
  }
  const int iterations = g_smoke ? 2000 : 2'000'000;
  for (auto [name, fn] : std::initializer_list<std::pair<const char*, void (*)(benchmark::State&)>>{
           {"BM_decide_mix", BM_decide_mix},
           {"BM_decide_group_trigger", BM_decide_group_trigger},
           {"BM_decide_group_no_trigger", BM_decide_group_no_trigger},
           {"BM_decide_dm", BM_decide_dm},
           {"BM_decide_unmapped", BM_decide_unmapped},
           {"BM_decide_blocked", BM_decide_blocked},
           {"BM_strip_internal", BM_strip_internal}})
    benchmark::RegisterBenchmark(name, fn)->Iterations(iterations)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("BM_build_table", BM_build_table)
      ->Iterations(g_smoke ? 2 : 50)
      ->Unit(benchmark::kMillisecond);
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  Collect reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\nRouting decision, %d namespaces, %d mappings, one thread (%d iterations each):\n", kNamespaces,
              kMappings, iterations);
  std::printf(
      "  mix (60%% group+trigger, 15%% group, 15%% DM, 5%% unmapped, 5%% blocked): %10.0f decisions/s  "
      "(issue target for router + enqueue: >= 500000 msg/s)\n",
      per_second("BM_decide_mix"));
  std::printf("  group, trigger present:   %10.0f decisions/s\n", per_second("BM_decide_group_trigger"));
  std::printf("  group, no trigger (drop): %10.0f decisions/s\n", per_second("BM_decide_group_no_trigger"));
  std::printf("  DM:                       %10.0f decisions/s\n", per_second("BM_decide_dm"));
  std::printf("  unmapped (drop):          %10.0f decisions/s\n", per_second("BM_decide_unmapped"));
  std::printf("  blocked sender (drop):    %10.0f decisions/s\n", per_second("BM_decide_blocked"));
  std::printf("  strip_internal (220-byte reply, 2 spans): %8.0f replies/s\n", per_second("BM_strip_internal"));
  std::printf("  rebuild the whole table:  %10.2f ms\n", g_ns["BM_build_table"]);  // reported in ms
  return 0;
}
