// The credential proxy over real sockets: clients on lease unix sockets, a real
// upstream on loopback (plain HTTP and TLS with a CA made at test time).
#include "runtime/proxy/credential_proxy.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "tests/runtime/proxy/unix_client.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/raw_socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::proxy::CredentialProxy;
using sb::proxy::LeaseRequest;
using sb::proxy::ProxyLease;
using sb::test::FakeUpstream;
using sb::test::HttpReply;
using sb::test::UnixClient;
using sb::test::UpstreamChunk;
using sb::test::UpstreamReply;

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string out;
  static const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

class CredentialProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = std::make_unique<sb::test::TempDir>("sb-proxy-pki");
    pki_ = sb::test::TestPki::generate(pki_dir_->path());
  }
  static void TearDownTestSuite() { pki_dir_.reset(); }

  void TearDown() override {
    leases_.clear();
    if (proxy_) proxy_->stop();
  }

  sb::config::ProxyRoute route(const std::string& upstream, const std::string& header = "x-api-key",
                               const std::string& scheme = "", std::vector<std::string> namespaces = {}) {
    sb::config::ProxyRoute r;
    r.upstream = upstream;
    r.header = header;
    r.scheme = scheme;
    r.secret = "upstream-key";
    r.namespaces = std::move(namespaces);
    return r;
  }

  void start(std::map<std::string, sb::config::ProxyRoute> routes,
             std::function<void(sb::config::ProxyConfig&)> tweak = {}) {
    config_.routes = std::move(routes);
    if (tweak) tweak(config_);
    auto secrets = [this](const std::string& name) -> sb::Result<sb::Secret> {
      if (name == "upstream-key") return sb::Secret(key_);
      return sb::make_error("vault.not_found", "no secret named " + name);
    };
    auto audit = [this](sb::AuditRecord r) {
      std::lock_guard lock(audit_mutex_);
      audit_.push_back(std::move(r));
    };
    auto p = CredentialProxy::create(config_, secrets, audit, &metrics_);
    ASSERT_TRUE(p.ok()) << p.error().message;
    proxy_ = *p;
  }

  ProxyLease& lease(const std::string& ns = "main", const std::string& run = "run-1") {
    LeaseRequest req{run, ns, dir_.file("lease-" + std::to_string(leases_.size()) + ".sock"), std::nullopt,
                     std::nullopt};
    auto l = proxy_->open_lease(req);
    EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().message);
    leases_.push_back(std::move(*l));
    return *leases_.back();
  }

  HttpReply call(ProxyLease& l, const std::string& method, const std::string& target, sb::test::HeaderList headers = {},
                 const std::string& body = {}) {
    UnixClient c(l.socket_path());
    return c.request(method, target, headers, body);
  }

  std::vector<sb::AuditRecord> audit() {
    std::lock_guard lock(audit_mutex_);
    return audit_;
  }
  // A record is written once the answer's last byte went out, so a client can see
  // the answer a moment before its record exists: poll.
  std::vector<sb::AuditRecord> audit_at_least(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (audit().size() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);  // poll interval, not a wait for an outcome
    return audit();
  }

  // Every audit record, metric and upstream-visible header, as text: the tests search
  // it for things that must never appear there.
  std::string everything_observable(const FakeUpstream& up) {
    std::string all = metrics_.render();
    for (const auto& r : audit()) all += r.actor + r.event + r.subject + r.detail + "\n";
    for (const auto& r : up.requests()) {
      all += r.target + "\n";
      for (const auto& [k, v] : r.headers) all += k + ": " + v + "\n";
    }
    return all;
  }

  static inline std::unique_ptr<sb::test::TempDir> pki_dir_;
  static inline sb::test::TestPki pki_;
  sb::test::TempDir dir_{"sb-proxy"};
  std::string key_ = "sk-real-" + random_hex(24);
  sb::config::ProxyConfig config_;
  sb::metrics::Registry metrics_;
  std::mutex audit_mutex_;
  std::vector<sb::AuditRecord> audit_;
  std::shared_ptr<CredentialProxy> proxy_;
  std::vector<std::unique_ptr<ProxyLease>> leases_;
};

TEST_F(CredentialProxyTest, InjectsApiKeyAndForwardsPathQueryAndBody) {
  FakeUpstream up;
  up.set_handler([](const sb::test::RecordedRequest&) { return UpstreamReply::json(200, R"({"id":"msg_1"})"); });
  start({{"anthropic", route(up.url() + "/base")}});
  auto& l = lease();
  auto r = call(
      l, "POST", "/anthropic/v1/messages?beta=true",
      {{"x-api-key", l.token().reveal()}, {"anthropic-version", "2023-06-01"}, {"content-type", "application/json"}},
      R"({"model":"m"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"id":"msg_1"})");
  EXPECT_EQ(r.header("content-type"), "application/json");
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/base/v1/messages?beta=true");
  EXPECT_EQ(seen.body, R"({"model":"m"})");
  EXPECT_EQ(seen.header("x-api-key"), key_);
  EXPECT_EQ(seen.header_count("x-api-key"), 1u);
  EXPECT_EQ(seen.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(seen.header("host"), "127.0.0.1:" + std::to_string(up.port()));
  EXPECT_EQ(seen.header("content-length"), "13");
}

TEST_F(CredentialProxyTest, InjectsBearerAndAcceptsABearerPlaceholder) {
  FakeUpstream up;
  start({{"openai", route(up.url(), "authorization", "Bearer")}});
  auto& l = lease();
  auto r = call(l, "GET", "/openai/v1/models", {{"Authorization", "Bearer " + l.token().reveal()}});
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  EXPECT_EQ(seen.header("authorization"), "Bearer " + key_);
  EXPECT_EQ(seen.header_count("authorization"), 1u);
  EXPECT_FALSE(seen.header("x-api-key"));
}

// A local model server needs no key: a route without a secret forwards the request with
// no credential at all (the placeholder is still removed), and needs no vault entry.
TEST_F(CredentialProxyTest, AKeylessRouteForwardsWithoutAnyCredential) {
  FakeUpstream up;
  auto keyless = route(up.url(), "authorization", "Bearer");
  keyless.secret.clear();
  start({{"local", keyless}});
  auto& l = lease();
  auto r = call(l, "POST", "/local/v1/chat/completions", {{"Authorization", "Bearer " + l.token().reveal()}},
                R"({"model":"qwen"})");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  EXPECT_EQ(seen.target, "/v1/chat/completions");
  EXPECT_FALSE(seen.header("authorization"));
  EXPECT_FALSE(seen.header("x-api-key"));
  // Without a token the route is still closed: keyless upstream, not an open proxy.
  EXPECT_EQ(call(l, "POST", "/local/v1/chat/completions", {}, "{}").status, 401);
}

TEST_F(CredentialProxyTest, UpstreamNeverSeesThePlaceholderToken) {
  FakeUpstream up;
  start({{"r", route(up.url())}});
  auto& l = lease();
  const std::string token = l.token().reveal();
  auto r = call(l, "POST", "/r/x",
                {{"x-api-key", token},
                 {"Authorization", "Bearer " + token},
                 {"Proxy-Authorization", "Bearer " + token},
                 {"X-Other", "kept"}},
                "{}");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  EXPECT_EQ(seen.header("X-Other"), "kept");
  EXPECT_FALSE(seen.header("authorization"));
  EXPECT_FALSE(seen.header("proxy-authorization"));
  for (const auto& [k, v] : seen.headers) EXPECT_EQ(v.find(token), std::string::npos) << k;
  EXPECT_EQ(everything_observable(up).find(token), std::string::npos);
}

TEST_F(CredentialProxyTest, HopByHopHeadersAreStrippedBothWays) {
  FakeUpstream up;
  up.set_handler([](const sb::test::RecordedRequest&) {
    auto r = UpstreamReply::json(200, "{}");
    r.headers.push_back({"Connection", "X-Upstream-Hop"});
    r.headers.push_back({"X-Upstream-Hop", "1"});
    r.headers.push_back({"Keep-Alive", "timeout=5"});
    r.headers.push_back({"Proxy-Authenticate", "Basic"});
    r.headers.push_back({"X-Pass", "yes"});
    return r;
  });
  start({{"r", route(up.url())}});
  auto& l = lease();
  auto r = call(l, "GET", "/r/x",
                {{"x-api-key", l.token().reveal()},
                 {"Connection", "keep-alive, X-Client-Hop"},
                 {"X-Client-Hop", "1"},
                 {"Keep-Alive", "timeout=9"},
                 {"TE", "trailers"},
                 {"Upgrade", "h2c"},
                 {"Proxy-Connection", "keep-alive"},
                 {"X-Keep", "1"}});
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(up.request_count(), 1u);
  auto seen = up.requests()[0];
  for (const char* gone : {"X-Client-Hop", "Keep-Alive", "TE", "Upgrade", "Proxy-Connection"})
    EXPECT_FALSE(seen.header(gone)) << gone;
  EXPECT_NE(seen.header("Connection").value_or(""), "keep-alive, X-Client-Hop");
  EXPECT_EQ(seen.header("X-Keep"), "1");
  for (const char* gone : {"X-Upstream-Hop", "Keep-Alive", "Proxy-Authenticate"}) EXPECT_FALSE(r.header(gone)) << gone;
  EXPECT_EQ(r.header("X-Pass"), "yes");
}

TEST_F(CredentialProxyTest, UnknownMissingAndRevokedTokensGet401) {
  FakeUpstream up;
  start({{"r", route(up.url())}});
  auto& a = lease("main", "run-a");
  auto& b = lease("main", "run-b");
  const std::string old = a.token().reveal();

  auto unknown = call(b, "GET", "/r/x", {{"x-api-key", "sbp_" + random_hex(32)}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(unknown.body.find(R"("type":"authentication_error")"), std::string::npos) << unknown.body;
  EXPECT_EQ(call(b, "GET", "/r/x").status, 401);
  EXPECT_EQ(call(b, "GET", "/r/x", {{"x-api-key", "not-a-token"}}).status, 401);

  // Tokens are not bound to a socket: A's token works on B's socket while A lives...
  EXPECT_EQ(call(b, "GET", "/r/x", {{"x-api-key", old}}).status, 200);
  UnixClient open_on_a(a.socket_path());
  EXPECT_EQ(open_on_a.request("GET", "/r/x", {{"x-api-key", old}}).status, 200);

  a.revoke();
  // ...and nowhere once A is revoked; A's socket and open connections are gone.
  auto revoked = call(b, "GET", "/r/x", {{"x-api-key", old}});
  EXPECT_EQ(revoked.status, 401);
  EXPECT_FALSE(std::filesystem::exists(a.socket_path()));
  EXPECT_FALSE(UnixClient::can_connect(a.socket_path()));
  EXPECT_TRUE(open_on_a.closed_by_peer());
  EXPECT_EQ(call(b, "GET", "/r/x", {{"x-api-key", b.token().reveal()}}).status, 200);
  EXPECT_EQ(up.request_count(), 3u);  // no denied request reached the upstream
  EXPECT_EQ(proxy_->active_leases(), 1u);
}

TEST_F(CredentialProxyTest, NamespaceNotAllowedGets403AndUnknownRoute404) {
  FakeUpstream up;
  start({{"private", route(up.url(), "x-api-key", "", {"main"})}, {"open", route(up.url())}});
  auto& other = lease("other", "run-o");
  auto& main = lease("main", "run-m");
  auto forbidden = call(other, "GET", "/private/x", {{"x-api-key", other.token().reveal()}});
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_NE(forbidden.body.find(R"("type":"permission_error")"), std::string::npos);
  EXPECT_EQ(call(main, "GET", "/private/x", {{"x-api-key", main.token().reveal()}}).status, 200);
  auto unknown = call(main, "GET", "/nothing/x", {{"x-api-key", main.token().reveal()}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find(R"("type":"not_found_error")"), std::string::npos);
  EXPECT_EQ(call(main, "GET", "/open/../private/x", {{"x-api-key", main.token().reveal()}}).status, 400);
  EXPECT_EQ(up.request_count(), 1u);
  // The namespace decides the container's routes too.
  EXPECT_EQ(other.environment().count("ANTHROPIC_API_KEY"), 0u);
  EXPECT_EQ(proxy_->routes_for("other"), std::vector<std::string>{"open"});
}

TEST_F(CredentialProxyTest, OversizedBodiesGet413) {
  FakeUpstream up;
  start({{"r", route(up.url())}}, [](sb::config::ProxyConfig& c) { c.max_request_bytes = 1024; });
  auto& l = lease();
  const std::string token = l.token().reveal();
  EXPECT_EQ(call(l, "POST", "/r/x", {{"x-api-key", token}}, std::string(1024, 'a')).status, 200);
  auto big = call(l, "POST", "/r/x", {{"x-api-key", token}}, std::string(1025, 'a'));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find(R"("type":"request_too_large")"), std::string::npos);

  // Chunked: the size is only known while reading.
  UnixClient c(l.socket_path());
  std::string chunked =
      "POST /r/x HTTP/1.1\r\nHost: p\r\nx-api-key: " + token + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, 'b') + "\r\n";
  chunked += "0\r\n\r\n";
  c.send_raw(chunked);
  EXPECT_EQ(c.read_reply().status, 413);
  EXPECT_EQ(up.request_count(), 1u);
}

TEST_F(CredentialProxyTest, ChunkedRequestBodyIsForwardedWithALength) {
  FakeUpstream up;
  start({{"r", route(up.url())}});
  auto& l = lease();
  UnixClient c(l.socket_path());
  c.send_raw("POST /r/x HTTP/1.1\r\nHost: p\r\nx-api-key: " + l.token().reveal() +
             "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(c.read_reply().status, 200);
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_EQ(up.requests()[0].body, "hello world");
  EXPECT_EQ(up.requests()[0].header("content-length"), "11");
  EXPECT_FALSE(up.requests()[0].header("transfer-encoding"));
}

TEST_F(CredentialProxyTest, ExpectContinueIsAnsweredByTheProxy) {
  FakeUpstream up;
  start({{"r", route(up.url())}});
  auto& l = lease();
  UnixClient c(l.socket_path());
  c.send_raw("POST /r/x HTTP/1.1\r\nHost: p\r\nx-api-key: " + l.token().reveal() +
             "\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  std::string seen;
  ASSERT_TRUE(c.read_until("100 Continue\r\n\r\n", seen));
  c.send_raw("body");
  EXPECT_EQ(c.read_reply().status, 200);
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_EQ(up.requests()[0].body, "body");
  EXPECT_FALSE(up.requests()[0].header("expect"));
}

TEST_F(CredentialProxyTest, RefusedConnectionGets502) {
  start({{"r", route("http://127.0.0.1:" + std::to_string(sb::test::unused_loopback_port()))}});
  auto& l = lease();
  auto r = call(l, "GET", "/r/x", {{"x-api-key", l.token().reveal()}});
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find(R"("type":"upstream_error")"), std::string::npos) << r.body;
}

// A peer that accepts TCP but never speaks TLS: the handshake is bounded by
// proxy.connect_timeout_ms, and an upstream that cannot be reached is a 502.
TEST_F(CredentialProxyTest, HandshakeThatNeverCompletesGets502) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 8), 0);  // the kernel completes connections; nobody ever answers
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  start({{"r", route("https://127.0.0.1:" + std::to_string(ntohs(a.sin_port)))}},
        [](sb::config::ProxyConfig& c) { c.connect_timeout_ms = 300; });
  auto& l = lease();
  auto r = call(l, "GET", "/r/x", {{"x-api-key", l.token().reveal()}});
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("timed out"), std::string::npos) << r.body;
  ::close(fd);
}

TEST_F(CredentialProxyTest, BrokenUpstreamAnswersGet502) {
  FakeUpstream up;
  int n = 0;
  up.set_handler([&n](const sb::test::RecordedRequest&) {
    UpstreamReply r;
    if (++n == 1)
      r.raw = "THIS IS NOT HTTP\r\n\r\n";
    else
      r.close_without_answer = true;
    return r;
  });
  start({{"r", route(up.url())}});
  auto& l = lease();
  EXPECT_EQ(call(l, "POST", "/r/x", {{"x-api-key", l.token().reveal()}}, "{}").status, 502);
  EXPECT_EQ(call(l, "POST", "/r/x", {{"x-api-key", l.token().reveal()}}, "{}").status, 502);
}

TEST_F(CredentialProxyTest, UnavailableCredentialGets502) {
  FakeUpstream up;
  auto r = route(up.url());
  r.secret = "not-in-vault";
  start({{"r", r}});
  auto& l = lease();
  EXPECT_EQ(call(l, "GET", "/r/x", {{"x-api-key", l.token().reveal()}}).status, 502);
  EXPECT_EQ(up.request_count(), 0u);
}

TEST_F(CredentialProxyTest, SlowUpstreamGets504) {
  FakeUpstream up;
  up.set_handler([](const sb::test::RecordedRequest&) {
    auto r = UpstreamReply::json(200, "{}");
    r.delay = 20s;  // interrupted when the upstream stops
    return r;
  });
  start({{"r", route(up.url())}}, [](sb::config::ProxyConfig& c) { c.request_timeout_ms = 300; });
  auto& l = lease();
  auto r = call(l, "GET", "/r/x", {{"x-api-key", l.token().reveal()}});
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find(R"("type":"timeout_error")"), std::string::npos);
}

TEST_F(CredentialProxyTest, TlsUpstreamTrustedThroughCaFile) {
  FakeUpstream up({true, pki_.cert_file, pki_.key_file});
  start({{"anthropic", route(up.url())}}, [](sb::config::ProxyConfig& c) { c.ca_file = pki_.ca_file; });
  auto& l = lease();
  auto r = call(l, "POST", "/anthropic/v1/messages", {{"x-api-key", l.token().reveal()}}, "{}");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_EQ(up.requests()[0].header("x-api-key"), key_);
  EXPECT_EQ(up.requests()[0].tls_server_name, "localhost");  // SNI
  EXPECT_EQ(up.requests()[0].header("host"), "localhost:" + std::to_string(up.port()));
}

// An agent's second model call carries a tool's output: a body of tens of KiB over the
// kept-alive TLS connection to the upstream (more than one TLS record).
TEST_F(CredentialProxyTest, LargeBodiesCrossAKeptAliveTlsUpstreamConnection) {
  FakeUpstream up({true, pki_.cert_file, pki_.key_file});
  up.set_handler([](const sb::test::RecordedRequest& r) {
    return UpstreamReply::json(200, R"({"bytes":)" + std::to_string(r.body.size()) + "}");
  });
  start({{"anthropic", route(up.url())}}, [](sb::config::ProxyConfig& c) { c.ca_file = pki_.ca_file; });
  auto& l = lease();
  for (size_t size : {2u, 40000u, 200000u, 5u}) {
    const std::string body = "\"" + std::string(size, 'x') + "\"";
    auto r = call(l, "POST", "/anthropic/v1/messages", {{"x-api-key", l.token().reveal()}}, body);
    EXPECT_EQ(r.status, 200) << size << ": " << r.body;
    EXPECT_EQ(r.body, R"({"bytes":)" + std::to_string(body.size()) + "}");
  }
}

TEST_F(CredentialProxyTest, TlsWithoutTheCaFileIsRefused) {
  FakeUpstream up({true, pki_.cert_file, pki_.key_file});
  start({{"r", route(up.url())}});  // system CAs only
  auto& l = lease();
  auto r = call(l, "GET", "/r/x", {{"x-api-key", l.token().reveal()}});
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("certificate"), std::string::npos) << r.body;
  EXPECT_EQ(up.request_count(), 0u);
}

TEST_F(CredentialProxyTest, TlsUntrustedOrWrongHostCertificateGets502) {
  FakeUpstream untrusted({true, pki_.untrusted_cert, pki_.untrusted_key});
  FakeUpstream wrong_host({true, pki_.wrong_host_cert, pki_.wrong_host_key});
  start({{"untrusted", route(untrusted.url())}, {"wronghost", route(wrong_host.url())}},
        [](sb::config::ProxyConfig& c) { c.ca_file = pki_.ca_file; });
  auto& l = lease();
  auto a = call(l, "GET", "/untrusted/x", {{"x-api-key", l.token().reveal()}});
  EXPECT_EQ(a.status, 502);
  EXPECT_NE(a.body.find("certificate"), std::string::npos) << a.body;
  auto b = call(l, "GET", "/wronghost/x", {{"x-api-key", l.token().reveal()}});
  EXPECT_EQ(b.status, 502);
  EXPECT_NE(b.body.find("certificate"), std::string::npos) << b.body;
  EXPECT_EQ(untrusted.request_count() + wrong_host.request_count(), 0u);  // the key never left
}

TEST_F(CredentialProxyTest, BadCaFileIsAConfigurationError) {
  config_.ca_file = dir_.file("missing.pem");
  auto p = CredentialProxy::create(config_, {}, {}, nullptr);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, "proxy.ca_file");
  config_.ca_file.clear();
  config_.routes["r"] = route("gopher://x");
  auto q = CredentialProxy::create(config_, {}, {}, nullptr);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code, "proxy.bad_route");
}

// Streaming: the upstream sends its first event, then waits at a gate the test opens
// only after the client received that event. A proxy that buffered the response
// would deliver both events together (after the gate's timeout), never one alone.
TEST_F(CredentialProxyTest, ServerSentEventsStreamBeforeTheUpstreamFinishes) {
  FakeUpstream up({true, pki_.cert_file, pki_.key_file});
  auto gate = std::make_shared<sb::test::Gate>();
  up.set_handler([gate](const sb::test::RecordedRequest&) {
    return UpstreamReply::sse(
        {{"event: message_start\ndata: first\n\n"}, {"event: message_stop\ndata: second\n\n", 0ms, gate}});
  });
  start({{"anthropic", route(up.url())}}, [](sb::config::ProxyConfig& c) { c.ca_file = pki_.ca_file; });
  auto& l = lease();
  UnixClient c(l.socket_path());
  c.send_raw("POST /anthropic/v1/messages HTTP/1.1\r\nHost: p\r\nx-api-key: " + l.token().reveal() +
             "\r\nContent-Length: 15\r\n\r\n{\"stream\":true}");
  std::string seen;
  ASSERT_TRUE(c.read_until("data: first", seen)) << seen;
  EXPECT_EQ(seen.find("data: second"), std::string::npos);
  EXPECT_FALSE(gate->is_open());
  EXPECT_NE(seen.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(seen.find("Content-Type: text/event-stream"), std::string::npos);
  gate->open();
  ASSERT_TRUE(c.read_until("0\r\n\r\n", seen)) << seen;
  EXPECT_NE(seen.find("data: second"), std::string::npos);
  // The connection stays usable after a streamed answer.
  up.set_handler([](const sb::test::RecordedRequest&) { return UpstreamReply::json(200, "{}"); });
  EXPECT_EQ(c.request("GET", "/anthropic/x", {{"x-api-key", l.token().reveal()}}).status, 200);
}

TEST_F(CredentialProxyTest, KeepAliveReusesOneUpstreamConnection) {
  FakeUpstream up;
  start({{"r", route(up.url())}});
  auto& l = lease();
  UnixClient c(l.socket_path());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.request("GET", "/r/x", {{"x-api-key", l.token().reveal()}}).status, 200);
  EXPECT_EQ(up.connection_count(), 1u);
  // HEAD keeps the framing right: no body, and the connection carries on.
  auto head = c.request("HEAD", "/r/x", {{"x-api-key", l.token().reveal()}});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "11");
  EXPECT_EQ(c.request("GET", "/r/x", {{"x-api-key", l.token().reveal()}}).body, R"({"ok":true})");
}

TEST_F(CredentialProxyTest, UpstreamThatClosesIsReconnected) {
  FakeUpstream up;
  int n = 0;
  up.set_handler([&n](const sb::test::RecordedRequest&) {
    auto r = UpstreamReply::json(200, "{}");
    if (++n % 2)
      r.close_after = true;  // says so
    else
      r.drop_after = true;  // does not say so
    return r;
  });
  start({{"r", route(up.url())}});
  auto& l = lease();
  UnixClient c(l.socket_path());
  for (int i = 0; i < 4; ++i) {
    auto r = c.request("POST", "/r/x", {{"x-api-key", l.token().reveal()}}, "{}");
    EXPECT_EQ(r.status, 200) << i;
    // The upstream connection ended; the client's did not.
    EXPECT_TRUE(r.keep_alive) << i;
    // Wait for the upstream's close to happen before the next request: a POST the proxy
    // writes onto a connection the upstream is closing at that moment is not retried
    // (not idempotent) and gets 502, which is right, but is not what this test is about.
    ASSERT_TRUE(up.wait_for_closed(static_cast<size_t>(i) + 1, 10s)) << i;
  }
  EXPECT_TRUE(up.wait_for_requests(4, 10s));
  EXPECT_EQ(up.connection_count(), 4u);
}

TEST_F(CredentialProxyTest, MalformedRequestGets400) {
  FakeUpstream up;
  start({{"r", route(up.url())}});
  auto& l = lease();
  UnixClient c(l.socket_path());
  c.send_raw("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(CredentialProxyTest, AuditsAndCountsEveryRequestWithoutSecrets) {
  FakeUpstream up;
  up.set_handler([](const sb::test::RecordedRequest&) { return UpstreamReply::json(201, R"({"done":1})"); });
  start({{"anthropic", route(up.url())}});
  auto& l = lease("squad-a", "run-42");
  auto ok =
      call(l, "POST", "/anthropic/v1/messages?token=query-secret", {{"x-api-key", l.token().reveal()}}, R"({"a":1})");
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(call(l, "GET", "/anthropic/v1/x", {{"x-api-key", "sbp_" + random_hex(32)}}).status, 401);
  EXPECT_EQ(call(l, "GET", "/missing/v1/x", {{"x-api-key", l.token().reveal()}}).status, 404);

  auto records = audit_at_least(3);
  ASSERT_EQ(records.size(), 3u);
  // Records are written as exchanges end; find them by what they say.
  auto find = [&](const std::string& event, const std::string& needle) -> const sb::AuditRecord* {
    for (const auto& r : records)
      if (r.event == event && r.detail.find(needle) != std::string::npos) return &r;
    return nullptr;
  };
  const auto* forwarded = find("proxy.request", R"("status":201)");
  ASSERT_TRUE(forwarded);
  EXPECT_EQ(forwarded->actor, "proxy");
  EXPECT_EQ(forwarded->subject, "anthropic");
  for (const char* part : {R"("namespace":"squad-a")", R"("run":"run-42")", R"("route":"anthropic")",
                           R"("method":"POST")", R"("path":"/anthropic/v1/messages")", R"("status":201)",
                           R"("request_bytes":7)", R"("response_bytes":10)", R"("duration_ms":)"})
    EXPECT_NE(forwarded->detail.find(part), std::string::npos) << part << " in " << forwarded->detail;
  EXPECT_TRUE(find("proxy.denied", R"("reason":"unknown_token")"));
  EXPECT_TRUE(find("proxy.request", R"("status":404)"));

  auto text = metrics_.render();
  EXPECT_NE(text.find(R"(squadbox_proxy_requests_total{namespace="squad-a",route="anthropic",status="201"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(squadbox_proxy_requests_total{namespace="squad-a",route="unknown",status="404"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(squadbox_proxy_request_bytes_total{namespace="squad-a",route="anthropic"} 7)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(squadbox_proxy_response_bytes_total{namespace="squad-a",route="anthropic"} 10)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(squadbox_proxy_request_duration_seconds_count{namespace="squad-a",route="anthropic"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(squadbox_proxy_denied_total{reason="unknown_token"} 1)"), std::string::npos);
  EXPECT_NE(text.find("squadbox_proxy_leases 1"), std::string::npos);

  const std::string all = everything_observable(up);
  EXPECT_EQ(all.find(l.token().reveal()), std::string::npos);
  EXPECT_EQ(all.find(key_), all.find("x-api-key: " + key_) + 11);  // only where it belongs: upstream-bound
  for (const auto& r : audit()) {
    EXPECT_EQ((r.detail + r.subject).find(key_), std::string::npos);
    EXPECT_EQ(r.detail.find("query-secret"), std::string::npos);  // paths are recorded without the query
  }
  EXPECT_EQ(metrics_.render().find(key_), std::string::npos);
  EXPECT_EQ(metrics_.render().find("query-secret"), std::string::npos);
}

TEST_F(CredentialProxyTest, ManyParallelRequests) {
  FakeUpstream up;
  up.set_handler([](const sb::test::RecordedRequest& r) { return UpstreamReply::json(200, r.body); });
  start({{"r", route(up.url())}});
  std::vector<ProxyLease*> ls = {&lease("a", "run-a"), &lease("b", "run-b")};
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ProxyLease& l = *ls[t % 2];
      std::optional<UnixClient> kept;
      if (t % 2 == 0) kept.emplace(l.socket_path());  // half keep-alive, half a connection each
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        HttpReply r;
        if (kept)
          r = kept->request("POST", "/r/x", {{"x-api-key", l.token().reveal()}}, body);
        else
          r = UnixClient(l.socket_path()).request("POST", "/r/x", {{"x-api-key", l.token().reveal()}}, body);
        if (r.status == 200 && r.body == body) ++good;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), kThreads * kPerThread);
  ASSERT_EQ(up.request_count(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& r : up.requests()) EXPECT_EQ(r.header("x-api-key"), key_);
  EXPECT_EQ(audit_at_least(kThreads * kPerThread).size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(CredentialProxyTest, LeaseSocketBelongsToTheContainerUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown the socket";
  FakeUpstream up;
  start({{"r", route(up.url())}});
  // The directory must be searchable by the container uid, as the IPC root is.
  ::chmod(dir_.path().c_str(), 0755);
  auto l = proxy_->open_lease({"run-u", "main", dir_.file("uid.sock"), 65534, 65534});
  ASSERT_TRUE(l.ok()) << l.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((*l)->socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, 65534u);
  auto connect_as = [&](uid_t uid) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(2);
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strncpy(a.sun_path, (*l)->socket_path().c_str(), sizeof a.sun_path - 1);
      ::_exit(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(connect_as(65534), 0);  // the container uid may connect
  EXPECT_EQ(connect_as(12345), 1);  // another local user may not
}

TEST_F(CredentialProxyTest, LongSocketPathsStaleSocketsAndObstacles) {
  FakeUpstream up;
  start({{"r", route(up.url())}});
  // Longer than sun_path (108 bytes).
  std::string deep = dir_.path() + "/" + std::string(60, 'd') + "/" + std::string(60, 'e');
  std::filesystem::create_directories(deep);
  auto l = proxy_->open_lease({"run-long", "main", deep + "/proxy.sock", std::nullopt, std::nullopt});
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_TRUE(std::filesystem::is_socket(deep + "/proxy.sock"));
  // A stale socket file (a crashed earlier run) is replaced.
  auto again = proxy_->open_lease({"run-long-2", "main", deep + "/proxy.sock", std::nullopt, std::nullopt});
  ASSERT_TRUE(again.ok()) << again.error().message;
  // Revoking the old lease must not remove the new lease's socket.
  (*l)->revoke();
  EXPECT_TRUE(std::filesystem::is_socket(deep + "/proxy.sock"));
  {
    // The client connects through a short symlinked directory (sun_path limit).
    std::string link = dir_.file("s");
    std::filesystem::create_directory_symlink(deep, link);
    UnixClient c(link + "/proxy.sock");
    EXPECT_EQ(c.request("GET", "/r/x", {{"x-api-key", (*again)->token().reveal()}}).status, 200);
  }
  // Anything but a socket in the way is an error, never deleted.
  std::ofstream(dir_.file("file.sock")) << "data";
  auto blocked = proxy_->open_lease({"run-x", "main", dir_.file("file.sock"), std::nullopt, std::nullopt});
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, "proxy.socket");
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_.file("file.sock")));
}

TEST_F(CredentialProxyTest, StopClosesStreamsAndLeasesOutliveTheProxy) {
  FakeUpstream up;
  auto gate = std::make_shared<sb::test::Gate>();
  up.set_handler([gate](const sb::test::RecordedRequest&) {
    return UpstreamReply::sse({{"data: one\n\n"}, {"data: never\n\n", 0ms, gate}});
  });
  start({{"r", route(up.url())}});
  auto& l = lease();
  UnixClient c(l.socket_path());
  c.send_raw("GET /r/x HTTP/1.1\r\nHost: p\r\nx-api-key: " + l.token().reveal() + "\r\n\r\n");
  std::string seen;
  ASSERT_TRUE(c.read_until("data: one", seen));
  proxy_->stop();  // mid-stream
  EXPECT_FALSE(c.read_until("data: never", seen));
  EXPECT_FALSE(UnixClient::can_connect(l.socket_path()));
  auto late = proxy_->open_lease({"run-late", "main", dir_.file("late.sock"), std::nullopt, std::nullopt});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "proxy.stopped");
  gate->open();
  proxy_.reset();  // the lease (in leases_) outlives the proxy; its revoke is a no-op
  leases_.clear();
}

TEST_F(CredentialProxyTest, LeaseEnvironmentFollowsTheContract) {
  FakeUpstream up;
  start({{"anthropic", route(up.url())}}, [](sb::config::ProxyConfig& c) { c.container_port = 4123; });
  auto& l = lease();
  const auto& env = l.environment();
  EXPECT_EQ(env.at("SQUADBOX_PROXY_SOCKET"), "/workspace/ipc/proxy.sock");
  EXPECT_EQ(env.at("SQUADBOX_PROXY_PORT"), "4123");
  EXPECT_EQ(env.at("SQUADBOX_PROXY_TOKEN"), l.token().reveal());
  EXPECT_EQ(env.at("SQUADBOX_PROXY_URL"), "http://127.0.0.1:4123");
  EXPECT_EQ(env.at("ANTHROPIC_BASE_URL"), "http://127.0.0.1:4123/anthropic");
  EXPECT_EQ(env.at("ANTHROPIC_API_KEY"), l.token().reveal());
  for (const auto& [k, v] : env) EXPECT_EQ(v.find(key_), std::string::npos) << k;
}

// ---- Limits a hostile container meets (H1 and H2 of the 2026-12 audit) ----

size_t proxy_test_open_fds() {
  return static_cast<size_t>(
      std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{}));
}

size_t proxy_test_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

int proxy_test_connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

// A prompt-injected agent opens many connections on its proxy socket, announces 1 MiB
// bodies, sends all but the last byte and stalls. Before the limits, every connection
// became a session holding its body in the broker for the 600 s response deadline.
TEST_F(CredentialProxyTest, StalledUploadsOfOneLeaseStayBoundedAndOtherLeasesKeepWorking) {
  FakeUpstream up;
  start({{"r", route(up.url())}}, [](sb::config::ProxyConfig& c) {
    c.max_request_bytes = 1 << 20;
    c.max_connections_per_lease = 8;
    c.max_buffered_bytes_per_lease = 4 << 20;
    c.body_timeout_ms = 1500;
  });
  auto& hostile = lease("evil", "run-evil");
  auto& good = lease("good", "run-good");
  const std::string token = hostile.token().reveal();
  const size_t fds_before = proxy_test_open_fds();
  const size_t rss_before = proxy_test_rss_bytes();

  constexpr int kClients = 64;
  const std::string upload = "POST /r/v1/messages HTTP/1.1\r\nHost: p\r\nx-api-key: " + token +
                             "\r\nContent-Length: 1048576\r\n\r\n" + std::string((1 << 20) - 1, 'a');
  std::vector<int> fds(kClients, -1);
  std::vector<std::thread> writers;
  for (int i = 0; i < kClients; ++i) {
    fds[i] = proxy_test_connect(hostile.socket_path());
    ASSERT_GE(fds[i], 0);
    writers.emplace_back([fd = fds[i], &upload] {
      size_t off = 0;
      while (off < upload.size()) {
        ssize_t n = ::send(fd, upload.data() + off, upload.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;  // refused and closed by the proxy, or stalled past SO_SNDTIMEO
        off += static_cast<size_t>(n);
      }
    });
  }
  for (auto& t : writers) t.join();

  EXPECT_LE(proxy_->open_connections(), 8u);
  // The test's own 64 client descriptors plus at most the lease's 8 sessions.
  EXPECT_LE(proxy_test_open_fds(), fds_before + kClients + 8 + 4);
  // At most the 4 MiB budget of bodies (plus slack for the allocator), not 64 MiB.
  EXPECT_LT(proxy_test_rss_bytes(), rss_before + (32u << 20))
      << "rss grew by " << (proxy_test_rss_bytes() - rss_before) / 1024 << " KiB";

  // Another container's lease is unaffected.
  auto ok = call(good, "POST", "/r/v1/messages", {{"x-api-key", good.token().reveal()}}, R"({"hi":1})");
  EXPECT_EQ(ok.status, 200);

  // The body deadline (not the 600 s response deadline) ends the stalled uploads.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (proxy_->open_connections() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);  // poll interval
  EXPECT_EQ(proxy_->open_connections(), 0u);
  EXPECT_EQ(call(hostile, "POST", "/r/v1/messages", {{"x-api-key", token}}, "{}").status, 200);
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(up.request_count(), 2u);  // nothing of the stalled uploads went upstream
}

TEST_F(CredentialProxyTest, DeclaredBodiesBeyondTheLeaseBudgetGet429AtOnce) {
  FakeUpstream up;
  start({{"r", route(up.url())}}, [](sb::config::ProxyConfig& c) {
    c.max_request_bytes = 8 << 20;
    c.max_buffered_bytes_per_lease = 2 << 20;
  });
  auto& l = lease();
  UnixClient c(l.socket_path(), 5s);
  // Only the head: the answer must not wait for 3 MiB that never come.
  c.send_raw("POST /r/x HTTP/1.1\r\nHost: p\r\nx-api-key: " + l.token().reveal() +
             "\r\nContent-Length: 3145728\r\n\r\nabc");
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find("rate_limit_error"), std::string::npos);
  EXPECT_EQ(up.request_count(), 0u);
  // Within the budget it goes through.
  EXPECT_EQ(call(l, "POST", "/r/x", {{"x-api-key", l.token().reveal()}}, std::string(1 << 20, 'x')).status, 200);
}

TEST_F(CredentialProxyTest, ConnectionsBeyondTheLeaseCapAreClosedAtAccept) {
  FakeUpstream up;
  start({{"r", route(up.url())}}, [](sb::config::ProxyConfig& c) { c.max_connections_per_lease = 8; });
  auto& hostile = lease("evil", "run-evil");
  auto& good = lease("good", "run-good");
  std::vector<std::unique_ptr<UnixClient>> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(std::make_unique<UnixClient>(hostile.socket_path(), 5s));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (metrics_.render().find(R"(squadbox_proxy_connections_refused_total{reason="lease_connections"} 12)") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);  // poll interval
  EXPECT_EQ(proxy_->open_connections(), 8u);
  EXPECT_NE(metrics_.render().find(R"(squadbox_proxy_connections_refused_total{reason="lease_connections"} 12)"),
            std::string::npos)
      << metrics_.render();
  // Accepted in connect order: the last twelve were refused and read EOF at once.
  for (size_t i = 8; i < idle.size(); ++i) EXPECT_TRUE(idle[i]->closed_by_peer()) << i;
  // Another container is not affected; the hostile one is served again once it lets go.
  EXPECT_EQ(call(good, "GET", "/r/x", {{"x-api-key", good.token().reveal()}}).status, 200);
  idle.clear();
  const auto freed = std::chrono::steady_clock::now() + 10s;
  while (proxy_->open_connections() > 0 && std::chrono::steady_clock::now() < freed)
    std::this_thread::sleep_for(20ms);  // poll interval
  EXPECT_EQ(call(hostile, "GET", "/r/x", {{"x-api-key", hostile.token().reveal()}}).status, 200);
}

TEST_F(CredentialProxyTest, RefusalFloodsAreAuditedAsOneRecordAndOneSummary) {
  FakeUpstream up;
  start({{"r", route(up.url())}});  // the default interval: a minute
  auto& l = lease("squad-a", "run-1");
  const std::string long_path = "/r/" + std::string(10000, 'p');
  UnixClient c(l.socket_path());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(c.request("GET", "/r/x", {{"x-api-key", "sbp_" + random_hex(32)}}).status, 401);
    EXPECT_EQ(c.request("GET", "/nowhere" + long_path, {{"x-api-key", l.token().reveal()}}).status, 404);
  }
  auto records = audit_at_least(2);
  ASSERT_EQ(records.size(), 2u) << "one record per key while the interval runs";
  // The summaries of the open windows are written when the proxy goes.
  leases_.clear();
  proxy_->stop();
  proxy_.reset();
  records = audit();
  ASSERT_EQ(records.size(), 4u);
  size_t denied = 0, refused = 0, summaries = 0;
  for (const auto& r : records) {
    EXPECT_LT(r.detail.size(), 600u) << "paths are cut to 256 bytes in audit details";
    if (r.event == "proxy.denied") ++denied;
    if (r.event == "proxy.request") ++refused;
    if (r.detail.find(R"("aggregated":true)") != std::string::npos) {
      ++summaries;
      EXPECT_NE(r.detail.find(R"("count":49)"), std::string::npos) << r.detail;
    }
  }
  EXPECT_EQ(denied, 2u);
  EXPECT_EQ(refused, 2u);
  EXPECT_EQ(summaries, 2u);
  EXPECT_NE(metrics_.render().find(R"(squadbox_proxy_denied_total{reason="unknown_token"} 50)"), std::string::npos);
}

}  // namespace
