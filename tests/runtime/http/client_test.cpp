// The synchronous client against the real server, a silent listener, a closed port and a
// small TLS server using a test-only self-signed certificate.
// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include "runtime/http/client.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "runtime/http/server.hpp"
#include "tests/runtime/http/raw_conn.hpp"

namespace sb::http {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using test::Clock;

// Self-signed, CN=localhost, SAN DNS:localhost + IP:127.0.0.1, valid until 2126. Test only.
constexpr std::string_view kCert = R"(-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUWgw7b10B58uMFWBVALwIh7yWmCEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjIxNDEwOFoYDzIxMjYxMTAy
MjE0MTA4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAR0KmPhhfUJIs5Yf1CjFAZBg8tKApdHEVFnRM7lqFS7p5daD7BSx55/
TBYMCVm+TMpp8CXxaRWdrSZqFLcBvjkWo28wbTAdBgNVHQ4EFgQU9suqYDJdLCZt
RgtCk9ZNv8xUtSswHwYDVR0jBBgwFoAU9suqYDJdLCZtRgtCk9ZNv8xUtSswDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIgOIrFMZxe9xFgQlje7UQs0+hBqEdMoJvxuEAYieNYyi0CIQD9
/A/atzmO7EiSoY0q8hxPU1iQq6YPgK8n/9ua9LWaMw==
-----END CERTIFICATE-----
)";
constexpr std::string_view kKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUB8TOzMzZ0sDo5y3
cmC7AYgOaC9opIxJQc7Pz2wjO82hRANCAAR0KmPhhfUJIs5Yf1CjFAZBg8tKApdH
EVFnRM7lqFS7p5daD7BSx55/TBYMCVm+TMpp8CXxaRWdrSZqFLcBvjkW
-----END PRIVATE KEY-----
)";

TEST(HttpUrl, ParsesGoodUrls) {
  auto a = Url::parse("http://127.0.0.1:8080/a/b?c=d#frag");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->scheme, "http");
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(a->target, "/a/b?c=d");
  EXPECT_EQ(a->host_header(), "127.0.0.1:8080");

  auto b = Url::parse("http://example.com");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(b->target, "/");
  EXPECT_EQ(b->host_header(), "example.com");

  auto c = Url::parse("HTTPS://Example.com?x=1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->scheme, "https");
  EXPECT_EQ(c->port, 443);
  EXPECT_EQ(c->target, "/?x=1");

  auto d = Url::parse("http://[::1]:9000/x");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 9000);
  EXPECT_EQ(d->host_header(), "[::1]:9000");

  auto e = Url::parse("https://h:443/p");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host_header(), "h");
}

TEST(HttpUrl, RejectsBadUrls) {
  for (const char* text : {"", "127.0.0.1:80/x", "http://", "http:///x", "http://:80/", "http://h:0/",
                           "http://h:65536/", "http://h:abc/", "http://h:/", "http://user:pw@h/", "http://h /x",
                           "http://[::1/", "http://h:80:90/", "://h", "http://[zz]/", "http://h\n/"}) {
    auto r = Url::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "http.bad_url") << text;
  }
  for (const char* text : {"ftp://h/", "ws://h/", "file:///etc/passwd"}) {
    auto r = Url::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "http.unsupported_scheme") << text;
  }
}

TEST(HttpUrl, ParsesWebSocketUrlsApart) {
  auto a = Url::parse_websocket("wss://gateway.discord.gg/?v=10&encoding=json");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->scheme, "wss");
  EXPECT_TRUE(a->secure());
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->target, "/?v=10&encoding=json");
  EXPECT_EQ(a->host_header(), "gateway.discord.gg");

  // Slack's path and query go to the handshake unchanged; no path becomes "/".
  auto b = Url::parse_websocket("WS://127.0.0.1:8080/link/?ticket=a%2Fb&app_id=A0");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->secure());
  EXPECT_EQ(b->target, "/link/?ticket=a%2Fb&app_id=A0");
  EXPECT_EQ(b->host_header(), "127.0.0.1:8080");
  EXPECT_EQ(Url::parse_websocket("ws://h")->target, "/");
  EXPECT_EQ(Url::parse_websocket("wss://h:443")->host_header(), "h");

  EXPECT_EQ(Url::parse_websocket("https://h/").error().code, "http.unsupported_scheme");
  EXPECT_EQ(Url::parse_websocket("wss://").error().code, "http.bad_url");
  // http::request keeps refusing ws URLs (it would speak TLS to ws://).
  EXPECT_EQ(Url::parse("wss://h/").error().code, "http.unsupported_scheme");
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/hello", [](const Request&, Reply reply) { reply(Response::json(200, "{}")); });
    router_.add("GET", "/big",
                [](const Request&, Reply reply) { reply(Response::text(200, std::string(10000, 'z'))); });
    router_.add("PUT", "/echo", [](const Request& r, Reply reply) {
      Response res = Response::text(201, r.method + " " + r.header("x-a").value_or("-") + " " + r.body);
      res.headers.emplace_back("X-Reply", "yes");
      reply(std::move(res));
    });
    server_ = std::make_unique<Server>(ServerOptions{}, router_.handler(), nullptr);
    auto port = server_->start();
    ASSERT_TRUE(port.ok());
    base_ = "http://127.0.0.1:" + std::to_string(*port);
  }

  Router router_;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(HttpClientTest, SendsMethodHeadersAndBody) {
  auto res = request("PUT", base_ + "/echo", {{"X-A", "1"}}, "payload", 5s);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, "PUT 1 payload");
  EXPECT_EQ(res->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(res->header("x-reply"), "yes");
}

TEST_F(HttpClientTest, ResolvesHostNames) {
  auto res = request("GET", "http://localhost:" + base_.substr(base_.rfind(':') + 1) + "/hello", {}, "", 5s);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpClientTest, HeadHasNoBody) {
  auto res = request("HEAD", base_ + "/big", {}, "", 5s);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("content-length"), "10000");
  EXPECT_TRUE(res->body.empty());
}

TEST_F(HttpClientTest, ResponseBodyLimit) {
  ClientOptions options;
  options.body_limit = 1000;
  auto res = request("GET", base_ + "/big", {}, "", options);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, "http.response_too_large");
}

TEST_F(HttpClientTest, RejectsInvalidInput) {
  auto bad_method = request("GE T", base_ + "/hello", {}, "", 5s);
  ASSERT_FALSE(bad_method.ok());
  EXPECT_EQ(bad_method.error().code, "http.bad_request");
  auto bad_header = request("GET", base_ + "/hello", {{"X-A", "a\r\nB: c"}}, "", 5s);
  ASSERT_FALSE(bad_header.ok());
  EXPECT_EQ(bad_header.error().code, "http.bad_request");
  auto bad_url = request("GET", "not a url", {}, "", 5s);
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().code, "http.bad_url");
  auto scheme = request("GET", "ftp://127.0.0.1/", {}, "", 5s);
  ASSERT_FALSE(scheme.ok());
  EXPECT_EQ(scheme.error().code, "http.unsupported_scheme");
}

// A port nothing listens on: bind an ephemeral port, then release it.
uint16_t closed_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

TEST(HttpClient, ClosedPortIsConnectError) {
  auto res = request("GET", "http://127.0.0.1:" + std::to_string(closed_port()) + "/", {}, "", 5s);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, "http.connect");
}

TEST(HttpClient, SilentServerIsTimeout) {
  // Listening but never accepting: the kernel completes the handshake, nobody answers.
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const auto t0 = Clock::now();
  auto res = request("GET", "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/", {}, "", 300ms);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, "http.timeout");
  EXPECT_GE(Clock::now() - t0, 250ms);
  EXPECT_LT(Clock::now() - t0, 3s);
}

TEST(HttpClient, MalformedResponseIsBadResponse) {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  std::thread peer([&] {
    tcp::socket s(ioc);
    boost::system::error_code ec;
    a.accept(s, ec);
    if (ec) return;
    net::write(s, net::buffer(std::string_view("NOT HTTP AT ALL\r\n\r\n")), ec);
    s.shutdown(tcp::socket::shutdown_send, ec);
    char buf[1024];
    while (!ec) s.read_some(net::buffer(buf), ec);
  });
  auto res = request("GET", "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/", {}, "", 5s);
  peer.join();
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, "http.bad_response");
}

// Serves exactly one HTTPS request with the test certificate.
class TlsServer {
 public:
  TlsServer() : ctx_(ssl::context::tls_server), acceptor_(ioc_, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    ctx_.use_certificate_chain(net::buffer(kCert.data(), kCert.size()));
    ctx_.use_private_key(net::buffer(kKey.data(), kKey.size()), ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve_one(); });
  }
  ~TlsServer() {
    if (!accepted_) {  // unblock accept() if the test never connected
      net::io_context ioc;
      tcp::socket s(ioc);
      boost::system::error_code ec;
      s.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  void serve_one() {
    tcp::socket socket(ioc_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    accepted_ = true;
    if (ec) return;
    ssl::stream<tcp::socket&> stream(socket, ctx_);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    // Raw parsing keeps Beast's request parser out of this TU: under -fsanitize GCC 12
    // reports a false -Wmaybe-uninitialized inside it here.
    std::string head;
    net::read_until(stream, net::dynamic_buffer(head), "\r\n\r\n", ec);
    if (ec) return;
    const size_t sp1 = head.find(' ');
    const std::string target = head.substr(sp1 + 1, head.find(' ', sp1 + 1) - sp1 - 1);
    const size_t host_at = head.find("\r\nHost: ");
    const std::string host =
        host_at == std::string::npos ? "" : head.substr(host_at + 8, head.find("\r\n", host_at + 8) - host_at - 8);
    const std::string body = "tls:" + target + ":" + host;
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    net::write(stream, net::buffer(response), ec);
    stream.shutdown(ec);
  }

  net::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> accepted_{false};
  std::thread thread_;
};

std::string write_ca_file() {
  const std::string path = ::testing::TempDir() + "sb_http_test_ca_" + std::to_string(::getpid()) + ".pem";
  std::ofstream(path) << kCert;
  return path;
}

TEST(HttpClientTls, TrustedCertificate) {
  TlsServer server;
  ClientOptions options;
  options.timeout = 5s;
  options.ca_file = write_ca_file();
  auto res = request("GET", "https://127.0.0.1:" + std::to_string(server.port()) + "/x?y=1", {}, "", options);
  ASSERT_TRUE(res.ok()) << res.error().code << ": " << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "tls:/x?y=1:127.0.0.1:" + std::to_string(server.port()));
  std::remove(options.ca_file.c_str());
}

TEST(HttpClientTls, VerifiesHostNameViaSni) {
  TlsServer server;
  ClientOptions options;
  options.ca_file = write_ca_file();
  auto res = request("GET", "https://localhost:" + std::to_string(server.port()) + "/", {}, "", options);
  ASSERT_TRUE(res.ok()) << res.error().code << ": " << res.error().message;
  EXPECT_EQ(res->status, 200);
  std::remove(options.ca_file.c_str());
}

TEST(HttpClientTls, UntrustedCertificateIsTlsError) {
  TlsServer server;
  auto res = request("GET", "https://127.0.0.1:" + std::to_string(server.port()) + "/", {}, "", 5s);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, "http.tls");
}

TEST(HttpClientTls, MissingCaFileIsTlsError) {
  TlsServer server;
  ClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  auto res = request("GET", "https://127.0.0.1:" + std::to_string(server.port()) + "/", {}, "", options);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, "http.tls");
}

}  // namespace
}  // namespace sb::http
