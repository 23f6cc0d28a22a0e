// Actor runtime figures:
//   request/response round trip between two event-based actors, and from a
//   non-actor thread (scoped_actor) as the admin API's bridge would see it;
//   fire-and-forget throughput into one actor;
//   the storage writer actor: durable inserts/s with group commit (64 writers in
//   flight) vs one transaction per insert (max_batch = 1), same actor, same run.
//
//   bench_actors [--smoke] [--benchmark_* flags]
#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include <benchmark/benchmark.h>

#include "actors/node/node.hpp"
#include "actors/protocol.hpp"
#include "actors/storage/storage_writer.hpp"
#include "runtime/core/log.hpp"

namespace {

using namespace std::chrono_literals;
using sb::actors::shutdown_atom;
using sb::actors::write_atom;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using ponger_actor = caf::typed_actor<caf::replies_to<ping_atom, int64_t>::with<int64_t>>;

bool g_smoke = false;

struct System {
  static caf::actor_system_config& setup(caf::actor_system_config& cfg) {
    sb::actors::configure_actor_system(cfg, sb::config::Config{});
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{setup(cfg)};
};

ponger_actor spawn_ponger(caf::actor_system& sys) {
  return sys.spawn([]() -> ponger_actor::behavior_type { return {[](ping_atom, int64_t x) { return x + 1; }}; });
}

void BM_actor_request_roundtrip(benchmark::State& state) {
  System s;
  auto ponger = spawn_ponger(s.sys);
  const int64_t n = 10000;
  caf::scoped_actor self{s.sys};
  auto me_handle = caf::actor_cast<caf::actor>(self);
  for (auto _ : state) {
    // A pinger that does n sequential requests, then reports to `self`.
    s.sys.spawn([=](caf::event_based_actor* me) {
      // The loop holds itself only through the pending request's handler, so it is
      // freed (with its handle on the ponger) when the last answer arrives.
      auto step = std::make_shared<std::function<void(int64_t)>>();
      std::weak_ptr<std::function<void(int64_t)>> weak = step;
      *step = [=](int64_t i) {
        if (i == n) {
          me->anon_send(me_handle, done_atom::value);
          return;
        }
        me->request(ponger, 10s, ping_atom::value, i).then([next = weak.lock()](int64_t r) { (*next)(r); });
      };
      (*step)(0);
    });
    self->receive([](done_atom) {});
  }
  state.SetItemsProcessed(state.iterations() * n);
  anon_send_exit(ponger, caf::exit_reason::user_shutdown);
}
BENCHMARK(BM_actor_request_roundtrip)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_scoped_actor_request_roundtrip(benchmark::State& state) {
  System s;
  auto ponger = spawn_ponger(s.sys);
  caf::scoped_actor self{s.sys};
  int64_t x = 0;
  for (auto _ : state) {
    self->request(ponger, 10s, ping_atom::value, x).receive([&](int64_t r) { x = r; }, [](caf::error&) {});
  }
  state.SetItemsProcessed(state.iterations());
  benchmark::DoNotOptimize(x);
  anon_send_exit(ponger, caf::exit_reason::user_shutdown);
}
BENCHMARK(BM_scoped_actor_request_roundtrip)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_fire_and_forget_throughput(benchmark::State& state) {
  System s;
  const int64_t n = 200000;
  caf::scoped_actor self{s.sys};
  auto me_handle = caf::actor_cast<caf::actor>(self);
  for (auto _ : state) {
    auto sink = s.sys.spawn([=](caf::event_based_actor* me) -> caf::behavior {
      auto seen = std::make_shared<int64_t>(0);
      return {[=](int64_t) {
        if (++*seen == n) {
          me->anon_send(me_handle, done_atom::value);
          me->quit();
        }
      }};
    });
    for (int64_t i = 0; i < n; ++i) self->send(sink, i);
    self->receive([](done_atom) {});
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_fire_and_forget_throughput)->Unit(benchmark::kMillisecond)->UseRealTime();

std::string bench_dir() {
  const char* base = std::getenv("SQUADBOX_BENCH_DIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sb_actor_bench.XXXXXX";
  if (!mkdtemp(tmpl.data())) std::abort();
  return tmpl;
}

// Durable inserts through the writer actor with `in_flight` outstanding requests.
void run_writer(benchmark::State& state, size_t max_batch, int64_t in_flight) {
  System s;
  std::string dir = bench_dir();
  sb::actors::StorageWriterOptions o;
  o.path = dir + "/bench.db";
  o.max_batch = max_batch;
  auto writer = sb::actors::spawn_storage_writer(s.sys, o);
  caf::scoped_actor self{s.sys};
  const int64_t per_iteration = max_batch == 1 ? 200 : 20000;
  int64_t next_id = 0;
  for (auto _ : state) {
    int64_t sent = 0, acked = 0;
    auto send_one = [&] {
      sb::storage::WriteOp op{
          "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, received_at) "
          "VALUES('bench', ?, 'bench:1', 0)",
          {sb::storage::SqlParam::of("m" + std::to_string(next_id++))}};
      self->send(writer, write_atom::value, std::move(op));
      ++sent;
    };
    while (sent < std::min(in_flight, per_iteration)) send_one();
    while (acked < per_iteration) {
      self->receive([&](const sb::storage::WriteOutcome& out) {
        if (!out.ok) state.SkipWithError(out.error_message.c_str());
        ++acked;
        if (sent < per_iteration) send_one();
      });
    }
  }
  state.SetItemsProcessed(state.iterations() * per_iteration);
  self->request(writer, 10s, shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
  std::filesystem::remove_all(dir);
}

// Argument: requests in flight (concurrent requesters, e.g. webhook sessions).
void BM_writer_actor_group_commit(benchmark::State& state) {
  run_writer(state, 1024, state.range(0));
}
BENCHMARK(BM_writer_actor_group_commit)->Arg(64)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_writer_actor_per_insert_txn(benchmark::State& state) {
  run_writer(state, 1, state.range(0));
}
BENCHMARK(BM_writer_actor_per_insert_txn)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// Keeps items_per_second per benchmark so main() can print the ratio.
class Capture : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rates[r.benchmark_name()] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> rates;
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
  std::string min_time = "--benchmark_min_time=0.01";
  if (g_smoke) args.push_back(min_time.data());
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  sb::log::configure(sb::log::Level::warn, sb::log::Format::logfmt);
  Capture capture;
  benchmark::RunSpecifiedBenchmarks(&capture);
  auto single = capture.rates["BM_writer_actor_per_insert_txn/64/real_time"];
  for (const char* in_flight : {"64", "1024"}) {
    auto group = capture.rates[std::string("BM_writer_actor_group_commit/") + in_flight + "/real_time"];
    if (group > 0 && single > 0)
      std::printf(
          "storage writer actor, %s in flight: group commit %.0f inserts/s, per-insert txn "
          "%.0f inserts/s, ratio %.1fx (target: >= 50000/s and >= 10x)\n",
          in_flight, group, single, group / single);
  }
  benchmark::Shutdown();
  return 0;
}
