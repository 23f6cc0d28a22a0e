// The credential proxy's cost: the same requests to the same loopback upstream (the
// test FakeUpstream, TLS with a CA made at start, ~300-byte JSON answers), once
// directly and once through a proxy lease socket, in the same run. Both paths keep
// their connections alive: the direct client holds one TLS connection to the upstream;
// the proxied client holds one unix-socket connection to the proxy, which holds one
// TLS connection to the upstream. So each path does one TLS hop per request and no
// handshake after the first; the proxy adds a unix-socket hop, the token check, header
// rewriting and the audit record.
//
// Prints p50/p99 latency of sequential requests (alternating rounds, so drift hits
// both paths alike) and the throughput of N concurrent keep-alive clients, with the
// ratios proxy/direct. The same for plain HTTP upstream (the proxy's overhead with no
// TLS to hide it). Never fails on a figure.
//
//   bench_proxy [--smoke] [--benchmark_* flags are accepted and ignored]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>  // Boost 1.74 Asio with -std=c++20 needs it first
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>

#include "runtime/core/log.hpp"
#include "runtime/proxy/credential_proxy.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

int g_threads = 1;
namespace net = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using tcp = net::ip::tcp;

const std::string kAnswer =
    R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text",)"
    R"("text":"Hello! How can I help you today? This is a short canned answer of a realistic size."}],)"
    R"("stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":24}})";
const std::string kBody =
    R"({"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]})";

// One keep-alive connection doing request after request.
class Client {
 public:
  virtual ~Client() = default;
  virtual bool call() = 0;
};

template <class Stream>
class StreamClient : public Client {
 public:
  StreamClient(std::unique_ptr<Stream> stream, std::string target, std::string auth) : stream_(std::move(stream)) {
    wire_ = "POST " + target + " HTTP/1.1\r\nHost: localhost\r\n" + auth +
            "anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\nContent-Length: " +
            std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
  }
  bool call() override {
    boost::system::error_code ec;
    net::write(*stream_, net::buffer(wire_), ec);
    if (ec) return false;
    http::response<http::string_body> res;
    http::read(*stream_, buffer_, res, ec);
    return !ec && res.result_int() == 200 && res.body().size() == kAnswer.size();
  }

 private:
  std::unique_ptr<Stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::string wire_;
};

struct Setup {
  net::io_context io;
  bool tls = true;
  std::unique_ptr<net::ssl::context> tls_ctx;
  uint16_t port = 0;
  std::string socket_path;
  std::string token;

  std::unique_ptr<Client> direct() {
    if (!tls) {
      auto s = std::make_unique<tcp::socket>(io);
      s->connect({net::ip::make_address("127.0.0.1"), port});
      s->set_option(tcp::no_delay(true));
      return std::make_unique<StreamClient<tcp::socket>>(std::move(s), "/v1/messages", "x-api-key: sk-direct\r\n");
    }
    auto s = std::make_unique<net::ssl::stream<tcp::socket>>(io, *tls_ctx);
    s->next_layer().connect({net::ip::make_address("127.0.0.1"), port});
    s->next_layer().set_option(tcp::no_delay(true));
    SSL_set_tlsext_host_name(s->native_handle(), "localhost");
    SSL_set1_host(s->native_handle(), "localhost");
    s->handshake(net::ssl::stream_base::client);
    return std::make_unique<StreamClient<net::ssl::stream<tcp::socket>>>(std::move(s), "/v1/messages",
                                                                         "x-api-key: sk-direct\r\n");
  }
  std::unique_ptr<Client> proxied() {
    auto s = std::make_unique<net::local::stream_protocol::socket>(io);
    s->connect(net::local::stream_protocol::endpoint(socket_path));
    return std::make_unique<StreamClient<net::local::stream_protocol::socket>>(std::move(s), "/anthropic/v1/messages",
                                                                               "x-api-key: " + token + "\r\n");
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

struct Latency {
  double p50 = 0, p99 = 0;
  size_t failures = 0;
};

// Sequential requests on one connection per path, in alternating rounds.
std::pair<Latency, Latency> latency(Setup& s, int rounds, int per_round) {
  auto d = s.direct();
  auto p = s.proxied();
  for (int i = 0; i < 20; ++i) (void)d->call(), (void)p->call();  // warm-up: handshakes done
  std::vector<double> dv, pv;
  Latency dl, pl;
  for (int r = 0; r < rounds; ++r) {
    for (auto [client, samples, lat] : {std::tuple{d.get(), &dv, &dl}, std::tuple{p.get(), &pv, &pl}}) {
      for (int i = 0; i < per_round; ++i) {
        auto t0 = Clock::now();
        bool ok = client->call();
        samples->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (!ok) ++lat->failures;
      }
    }
  }
  dl.p50 = percentile(dv, 0.5);
  dl.p99 = percentile(dv, 0.99);
  pl.p50 = percentile(pv, 0.5);
  pl.p99 = percentile(pv, 0.99);
  return {dl, pl};
}

// `clients` threads, one keep-alive connection each, for `window`: requests per second.
double throughput(Setup& s, bool proxied, int clients, std::chrono::milliseconds window, size_t* failures) {
  std::vector<std::unique_ptr<Client>> conns;
  for (int i = 0; i < clients; ++i) conns.push_back(proxied ? s.proxied() : s.direct());
  for (auto& c : conns) (void)c->call();
  std::atomic<bool> go{false}, stop{false};
  std::atomic<size_t> done{0}, failed{0};
  std::vector<std::thread> threads;
  for (auto& c : conns)
    threads.emplace_back([&, client = c.get()] {
      while (!go) std::this_thread::yield();
      while (!stop) {
        if (client->call())
          ++done;
        else
          ++failed;
      }
    });
  auto t0 = Clock::now();
  go = true;
  std::this_thread::sleep_for(window);  // the measuring window itself
  stop = true;
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  *failures += failed;
  return static_cast<double>(done) / secs;
}

void run(bool tls, std::chrono::milliseconds service_time, bool smoke) {
  sb::test::TempDir dir("sb-bench-proxy");
  auto pki = sb::test::TestPki::generate(dir.path());
  sb::test::FakeUpstreamOptions uo;
  uo.tls = tls;
  uo.cert_file = pki.cert_file;
  uo.key_file = pki.key_file;
  uo.record = false;
  sb::test::FakeUpstream upstream(uo);
  upstream.set_handler([service_time](const sb::test::RecordedRequest&) {
    auto r = sb::test::UpstreamReply::json(200, kAnswer);
    r.delay = service_time;  // the upstream's own time to answer
    return r;
  });

  sb::config::ProxyConfig pc;
  pc.ca_file = pki.ca_file;
  pc.routes["anthropic"] = sb::config::ProxyRoute{upstream.url(), "x-api-key", "", "anthropic", {}};
  sb::metrics::Registry metrics;
  std::atomic<size_t> audited{0};
  auto proxy = sb::proxy::CredentialProxy::create(
      pc, [](const std::string&) -> sb::Result<sb::Secret> { return sb::Secret("sk-real-key"); },
      [&audited](sb::AuditRecord) { ++audited; }, &metrics,
      sb::proxy::ProxyTuning{g_threads, std::chrono::milliseconds(120000)});
  if (!proxy) {
    std::printf("proxy: %s\n", proxy.error().message.c_str());
    return;
  }
  auto lease = (*proxy)->open_lease({"bench-run", "main", dir.file("proxy.sock"), std::nullopt, std::nullopt});
  if (!lease) {
    std::printf("lease: %s\n", lease.error().message.c_str());
    return;
  }

  Setup s;
  s.tls = tls;
  s.port = upstream.port();
  s.socket_path = (*lease)->socket_path();
  s.token = (*lease)->token().reveal();
  s.tls_ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
  s.tls_ctx->load_verify_file(pki.ca_file);
  s.tls_ctx->set_verify_mode(net::ssl::verify_peer);

  const bool slow = service_time.count() > 0;
  const int rounds = smoke ? 2 : slow ? 4 : 10, per_round = smoke ? 25 : slow ? 100 : 500;
  auto [d, p] = latency(s, rounds, per_round);
  const int clients = 8;
  const auto window = smoke ? std::chrono::milliseconds(200) : std::chrono::milliseconds(3000);
  size_t failures = d.failures + p.failures;
  const double dt = throughput(s, false, clients, window, &failures);
  const double pt = throughput(s, true, clients, window, &failures);

  const std::string kind =
      std::string(tls ? "TLS upstream" : "plain-HTTP upstream") +
      (slow ? ", answering in " + std::to_string(service_time.count()) + " ms" : ", answering at once");
  std::printf("%s, latency (%d sequential requests per path, keep-alive):\n", kind.c_str(), rounds * per_round);
  std::printf("  direct  p50 %7.1f us  p99 %7.1f us\n", d.p50, d.p99);
  std::printf("  proxy   p50 %7.1f us  p99 %7.1f us\n", p.p50, p.p99);
  std::printf("  ratio   p50 %.2fx (target <= 1.2x); the proxy adds %.1f us\n", d.p50 > 0 ? p.p50 / d.p50 : 0.0,
              p.p50 - d.p50);
  std::printf("%s, throughput (%d keep-alive clients, %.1f s each):\n", kind.c_str(), clients,
              std::chrono::duration<double>(window).count());
  std::printf("  direct  %9.0f req/s\n  proxy   %9.0f req/s\n  ratio   %.2fx (target >= 0.8x)\n", dt, pt,
              dt > 0 ? pt / dt : 0.0);
  std::printf("  failed requests: %zu, audit records: %zu, upstream connections: %zu\n\n", failures, audited.load(),
              upstream.connection_count());
  lease->reset();
  (*proxy)->stop();
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--smoke") == 0)
      smoke = true;
    else if (std::strncmp(argv[i], "--threads=", 10) == 0)
      g_threads = std::atoi(argv[i] + 10);
  benchmark::Initialize(&argc, argv);  // accepts (and ignores) --benchmark_* flags
  sb::log::configure(sb::log::Level::error, sb::log::Format::logfmt);
  // The proxy's own cost, with an upstream that costs nothing (worst case for a ratio)...
  run(true, std::chrono::milliseconds(0), smoke);
  run(false, std::chrono::milliseconds(0), smoke);
  // ...and against an upstream that takes 1 ms to answer (real APIs take far longer).
  run(true, std::chrono::milliseconds(1), smoke);
  return 0;
}
