// The WebSocket client against the loopback fake server over real TLS (test CA made by
// the openssl CLI), a listener that never answers, and a closed port.
#include "runtime/ws/websocket_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/fake_ws_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_pki.hpp"

namespace sb::http {
namespace {

using namespace std::chrono_literals;
using sb::test::FakeWsConnection;
using sb::test::FakeWsEnd;
using sb::test::FakeWsServer;
using Why = WebSocketClosed::Why;
using WsClock = std::chrono::steady_clock;

// Collects the client's callbacks for the test thread. Declared before the client, so it
// outlives the client's thread.
class WsEventLog {
 public:
  WebSocketEvents events() {
    WebSocketEvents e;
    e.on_open = [this] {
      std::lock_guard lock(mutex_);
      check_alive();
      ++opened_;
      changed_.notify_all();
    };
    e.on_text = [this](std::string text) {
      std::lock_guard lock(mutex_);
      check_alive();
      texts_.push_back(std::move(text));
      changed_.notify_all();
    };
    e.on_closed = [this](WebSocketClosed closed) {
      std::lock_guard lock(mutex_);
      check_alive();
      closed_.push_back(std::move(closed));
      closed_at_ = WsClock::now();
      changed_.notify_all();
    };
    return e;
  }

  bool wait_open(size_t n = 1, std::chrono::milliseconds timeout = 2s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return opened_ >= n; });
  }
  std::optional<std::string> wait_text(std::chrono::milliseconds timeout = 2s) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return !texts_.empty(); })) return std::nullopt;
    std::string t = std::move(texts_.front());
    texts_.pop_front();
    return t;
  }
  // The n-th (1-based) on_closed.
  std::optional<WebSocketClosed> wait_closed(size_t n = 1, std::chrono::milliseconds timeout = 2s) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return closed_.size() >= n; })) return std::nullopt;
    return closed_[n - 1];
  }
  size_t opened() {
    std::lock_guard lock(mutex_);
    return opened_;
  }
  size_t closed_count() {
    std::lock_guard lock(mutex_);
    return closed_.size();
  }
  WsClock::time_point closed_at() {
    std::lock_guard lock(mutex_);
    return closed_at_;
  }
  // After this, any callback is a test failure ("no callback after the destructor").
  void client_destroyed() { destroyed_ = true; }
  bool late_callback() const { return late_; }

 private:
  void check_alive() {
    if (destroyed_) late_ = true;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  size_t opened_ = 0;
  std::deque<std::string> texts_;
  std::vector<WebSocketClosed> closed_;
  WsClock::time_point closed_at_;
  std::atomic<bool> destroyed_{false};
  std::atomic<bool> late_{false};
};

// A TCP listener that completes connections in the kernel but never reads or answers:
// a TLS or WebSocket handshake against it hangs.
class WsBlackHole {
 public:
  WsBlackHole() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("black hole listener failed");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~WsBlackHole() { ::close(fd_); }
  WsBlackHole(const WsBlackHole&) = delete;
  WsBlackHole& operator=(const WsBlackHole&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

class WebSocketClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<sb::test::TempDir>("sb-ws-client");
    pki_ = std::make_unique<sb::test::TestPki>(sb::test::TestPki::generate(dir_->path()));
  }
  static void TearDownTestSuite() {
    pki_.reset();
    dir_.reset();
  }

  static sb::test::FakeWsServerOptions tls_server(const std::string& cert = {}, const std::string& key = {}) {
    sb::test::FakeWsServerOptions o;
    o.tls = true;
    o.cert_file = cert.empty() ? pki_->cert_file : cert;
    o.key_file = key.empty() ? pki_->key_file : key;
    return o;
  }
  static WebSocketOptions trusting() {
    WebSocketOptions o;
    o.ca_file = pki_->ca_file;
    o.connect_timeout = 3s;
    return o;
  }

  static inline std::unique_ptr<sb::test::TempDir> dir_;
  static inline std::unique_ptr<sb::test::TestPki> pki_;
};

TEST_F(WebSocketClientTest, OpensOverTlsAndEchoesBothWays) {
  FakeWsServer server(tls_server());
  server.set_on_connect([](FakeWsConnection& c) {
    c.send_text("hello");
    c.set_on_text([](FakeWsConnection& c, const std::string& m) { c.send_text("echo:" + m); });
  });
  WsEventLog log;
  WebSocketOptions o = trusting();
  o.user_agent = "squadbox-test/1";
  o.extra_headers = {{"X-Test", "yes"}};
  WebSocketClient client(o, log.events());
  client.connect(server.ws_url("/link/?ticket=a%2Fb&app_id=A0FAKE"));
  ASSERT_TRUE(log.wait_open());
  EXPECT_EQ(log.wait_text(), "hello");
  client.send("ping-1");
  client.send("ping-2");
  EXPECT_EQ(log.wait_text(), "echo:ping-1");
  EXPECT_EQ(log.wait_text(), "echo:ping-2");

  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  const auto& req = conn->request();
  EXPECT_EQ(req.target, "/link/?ticket=a%2Fb&app_id=A0FAKE");  // unchanged
  EXPECT_EQ(req.tls_server_name, "localhost");                 // SNI
  EXPECT_EQ(req.header("User-Agent"), "squadbox-test/1");
  EXPECT_EQ(req.header("X-Test"), "yes");
  EXPECT_EQ(req.header("Host"), "localhost:" + std::to_string(server.port()));
  // permessage-deflate is never offered.
  EXPECT_FALSE(req.header("Sec-WebSocket-Extensions").has_value());

  const WebSocketStats s = client.stats();
  EXPECT_EQ(s.connections_opened, 1u);
  EXPECT_EQ(s.messages_sent, 2u);
  EXPECT_EQ(s.messages_received, 3u);
  EXPECT_EQ(log.closed_count(), 0u);
}

TEST_F(WebSocketClientTest, PlainWsWorksAndAnIpLiteralIsVerifiedAgainstTheCertificate) {
  FakeWsServer plain;
  plain.set_on_connect([](FakeWsConnection& c) { c.send_text("plain"); });
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(plain.ws_url("/"));
  ASSERT_TRUE(log.wait_open());
  EXPECT_EQ(log.wait_text(), "plain");

  // wss://127.0.0.1: no SNI for an IP literal, and the certificate's IP SAN matches.
  FakeWsServer tls(tls_server());
  WsEventLog log2;
  WebSocketClient by_ip(trusting(), log2.events());
  by_ip.connect("wss://127.0.0.1:" + std::to_string(tls.port()) + "/gateway");
  ASSERT_TRUE(log2.wait_open()) << log2.wait_closed(1, 0ms).value_or(WebSocketClosed{}).error.message;
  auto conn = tls.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->request().tls_server_name, "");
}

TEST_F(WebSocketClientTest, KeepsTheOrderOfAThousandQueuedSends) {
  FakeWsServer server(tls_server());
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url());
  ASSERT_TRUE(log.wait_open());
  for (int i = 0; i < 1000; ++i) client.send("m" + std::to_string(i));
  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  for (int i = 0; i < 1000; ++i) {
    auto m = conn->wait_for_message(2s);
    ASSERT_TRUE(m.has_value()) << i;
    ASSERT_EQ(*m, "m" + std::to_string(i));
  }
}

TEST_F(WebSocketClientTest, AMessageLargerThanTheWriteBufferRoundTrips) {
  FakeWsServer server(tls_server());
  server.set_on_connect(
      [](FakeWsConnection& c) { c.set_on_text([](FakeWsConnection& c, const std::string& m) { c.send_text(m); }); });
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url());
  ASSERT_TRUE(log.wait_open());
  std::string big(300 * 1024, 'x');  // Beast's write buffer is 4 KiB: many frames
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  client.send(big);
  auto back = log.wait_text(3s);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, big);
}

TEST_F(WebSocketClientTest, AServerCloseCodeAndReasonAreReported) {
  FakeWsServer server(tls_server());
  server.set_on_connect([](FakeWsConnection& c) { c.close(4004, "Authentication failed."); });
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url());
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::peer_closed);
  EXPECT_EQ(closed->code, 4004);
  EXPECT_EQ(closed->reason, "Authentication failed.");
  EXPECT_EQ(closed->error.code, "");
  EXPECT_EQ(log.opened(), 1u);
  // The client answered the close frame and its socket is gone.
  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->wait_closed(2s));
  EXPECT_EQ(conn->end().how, FakeWsEnd::How::local) << conn->end().error;
  EXPECT_TRUE(server.wait_for_open(0, 2s));
}

TEST_F(WebSocketClientTest, CloseSendsOurCodeAndTheSocketIsGone) {
  FakeWsServer server(tls_server());
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url());
  ASSERT_TRUE(log.wait_open());
  client.send("last words");  // queued before the close frame
  client.close(4000, "resuming");
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::local_close);
  EXPECT_EQ(closed->error.code, "") << closed->error.message;
  EXPECT_EQ(closed->code, 4000);  // the server echoed our code

  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->wait_for_message(2s), "last words");
  ASSERT_TRUE(conn->wait_closed(2s));
  const FakeWsEnd end = conn->end();
  EXPECT_EQ(end.how, FakeWsEnd::How::close_frame) << end.error;
  EXPECT_EQ(end.client_code, 4000);
  EXPECT_EQ(end.client_reason, "resuming");
  EXPECT_TRUE(server.wait_for_open(0, 2s));
  // Sends after the close are dropped, not queued for a later connection.
  client.send("too late");
  EXPECT_EQ(conn->messages_received(), 1u);
}

TEST_F(WebSocketClientTest, DropGivesTheServerAnAbruptEofWithoutCloseFrame) {
  FakeWsServer server(tls_server());
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url());
  ASSERT_TRUE(log.wait_open());
  client.drop();
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::aborted);
  EXPECT_EQ(closed->error.code, "ws.aborted");
  EXPECT_FALSE(closed->code.has_value());

  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->wait_closed(2s));
  const FakeWsEnd end = conn->end();
  EXPECT_EQ(end.how, FakeWsEnd::How::eof) << end.error;
  EXPECT_FALSE(end.client_code.has_value());
}

TEST_F(WebSocketClientTest, AFrozenServerIsDetectedByTheIdleTimeout) {
  FakeWsServer server(tls_server());
  WsEventLog log;
  WebSocketOptions o = trusting();
  o.idle_timeout = 300ms;
  o.keep_alive_pings = true;
  WebSocketClient client(o, log.events());
  client.connect(server.ws_url());
  ASSERT_TRUE(log.wait_open());
  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  const auto frozen_at = WsClock::now();
  conn->freeze();  // the TCP connection stays, but nothing answers the pings
  auto closed = log.wait_closed(1, 2s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::idle_timeout);
  EXPECT_EQ(closed->error.code, "ws.idle_timeout");
  const auto took = log.closed_at() - frozen_at;
  EXPECT_GE(took, 100ms);   // not before the ping had its chance (idle/2 + idle/2 from the last bytes)
  EXPECT_LE(took, 1200ms);  // but soon after idle_timeout
}

TEST_F(WebSocketClientTest, KeepAlivePingsKeepAQuietLivePeerOpen) {
  FakeWsServer server(tls_server());
  WsEventLog log;
  WebSocketOptions o = trusting();
  o.idle_timeout = 300ms;
  o.keep_alive_pings = true;
  WebSocketClient client(o, log.events());
  client.connect(server.ws_url());
  ASSERT_TRUE(log.wait_open());
  // The server says nothing for 3 idle periods but answers pings.
  std::this_thread::sleep_for(900ms);
  EXPECT_EQ(log.closed_count(), 0u);
  client.send("still here");
  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->wait_for_message(2s), "still here");
}

TEST_F(WebSocketClientTest, AnUnknownCaIsRefused) {
  FakeWsServer untrusted(tls_server(pki_->untrusted_cert, pki_->untrusted_key));
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(untrusted.ws_url());
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::connect_failed);
  EXPECT_EQ(closed->error.code, "ws.tls") << closed->error.message;
  EXPECT_EQ(untrusted.connections_accepted(), 0u);

  // The system store alone does not know the test CA either.
  FakeWsServer server(tls_server());
  WsEventLog log2;
  WebSocketClient system_only(WebSocketOptions{}, log2.events());
  system_only.connect(server.ws_url());
  auto closed2 = log2.wait_closed();
  ASSERT_TRUE(closed2.has_value());
  EXPECT_EQ(closed2->error.code, "ws.tls") << closed2->error.message;
}

TEST_F(WebSocketClientTest, ACertificateForAnotherNameIsRefused) {
  // Signed by the trusted CA, but for other.invalid only: by name and by IP literal.
  FakeWsServer server(tls_server(pki_->wrong_host_cert, pki_->wrong_host_key));
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    WsEventLog log;
    WebSocketClient client(trusting(), log.events());
    client.connect("wss://" + host + ":" + std::to_string(server.port()) + "/");
    auto closed = log.wait_closed();
    ASSERT_TRUE(closed.has_value()) << host;
    EXPECT_EQ(closed->why, Why::connect_failed) << host;
    EXPECT_EQ(closed->error.code, "ws.tls") << host << ": " << closed->error.message;
  }
  EXPECT_EQ(server.connections_accepted(), 0u);
}

TEST_F(WebSocketClientTest, BadUrlsAndHeadersFailWithoutConnecting) {
  for (const char* url : {"", "https://localhost/", "wss://", "localhost:443/x", "wss://h:99999/", "ws://h /x"}) {
    WsEventLog log;
    WebSocketClient client(trusting(), log.events());
    client.connect(url);
    auto closed = log.wait_closed();
    ASSERT_TRUE(closed.has_value()) << url;
    EXPECT_EQ(closed->why, Why::connect_failed) << url;
    EXPECT_EQ(closed->error.code, "ws.bad_url") << url;
  }
  WsEventLog log;
  WebSocketOptions o = trusting();
  o.extra_headers = {{"X-Bad", "a\r\nInjected: 1"}};
  WebSocketClient client(o, log.events());
  client.connect("ws://127.0.0.1:1/");
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->error.code, "ws.bad_header");
}

TEST_F(WebSocketClientTest, ARefusedConnectionAndAHangingPeerFailTheConnect) {
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect("ws://127.0.0.1:1/");
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::connect_failed);
  EXPECT_EQ(closed->error.code, "ws.connect") << closed->error.message;

  // TCP connects, the TLS handshake never gets an answer: connect_timeout.
  WsBlackHole hole;
  WsEventLog log2;
  WebSocketOptions o = trusting();
  o.connect_timeout = 300ms;
  WebSocketClient slow(o, log2.events());
  const auto started = WsClock::now();
  slow.connect("wss://localhost:" + std::to_string(hole.port()) + "/");
  auto closed2 = log2.wait_closed(1, 2s);
  ASSERT_TRUE(closed2.has_value());
  EXPECT_EQ(closed2->why, Why::connect_failed);
  EXPECT_EQ(closed2->error.code, "ws.timeout") << closed2->error.message;
  EXPECT_LE(log2.closed_at() - started, 1500ms);
}

TEST_F(WebSocketClientTest, AnUpgradeRefusedWith401IsAHandshakeError) {
  FakeWsServer server(tls_server());
  server.set_upgrade_filter([](const sb::test::RecordedRequest&) {
    return std::optional(sb::test::FakeHttpReply::json(401, R"({"message":"401: Unauthorized"})"));
  });
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url("/?v=10&encoding=json"));
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::connect_failed);
  EXPECT_EQ(closed->error.code, "ws.handshake");
  EXPECT_EQ(closed->http_status, 401);
  EXPECT_NE(closed->error.message.find("401"), std::string::npos) << closed->error.message;
  EXPECT_EQ(log.opened(), 0u);
}

TEST_F(WebSocketClientTest, DestroyingTheClientMidConnectCallsNothingBack) {
  WsBlackHole hole;
  WsEventLog log;
  {
    WebSocketClient client(trusting(), log.events());
    client.connect("wss://localhost:" + std::to_string(hole.port()) + "/");
    std::this_thread::sleep_for(50ms);  // in the TLS handshake now
  }
  log.client_destroyed();
  // Destroyed right after connect() too (the connect may not even have started).
  FakeWsServer server(tls_server());
  WsEventLog log2;
  {
    WebSocketClient client(trusting(), log2.events());
    client.connect(server.ws_url());
  }
  log2.client_destroyed();
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(log.late_callback());
  EXPECT_FALSE(log2.late_callback());
  EXPECT_EQ(log.closed_count() + log2.closed_count(), 0u);
}

TEST_F(WebSocketClientTest, DestroyingTheClientMidReadCallsNothingBack) {
  FakeWsServer server(tls_server());
  server.set_on_connect([](FakeWsConnection& c) {
    for (int i = 0; i < 200; ++i) c.send_text(std::string(2000, 'r'));
  });
  WsEventLog log;
  {
    WebSocketClient client(trusting(), log.events());
    client.connect(server.ws_url());
    ASSERT_TRUE(log.wait_open());
    ASSERT_TRUE(log.wait_text().has_value());
    client.send("in flight");
  }
  log.client_destroyed();
  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->wait_closed(2s));  // the socket went away with the client
  EXPECT_NE(conn->end().how, FakeWsEnd::How::close_frame);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(log.late_callback());
  EXPECT_EQ(log.closed_count(), 0u);
}

TEST_F(WebSocketClientTest, HoldsOneConnectionAtATimeAndReconnectsAfterClosed) {
  FakeWsServer server(tls_server());
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url("/one"));
  client.connect(server.ws_url("/two"));  // while the first is opening
  auto busy = log.wait_closed();
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->why, Why::connect_failed);
  EXPECT_EQ(busy->error.code, "ws.busy");
  ASSERT_TRUE(log.wait_open());
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.tcp_connections(), 1u);

  client.drop();
  ASSERT_TRUE(log.wait_closed(2).has_value());
  client.connect(server.ws_url("/three"));
  ASSERT_TRUE(log.wait_open(2));
  ASSERT_TRUE(server.wait_for_open(1, 2s));
  EXPECT_EQ(server.connections_accepted(), 2u);
  EXPECT_EQ(server.tcp_connections(), 2u);
  EXPECT_EQ(server.connections()[1]->request().target, "/three");
}

TEST_F(WebSocketClientTest, AnOversizedMessageEndsTheConnectionClearly) {
  FakeWsServer server(tls_server());
  server.set_on_connect([](FakeWsConnection& c) { c.send_text(std::string(100 * 1024, 'z')); });
  WsEventLog log;
  WebSocketOptions o = trusting();
  o.max_message_bytes = 64 * 1024;
  WebSocketClient client(o, log.events());
  client.connect(server.ws_url());
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::error);
  EXPECT_EQ(closed->error.code, "ws.message_too_big") << closed->error.message;
  auto conn = server.wait_for_connection(1, 2s);
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->wait_closed(2s));
  EXPECT_EQ(conn->end().client_code, 1009);  // "message too big"
  EXPECT_EQ(client.stats().messages_received, 0u);
}

TEST_F(WebSocketClientTest, ThePeerDroppingTheConnectionIsAnErrorWithoutCode) {
  FakeWsServer server(tls_server());
  server.set_on_connect([](FakeWsConnection& c) { c.drop(); });
  WsEventLog log;
  WebSocketClient client(trusting(), log.events());
  client.connect(server.ws_url());
  auto closed = log.wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->why, Why::error);
  EXPECT_EQ(closed->error.code, "ws.io");
  EXPECT_FALSE(closed->code.has_value());
}

}  // namespace
}  // namespace sb::http
