#pragma once
// FakeUpstream: a real HTTP/1.1 server on 127.0.0.1 (plain or TLS) standing in for an
// API such as api.anthropic.com in tests and benchmarks. It records every request
// (method, target, headers, body, TLS server name) and answers what a handler says:
// JSON, error statuses, slow answers, streams of chunks (server-sent events) sent one
// by one with delays or gates in between, a connection closed without an answer, or
// raw garbage. Keep-alive is honoured. One thread per connection: simple, and a test
// never has more than a few dozen connections.
//
//   sb::test::TestPki pki = sb::test::TestPki::generate(dir);        // openssl CLI
//   sb::test::FakeUpstream up({.tls = true, .cert_file = pki.cert_file, .key_file = pki.key_file});
//   up.set_handler([](const sb::test::RecordedRequest& r) {
//     return sb::test::UpstreamReply::json(200, R"({"ok":true})");
//   });
//   ... point a client at up.url() ("https://localhost:PORT") ...
//   up.wait_for_requests(1, 5s); auto seen = up.requests();
//
// Header-only (Beast); include it from test and benchmark sources only.
#include <fcntl.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>  // Boost 1.74 Asio with -std=c++20 needs it first
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

#include "tests/support/recorded_request.hpp"
#include "tests/support/test_pki.hpp"

namespace sb::test {

// A one-shot latch: chunks of a stream can wait for the test to open it, which
// orders events without relying on how long anything takes.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  // True if opened within `timeout`.
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  bool is_open() {
    std::lock_guard lock(mutex_);
    return open_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct UpstreamChunk {
  UpstreamChunk(std::string text, std::chrono::milliseconds wait = std::chrono::milliseconds(0),
                std::shared_ptr<Gate> after = nullptr)  // NOLINT: implicit from a string by design
      : data(std::move(text)), delay(wait), gate(std::move(after)) {}

  std::string data;
  std::chrono::milliseconds delay{0};  // before sending it
  std::shared_ptr<Gate> gate;          // if set: wait for it (at most gate_timeout) first
  std::chrono::milliseconds gate_timeout{20000};
};

struct UpstreamReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                    // sent with Content-Length when `chunks` is empty
  std::vector<UpstreamChunk> chunks;   // non-empty: Transfer-Encoding: chunked, one flush each
  std::chrono::milliseconds delay{0};  // before the status line (a slow upstream)
  bool close_without_answer = false;   // read the request, then close the connection
  bool close_after = false;            // answer with Connection: close, then close
  bool drop_after = false;             // answer as keep-alive, then close without saying so
  std::string raw;                     // non-empty: written verbatim instead of a response

  static UpstreamReply json(int status, std::string body) {
    UpstreamReply r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
    return r;
  }
  // Server-sent events: each string is one event ("event: x\ndata: y\n\n"), flushed alone.
  static UpstreamReply sse(std::vector<UpstreamChunk> events) {
    UpstreamReply r;
    r.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
    r.chunks = std::move(events);
    return r;
  }
};

struct FakeUpstreamOptions {
  bool tls = false;
  std::string cert_file;  // PEM chain, for tls
  std::string key_file;
  bool record = true;  // false: count requests but keep none (benchmarks)
};

class FakeUpstream {
 public:
  using Handler = std::function<UpstreamReply(const RecordedRequest&)>;
  using Options = FakeUpstreamOptions;

  FakeUpstream() : FakeUpstream(Options{}) {}
  explicit FakeUpstream(Options options) : options_(std::move(options)) {
    namespace net = boost::asio;
    if (options_.tls) {
      tls_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
      tls_->use_certificate_chain_file(options_.cert_file);
      tls_->use_private_key_file(options_.key_file, net::ssl::context::pem);
    }
    acceptor_.open(net::ip::tcp::v4());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~FakeUpstream() { stop(); }
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // Default: 200 {"ok":true}. May be replaced at any time.
  void set_handler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" or "https://localhost:PORT" (the name the test certificate carries).
  std::string url() const {
    return options_.tls ? "https://localhost:" + std::to_string(port_) : "http://127.0.0.1:" + std::to_string(port_);
  }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  size_t request_count() const {
    std::lock_guard lock(mutex_);
    return request_count_;
  }
  size_t connection_count() const { return connections_.load(); }
  // Waits until `n` connections were closed by this server (its socket closed: a client
  // that reuses the connection afterwards sees EOF); false on timeout.
  bool wait_for_closed(size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return recorded_.wait_for(lock, timeout, [&] { return closed_count_ >= n; });
  }
  // Polls until `n` requests were recorded; false on timeout.
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return recorded_.wait_for(lock, timeout, [&] { return request_count_ >= n; });
  }
  void clear() {
    std::lock_guard lock(mutex_);
    requests_.clear();
    request_count_ = 0;
  }

  // Closes the listener and every connection, then joins all threads. Idempotent.
  void stop() {
    if (stopping_.exchange(true)) return;
    {
      std::lock_guard lock(mutex_);
      stop_cv_.notify_all();
    }
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes accept()
    if (accept_thread_.joinable()) accept_thread_.join();
    std::list<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

 private:
  using tcp = boost::asio::ip::tcp;

  void accept_loop() {
    while (!stopping_) {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) {
        if (stopping_) return;
        continue;
      }
      // A real API server answers without Nagle's delay; without this the fake's status
      // line and body (two writes) waited for a delayed ACK: 40 ms per answer.
      socket.set_option(tcp::no_delay(true), ec);
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      open_fds_.insert(socket.native_handle());
      const size_t id = ++connections_;
      threads_.emplace_back([this, s = std::move(socket), id]() mutable { serve(std::move(s), id); });
    }
  }

  // Sleeps, but wakes early when the server stops.
  void pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    stop_cv_.wait_for(lock, d, [&] { return stopping_.load(); });
  }

  void serve(tcp::socket socket, size_t id) {
    const int fd = socket.native_handle();
    try {
      if (tls_) {
        boost::asio::ssl::stream<tcp::socket&> stream(socket, *tls_);
        stream.handshake(boost::asio::ssl::stream_base::server);
        const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        exchange(stream, id, sni ? sni : "");
        boost::system::error_code ec;
        stream.shutdown(ec);
      } else {
        exchange(socket, id, "");
      }
    } catch (const std::exception&) {
      // the peer went away, or the server stops: end of this connection
    }
    // Under the lock, after leaving open_fds_: stop() never shuts down a reused fd number.
    std::lock_guard lock(mutex_);
    open_fds_.erase(fd);
    boost::system::error_code ec;
    socket.close(ec);
    ++closed_count_;
    recorded_.notify_all();
  }

  template <class Stream>
  void exchange(Stream& stream, size_t id, const std::string& sni) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(1ull << 31);
      http::read(stream, buffer, parser);
      const auto& req = parser.get();
      RecordedRequest rec;
      rec.method = std::string(req.method_string());
      rec.target = std::string(req.target());
      for (const auto& f : req) rec.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      rec.body = req.body();
      rec.tls_server_name = sni;
      rec.connection = id;
      Handler handler;
      {
        std::lock_guard lock(mutex_);
        handler = handler_;
      }
      UpstreamReply reply = handler ? handler(rec) : UpstreamReply::json(200, R"({"ok":true})");
      {
        std::lock_guard lock(mutex_);
        ++request_count_;
        if (options_.record) requests_.push_back(std::move(rec));
        recorded_.notify_all();
      }
      if (reply.delay.count() > 0) pause(reply.delay);
      if (stopping_ || reply.close_without_answer) return;
      if (!reply.raw.empty()) {
        boost::asio::write(stream, boost::asio::buffer(reply.raw));
        return;
      }
      std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                         std::string(http::obsolete_reason(static_cast<http::status>(reply.status))) + "\r\n";
      for (const auto& [n, v] : reply.headers) head += n + ": " + v + "\r\n";
      const bool close = reply.close_after || !req.keep_alive();
      if (close) head += "Connection: close\r\n";
      if (reply.chunks.empty()) {
        head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
        if (req.method() != http::verb::head) head += reply.body;
        boost::asio::write(stream, boost::asio::buffer(head));
      } else {
        head += "Transfer-Encoding: chunked\r\n\r\n";
        boost::asio::write(stream, boost::asio::buffer(head));
        for (const auto& c : reply.chunks) {
          if (c.delay.count() > 0) pause(c.delay);
          if (c.gate) c.gate->wait(c.gate_timeout);
          if (stopping_) return;
          char size[24];
          std::snprintf(size, sizeof size, "%zx\r\n", c.data.size());
          boost::asio::write(stream, boost::asio::buffer(std::string(size) + c.data + "\r\n"));
        }
        boost::asio::write(stream, boost::asio::buffer(std::string("0\r\n\r\n")));
      }
      if (close || reply.drop_after) return;
    }
  }

  Options options_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::unique_ptr<boost::asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  size_t closed_count_ = 0;  // guarded by mutex_
  mutable std::mutex mutex_;
  mutable std::condition_variable recorded_;
  std::condition_variable stop_cv_;
  Handler handler_;
  std::vector<RecordedRequest> requests_;
  size_t request_count_ = 0;
  std::set<int> open_fds_;
  std::list<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace sb::test
