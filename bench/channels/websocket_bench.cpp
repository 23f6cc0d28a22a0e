// Issue 16 benchmarks, every figure from one run of the real `squadbox serve` (the binary
// next to this one) with three bots: a Slack bot on webhooks (the reference), a Discord
// bot in Gateway mode and a Slack bot in Socket Mode, both against loopback fakes over
// TLS (tests/support/fake_discord.hpp, fake_slack_socket.hpp).
//  1. Events/s into durable storage: N messages to an unmapped chat (stored, then dropped
//     by the default policy), timed from the first send until the N-th row is in
//     inbound_messages. Webhooks: N signed Slack event_callbacks over 64 keep-alive
//     connections (each 200 means committed); websockets: N events pushed down the one
//     socket as fast as the fake writes them.
//  2. Event -> reply latency through a warm echo container: one message at a time in a
//     mapped DM, timed from the send to the fake REST API receiving the reply.
// Prints the figures, the websocket/webhook ratios and the targets (events/s >= the
// webhook path's, p99 event -> reply <= 50 ms). Never fails on a time; exits 1 when
// something did not work. Needs root (crun); otherwise it says so and exits 0.
//
//   bench_websocket [--smoke] [--events N] [--requests N] [--squadbox PATH]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/channels/open_loop.hpp"
#include "bench/channels/slack_requests.hpp"
#include "tests/e2e/credentials.hpp"
#include "tests/e2e/e2e_node.hpp"
#include "tests/e2e/fake_platform.hpp"
#include "tests/support/fake_discord.hpp"
#include "tests/support/fake_slack_socket.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_pki.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace e2e = sb::test::e2e;

constexpr const char* kGatewayToken = "bench-gateway-token";
constexpr const char* kDiscordDm = "510000000000000001";    // mapped: latency
constexpr const char* kDiscordBulk = "510000000000000002";  // unmapped: throughput
constexpr const char* kAppToken = "xapp-1-bench-app-token";
constexpr const char* kSocketDm = "D0SOCKBENCH";   // mapped: latency
constexpr const char* kSocketBulk = "C0SOCKBULK";  // unmapped: throughput

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};
Percentiles percentiles(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  return {at(50), at(90), at(99), v.back()};
}

// Polls `count` until it reaches `n`; the time it did, or nullopt after `timeout`.
std::optional<Clock::time_point> wait_count(const std::function<long()>& count, long n,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (count() >= n) return Clock::now();
    std::this_thread::sleep_for(2ms);
  }
  return std::nullopt;
}

// The broker process's CPU time (user + system) so far, in ms: the fakes share the two
// cores with it, so events/s alone also measures them; CPU per event is the broker's own.
double cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atof(f.c_str());
    if (i == 15) stime = std::atof(f.c_str());
  }
  return (utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long rows(const e2e::E2ENode& node, const std::string& where) {
  auto out = node.query("SELECT count(*) FROM inbound_messages WHERE " + where);
  return out.empty() ? 0 : std::atol(out.c_str());
}

void print_latency(const char* what, const std::vector<double>& v) {
  auto p = percentiles(v);
  std::printf("%-26s p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%s p99 <= 50 ms)\n", what, p.p50, p.p90,
              p.p99, p.max, p.p99 <= 50 ? "MEETS" : "MISSES");
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  long events = 20000;
  int requests = 300;
  std::string squadbox;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke")
      smoke = true;
    else if (a.rfind("--benchmark_", 0) == 0)
      continue;  // from the bench_smoke_* CTest entry
    else if (a == "--events" && i + 1 < argc)
      events = std::max(1L, std::atol(argv[++i]));
    else if (a == "--requests" && i + 1 < argc)
      requests = std::max(1, std::atoi(argv[++i]));
    else if (a == "--squadbox" && i + 1 < argc)
      squadbox = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_websocket [--smoke] [--events N] [--requests N] [--squadbox PATH]\n");
      return 2;
    }
  }
  if (smoke) events = std::min(events, 300L), requests = std::min(requests, 10);
  if (::geteuid() != 0) {
    std::printf("bench_websocket: skipped (crun containers need root)\n");
    return 0;
  }
  if (std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null") != 0) {
    std::printf("bench_websocket: deploy/prepare-host.sh failed\n");
    return 1;
  }

  sb::test::TempDir dir("squadbox-bench-ws");
  std::filesystem::create_directories(dir.file("pki"));
  auto pki = sb::test::TestPki::generate(dir.file("pki"));
  e2e::FakePlatform platform;
  sb::test::FakeDiscord discord({.cert_file = pki.cert_file, .key_file = pki.key_file, .token = kGatewayToken});
  sb::test::FakeSlackSocket slack({.cert_file = pki.cert_file,
                                   .key_file = pki.key_file,
                                   .app_token = kAppToken,
                                   .bot_token = e2e::kSlackBotToken,
                                   .redeliver_after = 30s});
  e2e::NodeSettings settings;
  settings.platform_url = platform.url();
  settings.squadbox = squadbox;
  settings.log_level = "warn";
  settings.secrets = {{"gw-token", kGatewayToken}, {"sock-app", kAppToken}};
  settings.extra_config = "[channels.discord.gw]\nmode = \"gateway\"\nbot_token = \"gw-token\"\napi_base_url = \"" +
                          discord.api_base_url() + "\"\nca_file = \"" + pki.ca_file + "\"\n" +
                          "[channels.slack.sock]\nmode = \"socket\"\napp_token = \"sock-app\"\nbot_token = "
                          "\"slack-token\"\nbot_user_id = \"U0SOCKBOT\"\napi_base_url = \"" +
                          slack.api_base_url() + "\"\nca_file = \"" + pki.ca_file + "\"\n";
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
  if (!discord.wait_for([&] { return discord.ready(); }, 30s) ||
      !slack.wait_for([&] { return slack.sockets_open() >= 1; }, 30s)) {
    std::fprintf(stderr, "a websocket bot never connected\n%s\n", node.log().c_str());
    return 1;
  }
  auto ns = node.admin("POST", "/api/v1/container/namespaces", R"({"name":"bench"})");
  bool mapped = ns && ns->status == 201;
  for (std::string jid :
       {std::string("slack:D0BENCH"), std::string("dc:") + kDiscordDm, std::string("slack:") + kSocketDm}) {
    auto m = node.admin("POST", "/api/v1/container/mappings", R"({"jid":")" + jid + R"(","namespace":"bench"})");
    mapped = mapped && m && m->status == 201;
  }
  if (!mapped) {
    std::fprintf(stderr, "namespace/mapping setup failed\n");
    return 1;
  }

  // --- 1. events/s into durable storage ------------------------------------------------
  std::printf("\n== events/s into durable storage (%ld messages to an unmapped chat per path, %s)\n", events,
              smoke ? "smoke" : "full");
  const auto host_port = node.webhooks_url().substr(node.webhooks_url().find("//") + 2);
  sb::bench::SlackRequestSpec spec{
      host_port, "/webhooks/slack/main", e2e::kSlackSigning,
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
      "ws"};
  std::vector<std::string> webhook_requests;
  webhook_requests.reserve(static_cast<size_t>(events));
  for (long i = 0; i < events; ++i) webhook_requests.push_back(sb::bench::slack_event_request(spec, i));
  sb::bench::OpenLoopOptions ol;
  ol.port = static_cast<uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
  ol.rate_per_s = 1e9;  // everything due at once: as fast as 64 connections go
  ol.connections = 64;
  ol.drain_timeout = 60s;
  const pid_t broker = node.process()->pid();
  const double cpu_w0 = cpu_ms(broker);
  auto webhook = sb::bench::run_open_loop(ol, webhook_requests);
  const double cpu_webhook = (cpu_ms(broker) - cpu_w0) * 1000.0 / static_cast<double>(events);  // us/event
  if (!webhook.error.empty() || webhook.answered_2xx != static_cast<uint64_t>(events)) {
    std::fprintf(stderr, "webhook phase: %s (%llu of %ld answered 2xx)\n", webhook.error.c_str(),
                 static_cast<unsigned long long>(webhook.answered_2xx), events);
    return 1;
  }
  const double webhook_rate = static_cast<double>(events) / webhook.elapsed_s;

  const std::string discord_where =
      "channel = 'discord' AND bot = 'gw' AND chat_jid = 'dc:" + std::string(kDiscordBulk) + "'";
  const long discord_before = rows(node, discord_where);
  const double cpu_d0 = cpu_ms(broker);
  const auto d0 = Clock::now();
  for (long i = 0; i < events; ++i)
    discord.dispatch_message(std::to_string(720000000000000000LL + i), kDiscordBulk, "bulk " + std::to_string(i));
  const auto d_pushed = Clock::now();
  auto d1 = wait_count([&] { return rows(node, discord_where) - discord_before; }, events, 120s);
  if (!d1) {
    std::fprintf(stderr, "gateway phase: %ld of %ld rows after 120 s\n", rows(node, discord_where) - discord_before,
                 events);
    return 1;
  }
  const double gateway_rate = static_cast<double>(events) / std::chrono::duration<double>(*d1 - d0).count();
  const double cpu_gateway = (cpu_ms(broker) - cpu_d0) * 1000.0 / static_cast<double>(events);

  const std::string socket_where =
      "channel = 'slack' AND bot = 'sock' AND chat_jid = 'slack:" + std::string(kSocketBulk) + "'";
  const double cpu_s0 = cpu_ms(broker);
  const auto s0 = Clock::now();
  for (long i = 0; i < events; ++i) slack.push_message(kSocketBulk, "U0BENCH02", "bulk " + std::to_string(i));
  const auto s_pushed = Clock::now();
  auto s1 = wait_count([&] { return rows(node, socket_where); }, events, 120s);
  if (!s1) {
    std::fprintf(stderr, "socket mode phase: %ld of %ld rows after 120 s\n", rows(node, socket_where), events);
    return 1;
  }
  const double socket_rate = static_cast<double>(events) / std::chrono::duration<double>(*s1 - s0).count();
  if (!slack.wait_for([&] { return slack.unacked() == 0; }, 30s))
    std::fprintf(stderr, "socket mode: %zu envelopes still unacknowledged\n", slack.unacked());
  const double cpu_socket = (cpu_ms(broker) - cpu_s0) * 1000.0 / static_cast<double>(events);

  std::printf("webhook (Slack Events API)   %9.0f events/s   (reference)\n", webhook_rate);
  std::printf(
      "Discord Gateway              %9.0f events/s   ratio %.2fx the webhook path (target >= 1); "
      "the fake sent them in %.0f ms\n",
      gateway_rate, gateway_rate / webhook_rate, ms(d_pushed - d0));
  std::printf(
      "Slack Socket Mode            %9.0f events/s   ratio %.2fx the webhook path (target >= 1); "
      "the fake sent them in %.0f ms\n",
      socket_rate, socket_rate / webhook_rate, ms(s_pushed - s0));

  std::printf(
      "broker CPU per event (user + system, fakes excluded): webhook %.1f us, Discord Gateway %.1f us "
      "(%.2fx), Slack Socket Mode %.1f us (%.2fx)\n",
      cpu_webhook, cpu_gateway, cpu_gateway / cpu_webhook, cpu_socket, cpu_socket / cpu_webhook);

  // --- 2. event -> reply through a warm container -------------------------------------
  // Warm-up: the first message starts the container.
  auto first = node.post(e2e::slack_message("main", "D0BENCH", "U0BENCH01", "warm up", true));
  if (!first || first->status != 200 || !platform.wait_total(1, 120s)) {
    std::fprintf(stderr, "warm-up failed: no reply\n%s\n", node.log().c_str());
    return 1;
  }
  std::vector<double> webhook_latency, gateway_latency, socket_latency;
  long next_id = 730000000000000000LL;
  for (int i = 0; i < requests; ++i) {
    const size_t before = platform.reply_count();
    const auto t0 = Clock::now();
    auto r = node.post(e2e::slack_message("main", "D0BENCH", "U0BENCH01", "ping " + std::to_string(i), true));
    if (!r || r->status != 200 || !platform.wait_total(before + 1, 30s)) {
      std::fprintf(stderr, "webhook request %d: no reply\n", i);
      return 1;
    }
    webhook_latency.push_back(ms(platform.replies()[before].at - t0));

    const size_t dc_before = discord.reply_count();
    const auto t1 = Clock::now();
    discord.dispatch_message(std::to_string(++next_id), kDiscordDm, "ping " + std::to_string(i));
    if (!discord.wait_for([&] { return discord.reply_count() > dc_before; }, 30s)) {
      std::fprintf(stderr, "gateway request %d: no reply\n", i);
      return 1;
    }
    gateway_latency.push_back(ms(discord.replies()[dc_before].at - t1));

    const size_t sock_before = slack.reply_count();
    const auto t2 = Clock::now();
    slack.push_message(kSocketDm, "U0BENCH02", "ping " + std::to_string(i));
    if (!slack.wait_for([&] { return slack.reply_count() > sock_before; }, 30s)) {
      std::fprintf(stderr, "socket mode request %d: no reply\n", i);
      return 1;
    }
    socket_latency.push_back(ms(slack.replies()[sock_before].at - t2));
  }
  std::printf("\n== event -> reply at the fake REST API (warm echo container, %d requests each)\n", requests);
  print_latency("webhook (Slack)", webhook_latency);
  print_latency("Discord Gateway", gateway_latency);
  print_latency("Slack Socket Mode", socket_latency);
  std::printf("Slack: %zu sockets opened, %zu envelopes redelivered\n", slack.sockets_accepted(), slack.redeliveries());

  auto code = node.stop();
  if (code != 0) std::fprintf(stderr, "serve exit code %d\n", code ? *code : -1);
  return 0;
}
