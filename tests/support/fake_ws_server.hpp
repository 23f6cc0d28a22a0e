#pragma once
// FakeWsServer: a loopback server (127.0.0.1, ephemeral port, plain or TLS) that answers
// plain HTTP requests and accepts WebSocket upgrades on the same port, the way Discord
// (GET /api/v10/gateway/bot, then wss) and Slack (POST apps.connections.open, then wss)
// look to a client. Fake platform servers are built on top of it: the HTTP handler
// fakes the REST bootstrap, on_connect and the per-connection API fake the socket.
//
//   sb::test::FakeWsServer server({.tls = true, .cert_file = pki.cert_file, .key_file = pki.key_file});
//   server.set_http_handler([&](const sb::test::RecordedRequest& r) {
//     return sb::test::FakeHttpReply::json(200, R"({"url":")" + server.ws_url("/") + R"("})");
//   });
//   server.set_on_connect([](sb::test::FakeWsConnection& c) {
//     c.send_text(R"({"op":10})");
//     c.set_on_text([](sb::test::FakeWsConnection& c, const std::string& m) { c.send_text(m); });
//   });
//   auto conn = server.wait_for_connection(1, 2s);       // the first WebSocket connection
//   auto got = conn->wait_for_message(2s);               // what the client sent
//
// One thread runs all I/O (Beast, asynchronous); every public function is thread-safe.
// Callbacks (HTTP handler, upgrade filter, on_connect, on_text) run on that thread, one
// at a time; they may call the connection's functions. Boost stays in fake_ws_server.cpp,
// compiled once into sb_test_support (Beast's WebSocket templates are heavy).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/recorded_request.hpp"

namespace sb::test {

struct FakeHttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static FakeHttpReply json(int status, std::string body) {
    return FakeHttpReply{status, {{"Content-Type", "application/json"}}, std::move(body)};
  }
  static FakeHttpReply text(int status, std::string body) {
    return FakeHttpReply{status, {{"Content-Type", "text/plain"}}, std::move(body)};
  }
};

// How a WebSocket connection ended, seen from the server.
struct FakeWsEnd {
  enum class How {
    open,         // not ended yet
    close_frame,  // the client sent a close frame (client_code/client_reason)
    eof,          // the client's TCP went away without a close frame (or TLS close_notify)
    local,        // this side ended it: close() answered or timed out, drop(), stop()
    error,        // anything else (protocol error, oversized message)
  };
  How how = How::open;
  std::optional<uint16_t> client_code;  // the close code the client sent, if any
  std::string client_reason;
  std::string error;  // Beast's message for eof/error
};

class FakeWsConnection {
 public:
  using TextHandler = std::function<void(FakeWsConnection&, const std::string&)>;
  virtual ~FakeWsConnection() = default;

  // 1, 2, ... in accept order, shared with FakeWsServer::wait_for_connection.
  virtual size_t id() const = 0;
  // The upgrade request: target (path and query, unchanged), headers, SNI.
  virtual const RecordedRequest& request() const = 0;

  // Queued, written in call order as text frames.
  virtual void send_text(std::string text) = 0;
  // A close frame after the queued messages; the socket closes once the client answers
  // (or after 2 s).
  virtual void close(uint16_t code, std::string reason = {}) = 0;
  // Closes the TCP socket now: no close frame (the client sees an abrupt EOF).
  virtual void drop() = 0;
  // Stops reading and writing for good but keeps the socket open: the client's pings go
  // unanswered, a half-open or frozen peer. (Not reversible: Beast answers pings inside
  // any pending read, and a pending read ends only by failing the stream.)
  virtual void freeze() = 0;

  // Text messages from the client: the handler sees each as it arrives (on the server
  // thread); without a handler they are queued for wait_for_message.
  virtual void set_on_text(TextHandler handler) = 0;
  // The oldest queued message, waiting up to `timeout`.
  virtual std::optional<std::string> wait_for_message(std::chrono::milliseconds timeout) = 0;
  virtual size_t messages_received() const = 0;

  virtual bool closed() const = 0;
  virtual bool wait_closed(std::chrono::milliseconds timeout) = 0;
  virtual FakeWsEnd end() const = 0;
};

struct FakeWsServerOptions {
  bool tls = false;
  std::string cert_file;  // PEM chain, for tls
  std::string key_file;
  size_t max_message_bytes = 64u << 20;  // what the server accepts from a client
};

class FakeWsServer {
 public:
  using HttpHandler = std::function<FakeHttpReply(const RecordedRequest&)>;
  // For an upgrade request: a reply refuses the upgrade with it, nullopt accepts.
  using UpgradeFilter = std::function<std::optional<FakeHttpReply>(const RecordedRequest&)>;
  using ConnectHandler = std::function<void(FakeWsConnection&)>;

  explicit FakeWsServer(FakeWsServerOptions options = {});
  ~FakeWsServer();  // stop()
  FakeWsServer(const FakeWsServer&) = delete;
  FakeWsServer& operator=(const FakeWsServer&) = delete;

  // Default: 404. Replaceable at any time.
  void set_http_handler(HttpHandler handler);
  // Default: accept every upgrade.
  void set_upgrade_filter(UpgradeFilter filter);
  // Runs after the upgrade, before the first read: the place to send a hello and to set
  // on_text without missing a message.
  void set_on_connect(ConnectHandler handler);

  uint16_t port() const;
  // "https://localhost:PORT" / "http://127.0.0.1:PORT" (the test certificate's name).
  std::string http_url() const;
  // "wss://localhost:PORT" + path / "ws://127.0.0.1:PORT" + path.
  std::string ws_url(const std::string& path_and_query = "/") const;

  // The n-th (1-based) WebSocket connection, waiting up to `timeout`; nullptr if none.
  std::shared_ptr<FakeWsConnection> wait_for_connection(size_t n, std::chrono::milliseconds timeout);
  std::vector<std::shared_ptr<FakeWsConnection>> connections() const;
  size_t connections_accepted() const;  // WebSocket upgrades accepted so far
  size_t connections_open() const;      // of those, not yet ended
  // True once exactly `n` WebSocket connections are open (within `timeout`).
  bool wait_for_open(size_t n, std::chrono::milliseconds timeout) const;

  // Plain HTTP requests (not upgrades), in arrival order.
  std::vector<RecordedRequest> http_requests() const;
  bool wait_for_http_requests(size_t n, std::chrono::milliseconds timeout) const;
  size_t tcp_connections() const;  // every accepted TCP connection, HTTP or WebSocket

  // Closes the listener and every connection (no close frames) and joins the thread.
  // Idempotent; not from a callback. Connection objects stay valid; their functions do
  // nothing afterwards.
  void stop();

  // The implementation's shared state (fake_ws_server.cpp); public only so that the
  // connection templates there can name it.
  struct Core;

 private:
  FakeWsServerOptions options_;
  std::shared_ptr<Core> core_;
};

}  // namespace sb::test
