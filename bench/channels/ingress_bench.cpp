// Webhook ingress, side by side in one run (issue 5, "Benchmarks"):
//  1. nginx serving a small static file, under wrk -t2 -c64 (the reference);
//  2. the real `squadbox serve` (the binary next to this one) with one Slack bot, under
//     wrk -t2 -c64 replaying pre-generated, validly signed `event_callback` messages with
//     unique event_ids; every 200 must mean "committed to SQLite", so afterwards the rows
//     in inbound_messages are compared with the 200s wrk counted;
//  3. the same listener under an open-loop load at a fixed rate (default 5k req/s,
//     latency from each request's scheduled send time): p50/p90/p99/max ack latency.
// Prints the figures and PASS/MISS against the targets (>= 20k req/s, >= 0.5x nginx,
// p99 <= 10 ms). Never exits non-zero because of a time; exits 1 when something did not
// work (a server did not start, wrong answers, rows missing).
//
//   bench_ingress [--smoke] [--duration S] [--rate R] [--connections N] [--keep]
//                 [--squadbox PATH]   (default: the squadbox binary next to this one)
//                 [--benchmark_* flags are accepted and ignored]
// --smoke: 2 s per phase; without wrk or nginx on PATH (or /usr/sbin) it skips (exit 0).
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/channels/open_loop.hpp"
#include "bench/channels/slack_requests.hpp"
#include "bench/channels/wrk_script.hpp"
#include "runtime/core/secret.hpp"
#include "storage/vault_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using sb::test::ChildProcess;

constexpr double kTargetRate = 20000;
constexpr double kTargetRatio = 0.5;
constexpr double kTargetP99Ms = 10;
constexpr const char* kBot = "bench";
constexpr const char* kSecretName = "slack-bench-signing";

struct Options {
  bool smoke = false;
  bool keep = false;  // keep the temp dir (logs, database) and print its path
  int duration_s = 10;
  double rate = 5000;
  int connections = 64;
  std::string squadbox;  // empty: the squadbox binary next to this one
  // 4. the soak (issue 14): open loop at soak_rate for soak_s seconds, the broker's RSS
  // and open descriptors sampled every chunk. 0 = skipped (the smoke run does 10 s).
  int soak_s = 0;
  double soak_rate = 5000;
};

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (a == "--smoke") {
      o.smoke = true;
      o.duration_s = 2;
      if (o.soak_s == 0) o.soak_s = 10;
      o.soak_rate = 2000;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--squadbox") {
      auto v = value();
      if (!v) return std::nullopt;
      o.squadbox = *v;
    } else if (a == "--soak" || a == "--soak-rate") {
      auto v = value();
      if (!v) return std::nullopt;
      const double d = std::atof(v->c_str());
      if (d <= 0) return std::nullopt;
      if (a == "--soak") o.soak_s = static_cast<int>(d);
      if (a == "--soak-rate") o.soak_rate = d;
    } else if (a == "--duration" || a == "--rate" || a == "--connections") {
      auto v = value();
      if (!v) return std::nullopt;
      const double d = std::atof(v->c_str());
      if (d <= 0) return std::nullopt;
      if (a == "--duration") o.duration_s = static_cast<int>(d);
      if (a == "--rate") o.rate = d;
      if (a == "--connections") o.connections = static_cast<int>(d);
    } else if (!a.starts_with("--benchmark_")) {
      return std::nullopt;
    }
  }
  return o;
}

std::optional<std::string> find_tool(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/local/sbin:/sbin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    if (colon == std::string::npos) colon = path.size();
    const std::string candidate = path.substr(start, colon - start) + "/" + name;
    if (colon > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  return std::nullopt;
}

// A loopback port that was free a moment ago (nginx takes its port from the config).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool port_answers(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Stops a child with SIGTERM (nginx: fast shutdown; squadbox: orderly) and reaps it.
std::optional<int> stop(ChildProcess& p) {
  p.signal(SIGTERM);
  return p.wait(30s);
}

std::optional<sb::bench::WrkReport> run_wrk(const std::string& wrk, const std::string& dir, const std::string& tag,
                                            const std::string& script, const std::string& url, int duration_s) {
  const std::string script_path = dir + "/" + tag + ".lua";
  write_file(script_path, script);
  ChildProcess p(
      wrk, {"-t2", "-c64", fmt::format("-d{}s", duration_s), "--timeout", "10s", "--latency", "-s", script_path, url},
      {}, dir + "/" + tag);
  auto code = p.wait(std::chrono::seconds(duration_s + 120));
  const std::string out = p.stdout_text();
  std::printf("%s", out.c_str());
  if (!code || *code != 0) {
    std::printf("wrk (%s) failed: exit %d\n%s\n", tag.c_str(), code ? *code : -1, p.stderr_text().c_str());
    return std::nullopt;
  }
  auto report = sb::bench::parse_wrk_report(out);
  if (!report) std::printf("wrk (%s): no SBWRK line in its output\n", tag.c_str());
  return report;
}

// ---- nginx ---------------------------------------------------------------------------

struct NginxRun {
  std::optional<sb::bench::WrkReport> report;
};

std::string nginx_conf(const std::string& dir, uint16_t port) {
  // One master and worker_processes auto (= 2 on this machine: the same two cores the
  // webhook listener's 2 I/O threads get), no access log; keep-alive as by default.
  return fmt::format(R"(daemon off;
master_process on;
worker_processes auto;
{user}
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/nginx-tmp;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    location / {{ }}
  }}
}}
)",
                     fmt::arg("dir", dir), fmt::arg("port", port),
                     fmt::arg("user", ::geteuid() == 0 ? "user root;" : ""));
}

std::optional<sb::bench::WrkReport> bench_nginx(const std::string& nginx, const std::string& wrk,
                                                const std::string& dir, int duration_s) {
  fs::create_directories(dir + "/www");
  fs::create_directories(dir + "/nginx-tmp");
  write_file(dir + "/www/ack.json", "{\"ok\":true}");
  const uint16_t port = free_port();
  write_file(dir + "/nginx.conf", nginx_conf(dir, port));
  ChildProcess server(nginx, {"-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/nginx-error.log"}, {},
                      dir + "/nginx");
  if (!sb::test::wait_until([&] { return port_answers(port); }, 15s)) {
    std::printf("nginx did not start:\n%s%s\n", server.stderr_text().c_str(),
                sb::test::read_file(dir + "/nginx-error.log").c_str());
    return std::nullopt;
  }
  std::printf("\n== nginx 1 master + worker_processes auto, static 11-byte file, wrk -t2 -c64 -d%ds\n", duration_s);
  auto report = run_wrk(wrk, dir, "wrk-nginx", sb::bench::wrk_lua_script(""),
                        fmt::format("http://127.0.0.1:{}/ack.json", port), duration_s);
  stop(server);
  return report;
}

// ---- squadbox ------------------------------------------------------------------------

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", rd() & 0xff);
  return out;
}

// Rows of our bot in inbound_messages, read through a separate read-only connection
// (WAL: it sees what the node committed); -1 on error.
int64_t count_rows(const std::string& db_path) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM inbound_messages WHERE bot = ?1", -1, &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, kBot, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

// The count once it stopped moving (requests still in flight when a client stops may
// commit a moment later).
int64_t settled_rows(const std::string& db_path) {
  int64_t last = count_rows(db_path);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(100ms);  // poll interval
    const int64_t now = count_rows(db_path);
    if (now == last) return now;
    last = now;
  }
  return last;
}

struct Node {
  std::string data_dir, db_path, url_host;
  uint16_t port = 0;
  std::unique_ptr<ChildProcess> process;
};

// Data dir, vault with the signing secret, config; then `squadbox serve` until
// DATA_DIR/webhooks.url appears and the port answers.
std::optional<Node> start_node(const std::string& exe, const std::string& dir, const std::string& signing_secret) {
  Node n;
  n.data_dir = dir + "/node";
  n.db_path = n.data_dir + "/squadbox.db";
  fs::create_directories(n.data_dir);
  const std::string vault_key = random_hex(32);
  {
    sb::storage::VaultOptions vo;
    vo.db_path = n.db_path;
    vo.env_key = sb::Secret(vault_key);
    auto vault = sb::storage::Vault::open(vo);
    if (!vault) {
      std::printf("vault: %s\n", vault.error().message.c_str());
      return std::nullopt;
    }
    if (auto set = (*vault)->set(kSecretName, sb::Secret(signing_secret)); !set) {
      std::printf("vault set: %s\n", set.error().message.c_str());
      return std::nullopt;
    }
  }
  // Storage, webhooks and log level as shipped (synchronous = full, group commit), except
  // the ports (0: any free one) and the listener on loopback.
  const std::string config = dir + "/squadbox.toml";
  write_file(config, fmt::format(R"([node]
data_dir = "{}"

[admin]
port = 0

[webhooks]
address = "127.0.0.1"
port = 0

[channels.slack.{}]
signing_secret = "{}"
)",
                                 n.data_dir, kBot, kSecretName));
  n.process = std::make_unique<ChildProcess>(exe, std::vector<std::string>{"serve", "--config", config},
                                             std::map<std::string, std::string>{{"SQUADBOX_VAULT_KEY", vault_key}},
                                             dir + "/serve");
  const std::string url_file = n.data_dir + "/webhooks.url";
  if (!sb::test::wait_until([&] { return fs::exists(url_file) || n.process->wait(0ms).has_value(); }, 60s) ||
      !fs::exists(url_file)) {
    std::printf("squadbox serve wrote no %s:\n%s\n", url_file.c_str(), n.process->stderr_text().c_str());
    return std::nullopt;
  }
  std::string url;
  std::ifstream(url_file) >> url;  // http://127.0.0.1:PORT
  const size_t colon = url.rfind(':');
  if (!url.starts_with("http://") || colon == std::string::npos) {
    std::printf("unexpected webhooks.url: %s\n", url.c_str());
    return std::nullopt;
  }
  n.port = static_cast<uint16_t>(std::atoi(url.c_str() + colon + 1));
  n.url_host = url.substr(7);
  if (n.port == 0 || !sb::test::wait_until([&] { return port_answers(n.port); }, 15s)) {
    std::printf("webhook listener at %s does not answer\n", url.c_str());
    return std::nullopt;
  }
  return n;
}

// Raw requests for one wrk thread: NUL-separated.
void write_requests(const std::string& path, const sb::bench::SlackRequestSpec& spec, uint64_t first, uint64_t count) {
  std::ofstream out(path, std::ios::binary);
  for (uint64_t i = first; i < first + count; ++i) {
    out << sb::bench::slack_event_request(spec, i);
    out.put('\0');
  }
}

const char* verdict(bool ok) {
  return ok ? "PASS" : "MISS";
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_args(argc, argv);
  if (!options) {
    std::fprintf(
        stderr,
        "usage: bench_ingress [--smoke] [--duration S] [--rate R] [--connections N] [--soak S] [--soak-rate R] "
        "[--keep] [--squadbox PATH]\n");
    return 2;
  }
  const Options& o = *options;
  const auto wrk = find_tool("wrk");
  const auto nginx = find_tool("nginx");
  if (!wrk || !nginx) {
    std::printf("bench_ingress: skipped: %s not installed (deploy/install-deps.sh installs wrk and nginx-light)\n",
                !wrk ? "wrk" : "nginx");
    return 0;
  }
  ::signal(SIGPIPE, SIG_IGN);
  sb::test::TempDir tmp("squadbox-bench-ingress");
  const std::string& dir = tmp.path();
  ::chmod(dir.c_str(), 0755);  // nginx workers read www/ from here
  bool broken = false;

  // 1. nginx
  auto ng = bench_nginx(*nginx, *wrk, dir, o.duration_s);
  if (!ng) broken = true;

  // 2. squadbox under wrk
  const std::string signing_secret = random_hex(16);
  const std::string squadbox = o.squadbox.empty() ? sb::test::bin_dir() + "/squadbox" : o.squadbox;
  std::printf("\nsquadbox binary: %s\n", squadbox.c_str());
  auto node = start_node(squadbox, dir, signing_secret);
  if (!node) return 1;
  sb::bench::SlackRequestSpec spec{
      node->url_host, std::string("/webhooks/slack/") + kBot, signing_secret,
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
      "w"};
  // Fresh requests for up to 25k req/s per wrk thread; more would wrap (reported).
  const uint64_t per_thread = static_cast<uint64_t>(o.duration_s) * 25000 + 5000;
  write_requests(dir + "/req-1.bin", spec, 0, per_thread);
  write_requests(dir + "/req-2.bin", spec, per_thread, per_thread);
  std::printf(
      "\n== squadbox serve, Slack event_callback (signed, unique event_ids, %llu per wrk thread), "
      "wrk -t2 -c64 -d%ds\n",
      static_cast<unsigned long long>(per_thread), o.duration_s);
  auto sq = run_wrk(*wrk, dir, "wrk-squadbox", sb::bench::wrk_lua_script(dir + "/req-"),
                    fmt::format("http://{}/webhooks/slack/{}", node->url_host, kBot), o.duration_s);
  fs::remove(dir + "/req-1.bin");
  fs::remove(dir + "/req-2.bin");
  const int64_t rows_after_wrk = settled_rows(node->db_path);
  bool durable_ok = false;
  if (sq) {
    const uint64_t ok = sq->requests - sq->non2xx;
    // wrk counts only answers it read before its deadline: up to 64 requests in flight
    // then may be committed without being counted. A 200 without a row is the failure.
    durable_ok = sq->non2xx == 0 && sq->wrapped == 0 && rows_after_wrk >= static_cast<int64_t>(ok) &&
                 rows_after_wrk <= static_cast<int64_t>(ok) + 64 && sq->socket_errors() == 0;
    std::printf(
        "wrk 200s: %llu   rows in inbound_messages: %lld   (difference %lld: requests in flight when wrk "
        "stopped)   non-2xx: %llu   socket errors: %llu   wrapped: %llu   -> %s\n",
        static_cast<unsigned long long>(ok), static_cast<long long>(rows_after_wrk),
        static_cast<long long>(rows_after_wrk) - static_cast<long long>(ok),
        static_cast<unsigned long long>(sq->non2xx), static_cast<unsigned long long>(sq->socket_errors()),
        static_cast<unsigned long long>(sq->wrapped), durable_ok ? "consistent" : "INCONSISTENT");
  }
  if (!sq || !durable_ok) broken = true;

  // 3. open loop at a fixed rate against the same listener
  spec.id_prefix.assign(1, 'o');  // not = "o": GCC 12 -O3 warns (-Wrestrict false positive)
  spec.timestamp =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::string> requests;
  const auto count = static_cast<uint64_t>(o.rate * o.duration_s);
  requests.reserve(count);
  for (uint64_t i = 0; i < count; ++i) requests.push_back(sb::bench::slack_event_request(spec, i));
  sb::bench::OpenLoopOptions ol;
  ol.port = node->port;
  ol.rate_per_s = o.rate;
  ol.connections = o.connections;
  std::printf("\n== squadbox serve, open loop: %.0f req/s for %d s over %d keep-alive connections\n", o.rate,
              o.duration_s, o.connections);
  auto res = sb::bench::run_open_loop(ol, requests);
  const int64_t rows_after_ol = settled_rows(node->db_path);
  const auto lat = sb::bench::summarize(res.latency_ns);
  bool ol_ok = res.error.empty() && res.answered_other == 0 && res.failed == 0 &&
               rows_after_ol - rows_after_wrk == static_cast<int64_t>(res.answered_2xx);
  if (!res.error.empty()) std::printf("open loop: %s\n", res.error.c_str());
  std::printf("sent %llu, 2xx %llu, other %llu, failed %llu, reconnects %llu, max backlog %llu, achieved %.0f req/s\n",
              static_cast<unsigned long long>(res.scheduled), static_cast<unsigned long long>(res.answered_2xx),
              static_cast<unsigned long long>(res.answered_other), static_cast<unsigned long long>(res.failed),
              static_cast<unsigned long long>(res.reconnects), static_cast<unsigned long long>(res.max_backlog),
              res.elapsed_s > 0 ? static_cast<double>(res.answered_2xx) / res.elapsed_s : 0.0);
  std::printf("ack latency from scheduled send: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
              lat.p50_ms, lat.p90_ms, lat.p99_ms, lat.p999_ms, lat.max_ms);
  std::printf("new rows: %lld (2xx: %llu) -> %s\n", static_cast<long long>(rows_after_ol - rows_after_wrk),
              static_cast<unsigned long long>(res.answered_2xx), ol_ok ? "consistent" : "INCONSISTENT");
  if (!ol_ok) broken = true;

  // 4. the soak: the same open loop in chunks, the broker sampled between them.
  if (o.soak_s > 0) {
    const pid_t pid = node->process->pid();
    auto sample = [pid] {
      std::pair<double, size_t> out{0, 0};
      std::ifstream status("/proc/" + std::to_string(pid) + "/status");
      for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) out.first = std::atof(line.c_str() + 6) / 1024.0;  // kB -> MiB
      std::error_code ec;
      for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec))
        ++out.second;
      return out;
    };
    constexpr int kChunk = 5;
    const int chunks = std::max(1, o.soak_s / kChunk);
    std::printf("\n== soak: %.0f req/s for %d s (%d chunks of %d s), RSS and open fds of serve after each\n",
                o.soak_rate, chunks * kChunk, chunks, kChunk);
    std::vector<int64_t> all_latency;
    std::vector<std::pair<double, size_t>> samples;
    uint64_t sent = 0, ok = 0, bad = 0;
    for (int c = 0; c < chunks; ++c) {
      spec.id_prefix = "s" + std::to_string(c) + "-";
      spec.timestamp =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      std::vector<std::string> chunk_requests;
      const auto n = static_cast<uint64_t>(o.soak_rate * kChunk);
      chunk_requests.reserve(n);
      for (uint64_t i = 0; i < n; ++i) chunk_requests.push_back(sb::bench::slack_event_request(spec, i));
      sb::bench::OpenLoopOptions sol = ol;
      sol.rate_per_s = o.soak_rate;
      auto r = sb::bench::run_open_loop(sol, chunk_requests);
      const auto l = sb::bench::summarize(r.latency_ns);
      sent += r.scheduled;
      ok += r.answered_2xx;
      bad += r.answered_other + r.failed;
      all_latency.insert(all_latency.end(), r.latency_ns.begin(), r.latency_ns.end());
      samples.push_back(sample());
      std::printf("  t=%4d s  achieved %6.0f req/s  p99 %8.3f ms  non-2xx/failed %llu  rss %7.1f MiB  fds %zu\n",
                  (c + 1) * kChunk, r.elapsed_s > 0 ? static_cast<double>(r.answered_2xx) / r.elapsed_s : 0.0, l.p99_ms,
                  static_cast<unsigned long long>(r.answered_other + r.failed), samples.back().first,
                  samples.back().second);
    }
    const auto lat_all = sb::bench::summarize(all_latency);
    // Growth after warm-up: the highest sample of the last fifth against the highest of the
    // second fifth (the open connections of a chunk may or may not be closed yet at a
    // sample, so single samples alternate; their maxima do not).
    const size_t fifth = std::max<size_t>(1, samples.size() / 5);
    auto peak = [&](size_t from, size_t to) {
      std::pair<double, size_t> m{0, 0};
      for (size_t i = std::min(from, samples.size() - 1); i < std::min(to, samples.size()); ++i) {
        m.first = std::max(m.first, samples[i].first);
        m.second = std::max(m.second, samples[i].second);
      }
      return m;
    };
    const auto warm = peak(fifth, 2 * fifth);
    const auto last = peak(samples.size() - fifth, samples.size());
    const double rss_growth = warm.first > 0 ? (last.first - warm.first) / warm.first * 100.0 : 0.0;
    std::printf("soak: sent %llu, 2xx %llu, other/failed %llu; ack p50 %.3f ms p99 %.3f ms p99.9 %.3f ms max %.3f ms\n",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(ok),
                static_cast<unsigned long long>(bad), lat_all.p50_ms, lat_all.p99_ms, lat_all.p999_ms, lat_all.max_ms);
    std::printf("soak: peak after warm-up vs at the end: rss %.1f -> %.1f MiB (%+.1f%%), fds %zu -> %zu  %s\n",
                warm.first, last.first, rss_growth, warm.second, last.second,
                rss_growth <= 10.0 && last.second <= warm.second + 16 ? "no growth" : "GROWTH");
  }

  const auto code = stop(*node->process);
  if (!code || *code != 0) {
    std::printf("squadbox serve exited with %d\n%s\n", code ? *code : -1, node->process->stderr_text().c_str());
    broken = true;
  }

  // 4. summary
  const double ng_rate = ng ? ng->rate() : 0;
  const double sq_rate = sq ? sq->rate() : 0;
  const double ratio = ng_rate > 0 ? sq_rate / ng_rate : 0;
  std::printf("\n== summary%s\n", o.smoke ? " (smoke: figures from a 2 s run mean little)" : "");
  std::printf("nginx static file:        %10.0f req/s\n", ng_rate);
  std::printf("squadbox durable ingress: %10.0f req/s   %s (target >= %.0f)\n", sq_rate,
              verdict(sq_rate >= kTargetRate), kTargetRate);
  std::printf("ratio squadbox/nginx:     %10.2f x       %s (target >= %.1fx)\n", ratio, verdict(ratio >= kTargetRatio),
              kTargetRatio);
  std::printf("p99 ack at %.0f req/s:     %10.3f ms      %s (target <= %.0f ms)\n", o.rate, lat.p99_ms,
              verdict(!res.latency_ns.empty() && lat.p99_ms <= kTargetP99Ms), kTargetP99Ms);
  std::printf("durability check (rows == 200s): %s\n", broken ? "FAILED (see above)" : "ok");
  if (o.keep) {
    std::printf("kept: %s\n", dir.c_str());
    // Leak the temp dir on purpose: TempDir's destructor would remove it.
    std::string keep = dir + "-kept";
    fs::rename(dir, keep);
    std::printf("moved to %s\n", keep.c_str());
  }
  return broken ? 1 : 0;
}
