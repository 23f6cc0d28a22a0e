// End-to-end latency (issue 6 targets: p50 <= 10 ms, p99 <= 50 ms): the real
// `squadbox serve` (the binary next to this one), one namespace mapped to a Slack DM,
// its echo agent in a warm crun container. N signed Slack webhooks are sent one at a
// time (the next after the previous reply); each is timed from just before the client
// sends the webhook to the moment the loopback fake Slack API receives the reply
// request (chat.postMessage). Needs root (crun); otherwise it says so and exits 0.
//
//   bench_e2e_latency [--smoke] [--requests N] [--squadbox PATH]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/e2e/e2e_node.hpp"
#include "tests/e2e/fake_platform.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace e2e = sb::test::e2e;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  int requests = 500;
  std::string squadbox;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke")
      smoke = true;
    else if (a.rfind("--benchmark_", 0) == 0)
      continue;  // from the bench_smoke_* CTest entry
    else if (a == "--requests" && i + 1 < argc)
      requests = std::max(1, std::atoi(argv[++i]));
    else if (a == "--squadbox" && i + 1 < argc)
      squadbox = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_e2e_latency [--smoke] [--requests N] [--squadbox PATH]\n");
      return 2;
    }
  }
  if (smoke) requests = std::min(requests, 20);
  if (::geteuid() != 0) {
    std::printf("bench_e2e_latency: skipped (crun containers need root)\n");
    return 0;
  }
  if (std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null") != 0) {
    std::printf("bench_e2e_latency: deploy/prepare-host.sh failed\n");
    return 1;
  }

  sb::test::TempDir dir("squadbox-bench-e2e");
  e2e::FakePlatform platform;
  e2e::NodeSettings settings;
  settings.platform_url = platform.url();
  settings.squadbox = squadbox;
  settings.log_level = "warn";  // as a production node would log per message: not at all
  e2e::E2ENode node(dir.path(), settings);
  if (auto err = node.prepare(); !err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  if (auto err = node.start(); !err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  std::printf("squadbox binary: %s\n", node.exe().c_str());
  auto ns = node.admin("POST", "/api/v1/container/namespaces", R"({"name":"bench"})");
  auto map = node.admin("POST", "/api/v1/container/mappings", R"({"jid":"slack:D0BENCH","namespace":"bench"})");
  if (!ns || ns->status != 201 || !map || map->status != 201) {
    std::fprintf(stderr, "namespace/mapping setup failed\n");
    return 1;
  }

  // Warm-up: the first message starts the container.
  const auto cold0 = Clock::now();
  auto first = node.post(e2e::slack_message("main", "D0BENCH", "U0BENCH01", "warm up", true));
  if (!first || first->status != 200 || !platform.wait_total(1, 120s)) {
    std::fprintf(stderr, "warm-up failed: no reply\n%s\n", node.log().c_str());
    return 1;
  }
  const double cold_ms = ms(platform.replies().back().at - cold0);

  std::vector<double> latency, ack;
  latency.reserve(static_cast<size_t>(requests));
  for (int i = 0; i < requests; ++i) {
    auto w = e2e::slack_message("main", "D0BENCH", "U0BENCH01", "ping " + std::to_string(i), true);
    const size_t before = platform.reply_count();
    const auto t0 = Clock::now();
    auto r = node.post(w);
    const auto t_ack = Clock::now();
    if (!r || r->status != 200) {
      std::fprintf(stderr, "webhook %d: %s\n", i, r ? std::to_string(r->status).c_str() : r.error().message.c_str());
      return 1;
    }
    if (!platform.wait_total(before + 1, 30s)) {
      std::fprintf(stderr, "request %d: no reply within 30 s\n", i);
      return 1;
    }
    latency.push_back(ms(platform.replies()[before].at - t0));
    ack.push_back(ms(t_ack - t0));
  }
  const auto violations = platform.violations();

  std::printf("\n== webhook in -> reply request at the fake Slack API (warm echo container, %d requests, %s)\n",
              requests, smoke ? "smoke" : "full");
  std::printf("cold first reply (container start): %8.2f ms\n", cold_ms);
  std::printf("end to end  p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms   (targets p50 <= 10, p99 <= 50)\n",
              percentile(latency, 50), percentile(latency, 90), percentile(latency, 99),
              *std::max_element(latency.begin(), latency.end()));
  std::printf("webhook ack p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", percentile(ack, 50),
              percentile(ack, 90), percentile(ack, 99), *std::max_element(ack.begin(), ack.end()));
  if (!violations.empty())
    std::printf("fake platform saw %zu contract violations: %s\n", violations.size(), violations[0].c_str());
  auto code = node.stop();
  if (code != 0) std::fprintf(stderr, "serve exit code %d\n", code ? *code : -1);
  return violations.empty() ? 0 : 1;
}
