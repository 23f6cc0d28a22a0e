// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include "tests/support/fake_ws_server.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>

namespace sb::test {

namespace {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using boost::system::error_code;
using PlainNext = beast::tcp_stream;
using TlsNext = beast::ssl_stream<beast::tcp_stream>;

// Anything the server can close at stop().
struct Closable {
  virtual ~Closable() = default;
  virtual void close_now() = 0;
};

std::string str(beast::string_view s) {
  return {s.data(), s.size()};
}

}  // namespace

struct FakeWsServer::Core : std::enable_shared_from_this<FakeWsServer::Core> {
  explicit Core(FakeWsServerOptions o) : options(std::move(o)) {}

  // Runs `fn` on the server thread; false (and nothing runs) once stop() began, so that
  // no handler is left queued in a dead io_context holding a connection.
  template <class Fn>
  bool post(Fn&& fn) {
    std::lock_guard lock(mutex);
    if (stop_requested) return false;
    net::post(ioc, std::forward<Fn>(fn));
    return true;
  }

  void accept();

  FakeWsServerOptions options;
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<ssl::context> tls;
  std::thread thread;
  uint16_t port = 0;

  // Server thread only:
  bool stopping = false;
  std::vector<std::weak_ptr<Closable>> closables;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  bool stop_requested = false;
  HttpHandler http_handler;
  UpgradeFilter upgrade_filter;
  ConnectHandler on_connect;
  std::vector<std::shared_ptr<FakeWsConnection>> ws_connections;
  size_t ws_open = 0;
  std::vector<RecordedRequest> http_requests;
  size_t tcp_count = 0;

  void track(std::weak_ptr<Closable> c) {
    std::erase_if(closables, [](const auto& w) { return w.expired(); });
    closables.push_back(std::move(c));
  }
};

namespace {

using Core = FakeWsServer::Core;

template <class Next>
class WsConn final : public FakeWsConnection, public Closable, public std::enable_shared_from_this<WsConn<Next>> {
 public:
  WsConn(std::shared_ptr<Core> core, Next&& next, RecordedRequest request)
      : core_(std::move(core)), ws_(std::move(next)), close_timer_(core_->ioc), request_(std::move(request)) {}

  void start(bhttp::request<bhttp::string_body> req) {
    // Passive on purpose: no server pings, so a client's idle detection is tested alone.
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout = std::chrono::seconds(5);
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    ws_.set_option(timeout);
    ws_.read_message_max(core_->options.max_message_bytes);
    ws_.text(true);
    ws_.async_accept(req, [self = this->shared_from_this()](error_code ec) {
      if (ec) return self->close_now();
      self->opened();
    });
  }

  size_t id() const override { return id_; }
  const RecordedRequest& request() const override { return request_; }

  void send_text(std::string text) override {
    core_->post([self = this->shared_from_this(), text = std::move(text)]() mutable {
      if (self->io_done_ || self->frozen_ || self->closing_) return;
      self->queue_.push_back(Out{std::move(text), std::nullopt});
      self->write_next();
    });
  }

  void close(uint16_t code, std::string reason) override {
    core_->post([self = this->shared_from_this(), code, reason = std::move(reason)] {
      if (self->io_done_ || self->frozen_ || self->closing_) return;
      self->closing_ = true;
      websocket::close_reason frame;
      frame.code = code;
      // const char*: Beast's assign(T const&, pos, n) template would take a char*.
      frame.reason.assign(static_cast<const char*>(reason.data()), std::min<size_t>(reason.size(), 123));
      self->queue_.push_back(Out{{}, frame});
      self->write_next();
      self->close_timer_.expires_after(std::chrono::seconds(2));
      self->close_timer_.async_wait([self](error_code ec) {
        if (!ec) self->close_now();
      });
    });
  }

  void drop() override {
    core_->post([self = this->shared_from_this()] { self->close_now(); });
  }

  void freeze() override {
    core_->post([self = this->shared_from_this()] {
      if (self->io_done_) return;
      self->frozen_ = true;
      // Ends the pending read (and with it Beast's automatic pongs); the socket stays.
      error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().cancel(ignored);
    });
  }

  void set_on_text(TextHandler handler) override {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

  std::optional<std::string> wait_for_message(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return !inbox_.empty(); })) return std::nullopt;
    std::string m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }

  size_t messages_received() const override {
    std::lock_guard lock(mutex_);
    return received_;
  }

  bool closed() const override {
    std::lock_guard lock(mutex_);
    return end_.how != FakeWsEnd::How::open;
  }

  bool wait_closed(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return end_.how != FakeWsEnd::How::open; });
  }

  FakeWsEnd end() const override {
    std::lock_guard lock(mutex_);
    return end_;
  }

  // Server thread: ends the connection now (drop, close timeout, stop).
  void close_now() override {
    local_end_ = true;
    close_timer_.cancel();
    beast::get_lowest_layer(ws_).close();
    // A frozen connection has no read pending to notice.
    if (frozen_ || !registered_) finish(FakeWsEnd{FakeWsEnd::How::local, {}, {}, {}});
  }

 private:
  struct Out {
    std::string text;
    std::optional<websocket::close_reason> close;
  };

  void opened() {
    FakeWsServer::ConnectHandler on_connect;
    {
      std::lock_guard lock(core_->mutex);
      core_->ws_connections.push_back(this->shared_from_this());
      id_ = core_->ws_connections.size();
      ++core_->ws_open;
      on_connect = core_->on_connect;
      core_->changed.notify_all();
    }
    registered_ = true;
    if (on_connect) on_connect(*this);
    read();
  }

  void read() {
    if (frozen_ || io_done_) return;
    ws_.async_read(buffer_, [self = this->shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    if (ec) {
      if (frozen_ && !local_end_) return;  // the cancelled read of freeze(): still open
      // Beast 1.74: async_close aborts the pending read and reads the answer itself.
      if (closing_ && !local_end_ && ec == net::error::operation_aborted) return;
      return finish(end_from(ec));
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    read();
    TextHandler handler;
    {
      std::lock_guard lock(mutex_);
      ++received_;
      handler = handler_;
      if (!handler) inbox_.push_back(text);
      changed_.notify_all();
    }
    if (handler) handler(*this, text);
  }

  FakeWsEnd end_from(const error_code& ec) {
    FakeWsEnd e;
    e.error = ec.message();
    if (ec == websocket::error::closed) {
      e.how = closing_ ? FakeWsEnd::How::local : FakeWsEnd::How::close_frame;
      const auto& r = ws_.reason();
      if (r.code != websocket::close_code::none) e.client_code = r.code;
      e.client_reason = str(beast::string_view(r.reason.data(), r.reason.size()));
      e.error.clear();
    } else if (local_end_) {
      e.how = FakeWsEnd::How::local;
    } else if (ec == net::error::eof || ec == bhttp::error::end_of_stream || ec == ssl::error::stream_truncated ||
               ec == net::error::connection_reset) {
      e.how = FakeWsEnd::How::eof;
    } else {
      e.how = FakeWsEnd::How::error;
    }
    return e;
  }

  void write_next() {
    if (writing_ || queue_.empty() || io_done_) return;
    writing_ = true;
    Out& out = queue_.front();
    if (out.close) {
      ws_.async_close(*out.close, [self = this->shared_from_this()](error_code ec) {
        self->writing_ = false;
        self->finish(self->end_from(ec ? ec : error_code(websocket::error::closed)));
      });
      return;
    }
    ws_.async_write(net::buffer(out.text), [self = this->shared_from_this()](error_code ec, size_t) {
      self->writing_ = false;
      if (ec) return;  // the read notices the broken connection
      self->queue_.pop_front();
      self->write_next();
    });
  }

  void finish(FakeWsEnd e) {
    if (io_done_) return;
    io_done_ = true;
    queue_.clear();
    close_timer_.cancel();
    beast::get_lowest_layer(ws_).close();  // Beast 1.74 leaves TCP open after a TLS close
    {
      std::lock_guard lock(mutex_);
      end_ = std::move(e);
      changed_.notify_all();
    }
    if (registered_) {
      std::lock_guard lock(core_->mutex);
      --core_->ws_open;
      core_->changed.notify_all();
    }
  }

  std::shared_ptr<Core> core_;  // first: the io_context outlives the stream
  websocket::stream<Next> ws_;
  net::steady_timer close_timer_;
  const RecordedRequest request_;
  size_t id_ = 0;

  // Server thread only:
  beast::flat_buffer buffer_;
  std::deque<Out> queue_;
  bool writing_ = false;
  bool frozen_ = false;
  bool closing_ = false;
  bool local_end_ = false;
  bool registered_ = false;
  bool io_done_ = false;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  TextHandler handler_;
  std::deque<std::string> inbox_;
  size_t received_ = 0;
  FakeWsEnd end_;
};

// One accepted TCP connection until it is upgraded or ends: the TLS handshake, then
// HTTP requests (keep-alive) answered by the handler.
template <class Next>
class HttpSession final : public Closable, public std::enable_shared_from_this<HttpSession<Next>> {
 public:
  HttpSession(std::shared_ptr<Core> core, Next&& next, size_t id)
      : core_(std::move(core)), stream_(std::move(next)), id_(id) {}

  void start() {
    if constexpr (std::is_same_v<Next, TlsNext>) {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
        if (ec) return self->close_now();
        const char* sni = SSL_get_servername(self->stream_.native_handle(), TLSEXT_NAMETYPE_host_name);
        self->sni_ = sni ? sni : "";
        self->read_request();
      });
    } else {
      read_request();
    }
  }

  void close_now() override {
    if (!upgraded_) beast::get_lowest_layer(stream_).close();
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->body_limit(64u << 20);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](error_code ec, size_t) { self->on_request(ec); });
  }

  void on_request(const error_code& ec) {
    if (ec) return close_now();
    auto req = parser_->release();
    RecordedRequest rec;
    rec.method = str(req.method_string());
    rec.target = str(req.target());
    for (const auto& f : req) rec.headers.emplace_back(str(f.name_string()), str(f.value()));
    rec.body = req.body();
    rec.tls_server_name = sni_;
    rec.connection = id_;

    if (websocket::is_upgrade(req)) {
      FakeWsServer::UpgradeFilter filter;
      {
        std::lock_guard lock(core_->mutex);
        filter = core_->upgrade_filter;
      }
      if (auto refusal = filter ? filter(rec) : std::nullopt) return respond(*refusal, false);
      upgraded_ = true;
      auto conn = std::make_shared<WsConn<Next>>(core_, std::move(stream_), std::move(rec));
      core_->track(conn);
      conn->start(std::move(req));
      return;
    }
    FakeWsServer::HttpHandler handler;
    {
      std::lock_guard lock(core_->mutex);
      handler = core_->http_handler;
    }
    FakeHttpReply reply = handler ? handler(rec) : FakeHttpReply::text(404, "not found");
    {
      std::lock_guard lock(core_->mutex);
      core_->http_requests.push_back(std::move(rec));
      core_->changed.notify_all();
    }
    respond(reply, req.keep_alive());
  }

  void respond(const FakeHttpReply& reply, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(static_cast<unsigned>(reply.status));
    res->version(11);
    for (const auto& [n, v] : reply.headers) res->set(n, v);
    res->body() = reply.body;
    res->keep_alive(keep_alive);
    res->prepare_payload();
    bhttp::async_write(stream_, *res, [self = this->shared_from_this(), res, keep_alive](error_code ec, size_t) {
      if (ec || !keep_alive) return self->close_now();
      self->read_request();
    });
  }

  std::shared_ptr<Core> core_;
  Next stream_;
  size_t id_;
  std::string sni_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool upgraded_ = false;
};

}  // namespace

void FakeWsServer::Core::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (self->stopping) return;
    if (ec) return self->accept();
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    size_t id = 0;
    {
      std::lock_guard lock(self->mutex);
      id = ++self->tcp_count;
    }
    if (self->tls) {
      auto s =
          std::make_shared<HttpSession<TlsNext>>(self, TlsNext(beast::tcp_stream(std::move(socket)), *self->tls), id);
      self->track(s);
      s->start();
    } else {
      auto s = std::make_shared<HttpSession<PlainNext>>(self, PlainNext(std::move(socket)), id);
      self->track(s);
      s->start();
    }
    self->accept();
  });
}

FakeWsServer::FakeWsServer(FakeWsServerOptions options)
    : options_(options), core_(std::make_shared<Core>(std::move(options))) {
  if (core_->options.tls) {
    core_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    core_->tls->use_certificate_chain_file(core_->options.cert_file);
    core_->tls->use_private_key_file(core_->options.key_file, ssl::context::pem);
  }
  core_->acceptor.open(tcp::v4());
  core_->acceptor.set_option(net::socket_base::reuse_address(true));
  core_->acceptor.bind({net::ip::make_address("127.0.0.1"), 0});
  core_->acceptor.listen();
  core_->port = core_->acceptor.local_endpoint().port();
  core_->accept();
  core_->thread = std::thread([core = core_.get()] { core->ioc.run(); });
}

FakeWsServer::~FakeWsServer() {
  stop();
  // Connections hold the core (its io_context outlives their sockets); the core's list
  // holding them back would be a cycle.
  std::lock_guard lock(core_->mutex);
  core_->ws_connections.clear();
}

void FakeWsServer::stop() {
  {
    std::lock_guard lock(core_->mutex);
    if (core_->stop_requested) return;
    core_->stop_requested = true;
    net::post(core_->ioc, [core = core_.get()] {
      core->stopping = true;
      error_code ignored;
      core->acceptor.close(ignored);
      for (auto& weak : core->closables) {
        if (auto c = weak.lock()) c->close_now();
      }
      core->closables.clear();
    });
  }
  core_->work.reset();
  if (core_->thread.joinable()) core_->thread.join();
}

void FakeWsServer::set_http_handler(HttpHandler handler) {
  std::lock_guard lock(core_->mutex);
  core_->http_handler = std::move(handler);
}

void FakeWsServer::set_upgrade_filter(UpgradeFilter filter) {
  std::lock_guard lock(core_->mutex);
  core_->upgrade_filter = std::move(filter);
}

void FakeWsServer::set_on_connect(ConnectHandler handler) {
  std::lock_guard lock(core_->mutex);
  core_->on_connect = std::move(handler);
}

uint16_t FakeWsServer::port() const {
  return core_->port;
}

std::string FakeWsServer::http_url() const {
  return options_.tls ? "https://localhost:" + std::to_string(port()) : "http://127.0.0.1:" + std::to_string(port());
}

std::string FakeWsServer::ws_url(const std::string& path_and_query) const {
  return (options_.tls ? "wss://localhost:" : "ws://127.0.0.1:") + std::to_string(port()) + path_and_query;
}

std::shared_ptr<FakeWsConnection> FakeWsServer::wait_for_connection(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(core_->mutex);
  if (!core_->changed.wait_for(lock, timeout, [&] { return core_->ws_connections.size() >= n; })) return nullptr;
  return core_->ws_connections[n - 1];
}

std::vector<std::shared_ptr<FakeWsConnection>> FakeWsServer::connections() const {
  std::lock_guard lock(core_->mutex);
  return core_->ws_connections;
}

size_t FakeWsServer::connections_accepted() const {
  std::lock_guard lock(core_->mutex);
  return core_->ws_connections.size();
}

size_t FakeWsServer::connections_open() const {
  std::lock_guard lock(core_->mutex);
  return core_->ws_open;
}

bool FakeWsServer::wait_for_open(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(core_->mutex);
  return core_->changed.wait_for(lock, timeout, [&] { return core_->ws_open == n; });
}

std::vector<RecordedRequest> FakeWsServer::http_requests() const {
  std::lock_guard lock(core_->mutex);
  return core_->http_requests;
}

bool FakeWsServer::wait_for_http_requests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(core_->mutex);
  return core_->changed.wait_for(lock, timeout, [&] { return core_->http_requests.size() >= n; });
}

size_t FakeWsServer::tcp_connections() const {
  std::lock_guard lock(core_->mutex);
  return core_->tcp_count;
}

}  // namespace sb::test
