// Webhook ingress, side by side in one run (issue 5, "Benchmarks"):
//  1. nginx serving a small static file, under wrk -t2 -c64 (the reference);
//  2. the real `squadbox serve` (the binary next to this one) with one Slack bot on SQLite
//     (as shipped), under wrk -t2 -c64 replaying pre-generated, validly signed
//     `event_callback` messages with unique event_ids; every 200 must mean "committed",
//     so afterwards the rows in inbound_messages are compared with the 200s wrk counted;
//  3. the same listener under an open-loop load at a fixed rate (default 5k req/s,
//     latency from each request's scheduled send time): p50/p90/p99/max ack latency;
//     then the open loop at the comparison rate (default 2k req/s, see 5.);
//  4. the soak (--soak S; the smoke run does 4 s): RSS and open fds of serve;
//  5. a second node with storage.backend = "postgres" on a throwaway PostgreSQL 15 server
//     on loopback (deploy/postgres.sh through bench/support/pg_server.hpp; a schema of
//     its own; synchronous_commit = on): the same wrk phase and the open loop at the
//     comparison rate. Rows are counted through storage::Database on both engines.
//     Without the server binaries (/usr/lib/postgresql/15/bin) it is skipped, saying so.
// Prints the figures and PASS/MISS against the targets (SQLite: >= 20k req/s, >= 0.5x
// nginx, p99 <= 10 ms at 5k/s; PostgreSQL: >= 10k req/s, >= 0.5x SQLite, p99 <= 20 ms at
// 2k/s). Never exits non-zero because of a time; exits 1 when something did not work (a
// server did not start, wrong answers, rows missing).
//
//   bench_ingress [--smoke] [--duration S] [--rate R] [--connections N]
//                 [--compare-rate R] [--soak S] [--soak-rate R] [--no-postgres] [--keep]
//                 [--squadbox PATH]   (default: the squadbox binary next to this one)
//                 [--benchmark_* flags are accepted and ignored]
// --smoke: 2 s per phase, 1 s for the open loops at the comparison rate; without wrk or
// nginx on PATH (or /usr/sbin) it skips (exit 0).
#include <netinet/in.h>
#include <signal.h>
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
#include "bench/support/pg_server.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/secret.hpp"
#include "storage/sqlite.hpp"
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
// PostgreSQL (the issue's storage targets): durable ingress, its share of SQLite's in the
// same run, p99 ack at the comparison rate.
constexpr double kPgTargetRate = 10000;
constexpr double kPgTargetRatio = 0.5;
constexpr double kPgTargetP99Ms = 20;
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
  // and open descriptors sampled every chunk. 0 = skipped (the smoke run does 4 s).
  int soak_s = 0;
  double soak_rate = 5000;
  // 5. the PostgreSQL node; the open loop at compare_rate runs on both engines.
  bool postgres = true;
  double compare_rate = 2000;
  double compare_s = 10;  // = --duration, 1 in the smoke run
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
      o.compare_s = 1;
      if (o.soak_s == 0) o.soak_s = 4;
      o.soak_rate = 2000;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--no-postgres") {
      o.postgres = false;
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
    } else if (a == "--duration" || a == "--rate" || a == "--connections" || a == "--compare-rate") {
      auto v = value();
      if (!v) return std::nullopt;
      const double d = std::atof(v->c_str());
      if (d <= 0) return std::nullopt;
      if (a == "--duration") o.duration_s = static_cast<int>(d);
      if (a == "--rate") o.rate = d;
      if (a == "--compare-rate") o.compare_rate = d;
      if (a == "--connections") o.connections = static_cast<int>(d);
    } else if (!a.starts_with("--benchmark_")) {
      return std::nullopt;
    }
  }
  if (!o.smoke) o.compare_s = o.duration_s;
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

const char* verdict(bool ok) {
  return ok ? "PASS" : "MISS";
}

// Rows of our bot in inbound_messages, read through a connection of its own through the
// engine-neutral storage API: `target` is the SQLite file (WAL: a read-only connection
// sees what the node committed) or a postgres_locator(); -1 on error.
int64_t count_rows(const std::string& target) {
  sb::storage::OpenOptions oo;
  oo.read_only = true;
  auto db = sb::storage::Database::open(target, oo);
  if (!db) return -1;
  auto st = db->prepare("SELECT count(*) FROM inbound_messages WHERE bot = ?1");
  if (!st || !st->bind(1, std::string_view(kBot))) return -1;
  auto row = st->step();
  return row && *row ? st->column_int64(0) : -1;
}

// The count once it stopped moving (requests still in flight when a client stops may
// commit a moment later).
int64_t settled_rows(const std::string& target) {
  int64_t last = count_rows(target);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(100ms);  // poll interval
    const int64_t now = count_rows(target);
    if (now == last) return now;
    last = now;
  }
  return last;
}

struct Node {
  std::string label;  // "SQLite", "PostgreSQL"
  std::string data_dir, db_target, url_host;
  uint16_t port = 0;
  std::unique_ptr<ChildProcess> process;
};

// Data dir, vault with the signing secret (in the node's database: the SQLite file or
// the PostgreSQL schema; Vault::open migrates it), config; then `squadbox serve` until
// DATA_DIR/webhooks.url appears and the port answers. `storage_toml` is the config's
// [storage] section (empty: as shipped, SQLite in the data dir).
std::optional<Node> start_node(const std::string& exe, const std::string& dir, const std::string& label,
                               const std::string& signing_secret, const std::string& storage_toml,
                               const std::string& db_target) {
  Node n;
  n.label = label;
  n.data_dir = dir + "/node";
  n.db_target = db_target.empty() ? n.data_dir + "/squadbox.db" : db_target;
  fs::create_directories(n.data_dir);
  const std::string vault_key = random_hex(32);
  {
    sb::storage::VaultOptions vo;
    vo.db_path = n.db_target;
    vo.env_key = sb::Secret(vault_key);
    auto vault = sb::storage::Vault::open(vo);
    if (!vault) {
      std::printf("vault (%s): %s\n", label.c_str(), vault.error().message.c_str());
      return std::nullopt;
    }
    if (auto set = (*vault)->set(kSecretName, sb::Secret(signing_secret)); !set) {
      std::printf("vault set (%s): %s\n", label.c_str(), set.error().message.c_str());
      return std::nullopt;
    }
  }
  // Storage, webhooks and log level as shipped (SQLite: synchronous = full; group commit
  // on both engines), except the backend, the ports (0: any free one) and the listener on
  // loopback.
  const std::string config = dir + "/squadbox.toml";
  write_file(config, fmt::format(R"([node]
data_dir = "{}"
{}
[admin]
port = 0

[webhooks]
address = "127.0.0.1"
port = 0

[channels.slack.{}]
signing_secret = "{}"
)",
                                 n.data_dir, storage_toml, kBot, kSecretName));
  n.process = std::make_unique<ChildProcess>(exe, std::vector<std::string>{"serve", "--config", config},
                                             std::map<std::string, std::string>{{"SQUADBOX_VAULT_KEY", vault_key}},
                                             dir + "/serve");
  const std::string url_file = n.data_dir + "/webhooks.url";
  if (!sb::test::wait_until([&] { return fs::exists(url_file) || n.process->wait(0ms).has_value(); }, 60s) ||
      !fs::exists(url_file)) {
    std::printf("squadbox serve (%s) wrote no %s:\n%s\n", label.c_str(), url_file.c_str(),
                n.process->stderr_text().c_str());
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

// Stops the node; false (and its stderr printed) unless it exited 0.
bool stop_node(Node& node) {
  const auto code = stop(*node.process);
  if (code && *code == 0) return true;
  std::printf("squadbox serve (%s) exited with %d\n%s\n", node.label.c_str(), code ? *code : -1,
              node.process->stderr_text().c_str());
  return false;
}

// Raw requests for one wrk thread: NUL-separated.
void write_requests(const std::string& path, const sb::bench::SlackRequestSpec& spec, uint64_t first, uint64_t count) {
  std::ofstream out(path, std::ios::binary);
  for (uint64_t i = first; i < first + count; ++i) {
    out << sb::bench::slack_event_request(spec, i);
    out.put('\0');
  }
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

sb::bench::SlackRequestSpec request_spec(const Node& node, const std::string& signing_secret, char id_prefix) {
  sb::bench::SlackRequestSpec spec{node.url_host, std::string("/webhooks/slack/") + kBot, signing_secret,
                                   unix_seconds(), ""};
  spec.id_prefix.assign(1, id_prefix);  // not = "o": GCC 12 -O3 warns (-Wrestrict false positive)
  return spec;
}

// What one engine's node measured.
struct OpenLoopPhase {
  double rate = 0;
  bool ran = false;
  sb::bench::LatencySummary lat;
};
struct EngineRun {
  std::string label;
  std::optional<sb::bench::WrkReport> wrk;
  OpenLoopPhase at_rate;     // --rate (SQLite only)
  OpenLoopPhase at_compare;  // --compare-rate, on both engines
  bool broken = false;       // a check failed: the exit code is 1
  std::string skipped;       // why the engine was not measured (PostgreSQL not installed)
};

// wrk -t2 -c64 against the node's Slack route, then rows vs 200s. Returns the rows after.
int64_t wrk_phase(const std::string& wrk, const std::string& dir, Node& node, const std::string& signing_secret,
                  int duration_s, EngineRun& run) {
  const auto spec = request_spec(node, signing_secret, 'w');
  // Fresh requests for up to 25k req/s per wrk thread; more would wrap (reported).
  const uint64_t per_thread = static_cast<uint64_t>(duration_s) * 25000 + 5000;
  write_requests(dir + "/req-1.bin", spec, 0, per_thread);
  write_requests(dir + "/req-2.bin", spec, per_thread, per_thread);
  std::printf(
      "\n== squadbox serve on %s, Slack event_callback (signed, unique event_ids, %llu per wrk thread), "
      "wrk -t2 -c64 -d%ds\n",
      node.label.c_str(), static_cast<unsigned long long>(per_thread), duration_s);
  run.wrk = run_wrk(wrk, dir, "wrk-squadbox", sb::bench::wrk_lua_script(dir + "/req-"),
                    fmt::format("http://{}/webhooks/slack/{}", node.url_host, kBot), duration_s);
  fs::remove(dir + "/req-1.bin");
  fs::remove(dir + "/req-2.bin");
  const int64_t rows = settled_rows(node.db_target);
  bool durable_ok = false;
  if (run.wrk) {
    const auto& sq = *run.wrk;
    const uint64_t ok = sq.requests - sq.non2xx;
    // wrk counts only answers it read before its deadline: up to 64 requests in flight
    // then may be committed without being counted. A 200 without a row is the failure.
    durable_ok = sq.non2xx == 0 && sq.wrapped == 0 && rows >= static_cast<int64_t>(ok) &&
                 rows <= static_cast<int64_t>(ok) + 64 && sq.socket_errors() == 0;
    std::printf(
        "wrk 200s: %llu   rows in inbound_messages: %lld   (difference %lld: requests in flight when wrk "
        "stopped)   non-2xx: %llu   socket errors: %llu   wrapped: %llu   -> %s\n",
        static_cast<unsigned long long>(ok), static_cast<long long>(rows),
        static_cast<long long>(rows) - static_cast<long long>(ok), static_cast<unsigned long long>(sq.non2xx),
        static_cast<unsigned long long>(sq.socket_errors()), static_cast<unsigned long long>(sq.wrapped),
        durable_ok ? "consistent" : "INCONSISTENT");
  }
  if (!durable_ok) run.broken = true;
  return rows;
}

// The open loop at a fixed rate against the node's listener, then new rows == 2xx.
// `rows_before` is updated to the rows after.
OpenLoopPhase open_loop_phase(Node& node, const std::string& signing_secret, char id_prefix, double rate,
                              double duration_s, int connections, int64_t& rows_before, EngineRun& run) {
  const auto spec = request_spec(node, signing_secret, id_prefix);
  std::vector<std::string> requests;
  const auto count = static_cast<uint64_t>(rate * duration_s);
  requests.reserve(count);
  for (uint64_t i = 0; i < count; ++i) requests.push_back(sb::bench::slack_event_request(spec, i));
  sb::bench::OpenLoopOptions ol;
  ol.port = node.port;
  ol.rate_per_s = rate;
  ol.connections = connections;
  std::printf("\n== squadbox serve on %s, open loop: %.0f req/s for %g s over %d keep-alive connections\n",
              node.label.c_str(), rate, duration_s, connections);
  auto res = sb::bench::run_open_loop(ol, requests);
  const int64_t rows = settled_rows(node.db_target);
  OpenLoopPhase out;
  out.rate = rate;
  out.ran = !res.latency_ns.empty();
  out.lat = sb::bench::summarize(res.latency_ns);
  // Durable: every 2xx has its row. A request still unanswered at the drain deadline (an
  // overloaded machine) may or may not have been stored, as a platform's timed-out delivery
  // may: it bounds the rows from above, and is no durability fault.
  const int64_t new_rows = rows - rows_before;
  const bool ok = res.error.empty() && res.answered_other == 0 && new_rows >= static_cast<int64_t>(res.answered_2xx) &&
                  new_rows <= static_cast<int64_t>(res.answered_2xx + res.failed);
  if (!res.error.empty()) std::printf("open loop: %s\n", res.error.c_str());
  std::printf("sent %llu, 2xx %llu, other %llu, failed %llu, reconnects %llu, max backlog %llu, achieved %.0f req/s\n",
              static_cast<unsigned long long>(res.scheduled), static_cast<unsigned long long>(res.answered_2xx),
              static_cast<unsigned long long>(res.answered_other), static_cast<unsigned long long>(res.failed),
              static_cast<unsigned long long>(res.reconnects), static_cast<unsigned long long>(res.max_backlog),
              res.elapsed_s > 0 ? static_cast<double>(res.answered_2xx) / res.elapsed_s : 0.0);
  std::printf("ack latency from scheduled send: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
              out.lat.p50_ms, out.lat.p90_ms, out.lat.p99_ms, out.lat.p999_ms, out.lat.max_ms);
  std::printf("new rows: %lld (2xx: %llu) -> %s\n", static_cast<long long>(rows - rows_before),
              static_cast<unsigned long long>(res.answered_2xx), ok ? "consistent" : "INCONSISTENT");
  if (!ok) run.broken = true;
  rows_before = rows;
  return out;
}

// The soak (issue 14): the same open loop in chunks, the broker sampled between them.
void soak_phase(const Options& o, Node& node, const std::string& signing_secret) {
  const pid_t pid = node.process->pid();
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
  std::printf("\n== soak on %s: %.0f req/s for %d s (%d chunks of %d s), RSS and open fds of serve after each\n",
              node.label.c_str(), o.soak_rate, chunks * kChunk, chunks, kChunk);
  auto spec = request_spec(node, signing_secret, 's');
  sb::bench::OpenLoopOptions sol;
  sol.port = node.port;
  sol.rate_per_s = o.soak_rate;
  sol.connections = o.connections;
  std::vector<int64_t> all_latency;
  std::vector<std::pair<double, size_t>> samples;
  uint64_t sent = 0, ok = 0, bad = 0;
  for (int c = 0; c < chunks; ++c) {
    spec.id_prefix = fmt::format("s{}-", c);
    spec.timestamp = unix_seconds();
    std::vector<std::string> chunk_requests;
    const auto n = static_cast<uint64_t>(o.soak_rate * kChunk);
    chunk_requests.reserve(n);
    for (uint64_t i = 0; i < n; ++i) chunk_requests.push_back(sb::bench::slack_event_request(spec, i));
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

// The PostgreSQL node: a throwaway server (bench/support/pg_server.hpp), a schema of its
// own, the same wrk phase and the open loop at the comparison rate.
EngineRun postgres_run(const Options& o, const std::string& wrk, const std::string& squadbox, const std::string& dir,
                       const std::string& signing_secret) {
  EngineRun run;
  run.label = "PostgreSQL";
  std::printf("\n== squadbox serve on PostgreSQL (storage.backend = \"postgres\")\n");
  const auto started = std::chrono::steady_clock::now();
  sb::bench::PgServer pg;
  if (!pg.skip_reason().empty()) {
    run.skipped = pg.skip_reason();
    std::printf("bench_ingress: PostgreSQL part skipped: %s\n", run.skipped.c_str());
    return run;
  }
  if (!pg.ready()) {
    std::printf("PostgreSQL server did not start: %s\n", pg.error().c_str());
    run.broken = true;
    return run;
  }
  const std::string schema = fmt::format("ingress_bench_{}", ::getpid());
  std::printf("server: %s, %s (ready in %.1f s), schema %s\n",
              pg.dir().empty() ? "SQUADBOX_PG_CONNINFO"
                               : "throwaway PostgreSQL 15 on loopback (deploy/postgres.sh: fsync and "
                                 "synchronous_commit on)",
              pg.conninfo().c_str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
              schema.c_str());
  const std::string locator = sb::storage::postgres_locator(pg.conninfo(), schema);
  const std::string node_dir = dir + "/postgres";
  fs::create_directories(node_dir);
  const std::string storage_toml = fmt::format(R"(
[storage]
backend = "postgres"
postgres_url = "{}"
postgres_schema = "{}"
)",
                                               pg.conninfo(), schema);
  auto node = start_node(squadbox, node_dir, run.label, signing_secret, storage_toml, locator);
  if (node) {
    int64_t rows = wrk_phase(wrk, node_dir, *node, signing_secret, o.duration_s, run);
    run.at_compare = open_loop_phase(*node, signing_secret, 'c', o.compare_rate, o.compare_s, o.connections, rows, run);
    if (!stop_node(*node)) run.broken = true;
  } else {
    run.broken = true;
  }
  // Matters with SQUADBOX_PG_CONNINFO's server; a throwaway one goes as a whole.
  if (auto db = sb::storage::Database::open(locator); db) (void)db->exec("DROP SCHEMA " + schema + " CASCADE");
  return run;
}

std::string figure(bool ran, double value, const char* unit) {
  return ran ? fmt::format("{:.{}f} {}", value, value >= 100 ? 0 : 3, unit) : "-";
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_args(argc, argv);
  if (!options) {
    std::fprintf(stderr,
                 "usage: bench_ingress [--smoke] [--duration S] [--rate R] [--connections N] [--compare-rate R] "
                 "[--soak S] [--soak-rate R] [--no-postgres] [--keep] [--squadbox PATH]\n");
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
  // Log lines of the vault's migration would interleave with the figures.
  sb::log::configure(sb::log::Level::warn, sb::log::Format::logfmt);
  sb::test::TempDir tmp("squadbox-bench-ingress");
  const std::string& dir = tmp.path();
  ::chmod(dir.c_str(), 0755);  // nginx workers read www/ from here
  bool broken = false;

  // 1. nginx
  auto ng = bench_nginx(*nginx, *wrk, dir, o.duration_s);
  if (!ng) broken = true;

  // 2.-4. squadbox on SQLite: wrk, the open loop at --rate and at --compare-rate, the soak
  const std::string signing_secret = random_hex(16);
  const std::string squadbox = o.squadbox.empty() ? sb::test::bin_dir() + "/squadbox" : o.squadbox;
  std::printf("\nsquadbox binary: %s\n", squadbox.c_str());
  EngineRun lite;
  lite.label = "SQLite";
  {
    const std::string node_dir = dir + "/sqlite";
    fs::create_directories(node_dir);
    auto node = start_node(squadbox, node_dir, lite.label, signing_secret, "", "");
    if (!node) return 1;
    int64_t rows = wrk_phase(*wrk, node_dir, *node, signing_secret, o.duration_s, lite);
    lite.at_rate = open_loop_phase(*node, signing_secret, 'o', o.rate, o.duration_s, o.connections, rows, lite);
    if (o.postgres)
      lite.at_compare =
          open_loop_phase(*node, signing_secret, 'c', o.compare_rate, o.compare_s, o.connections, rows, lite);
    if (o.soak_s > 0) soak_phase(o, *node, signing_secret);
    if (!stop_node(*node)) lite.broken = true;
  }

  // 5. squadbox on PostgreSQL: the same wrk phase and the open loop at --compare-rate
  EngineRun pg;
  pg.label = "PostgreSQL";
  if (o.postgres) {
    pg = postgres_run(o, *wrk, squadbox, dir, signing_secret);
  } else {
    pg.skipped = "--no-postgres";
  }
  broken = broken || lite.broken || pg.broken;

  // summary
  const double ng_rate = ng ? ng->rate() : 0;
  const double sq_rate = lite.wrk ? lite.wrk->rate() : 0;
  const double pg_rate = pg.wrk ? pg.wrk->rate() : 0;
  const double ratio = ng_rate > 0 ? sq_rate / ng_rate : 0;
  std::printf("\n== summary%s\n", o.smoke ? " (smoke: figures from a 2 s run mean little)" : "");
  std::printf("nginx static file:        %10.0f req/s\n", ng_rate);
  std::printf("squadbox durable ingress: %10.0f req/s   %s (target >= %.0f)\n", sq_rate,
              verdict(sq_rate >= kTargetRate), kTargetRate);
  std::printf("ratio squadbox/nginx:     %10.2f x       %s (target >= %.1fx)\n", ratio, verdict(ratio >= kTargetRatio),
              kTargetRatio);
  std::printf("p99 ack at %.0f req/s:     %10.3f ms      %s (target <= %.0f ms)\n", o.rate, lite.at_rate.lat.p99_ms,
              verdict(lite.at_rate.ran && lite.at_rate.lat.p99_ms <= kTargetP99Ms), kTargetP99Ms);
  if (!pg.skipped.empty()) {
    std::printf("PostgreSQL: skipped (%s)\n", pg.skipped.c_str());
  } else {
    const double pg_ratio = sq_rate > 0 ? pg_rate / sq_rate : 0;
    const auto& lc = lite.at_compare;
    const auto& pc = pg.at_compare;
    std::printf("\n%-28s %14s %14s   %s\n", "durable ingress, same run", "SQLite", "PostgreSQL", "PostgreSQL target");
    std::printf("%-28s %14s %14s   %s (>= %.0f req/s)\n", "wrk -t2 -c64",
                figure(lite.wrk.has_value(), sq_rate, "req/s").c_str(),
                figure(pg.wrk.has_value(), pg_rate, "req/s").c_str(), verdict(pg_rate >= kPgTargetRate), kPgTargetRate);
    std::printf("%-28s %14s %14s   %s (>= %.1fx)\n", "ratio PostgreSQL/SQLite", "",
                figure(pg.wrk.has_value() && sq_rate > 0, pg_ratio, "x").c_str(), verdict(pg_ratio >= kPgTargetRatio),
                kPgTargetRatio);
    const std::string at = fmt::format("open loop {:.0f} req/s", o.compare_rate);
    std::printf("%-28s %14s %14s\n", (at + ", p50 ack").c_str(), figure(lc.ran, lc.lat.p50_ms, "ms").c_str(),
                figure(pc.ran, pc.lat.p50_ms, "ms").c_str());
    std::printf("%-28s %14s %14s   %s (<= %.0f ms)\n", (at + ", p99 ack").c_str(),
                figure(lc.ran, lc.lat.p99_ms, "ms").c_str(), figure(pc.ran, pc.lat.p99_ms, "ms").c_str(),
                verdict(pc.ran && pc.lat.p99_ms <= kPgTargetP99Ms), kPgTargetP99Ms);
  }
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
