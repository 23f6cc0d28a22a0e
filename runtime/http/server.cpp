// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include "runtime/http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>

#include "runtime/core/log.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr std::chrono::milliseconds kMaxLinger{1000};
constexpr std::chrono::milliseconds kAcceptRetry{50};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

const std::vector<double>& duration_bounds() {
  static const std::vector<double> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  return bounds;
}

// Beast 1.74 uses boost::string_view; these convert without copying.
std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}
beast::string_view bsv(std::string_view s) {
  return {s.data(), s.size()};
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Refuses header names/values that would let a handler inject extra header lines.
bool valid_header(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) return false;
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers the server owns: a handler setting them would corrupt the framing.
bool server_owned(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection") ||
         iequals(name, "server") || iequals(name, "keep-alive");
}

// Thread-local marker so that stop()/stop_accepting() can tell they run on a server thread.
thread_local const void* tl_server = nullptr;

using TlsStream = net::ssl::stream<tcp::socket>;

// What a Reply and the server see of a connection, plain or TLS.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual net::any_io_executor executor() = 0;
  virtual void deliver(uint64_t exchange, Response response) = 0;
};

// State shared by the server, every connection and every outstanding Reply. Shared
// ownership so nothing a connection or a Reply touches can die before them.
struct Shared {
  Shared(ServerOptions o, Handler h, sb::metrics::Registry* m)
      : options(std::move(o)), handler(std::move(h)), metrics(m) {
    if (!metrics) return;
    duration = &metrics->histogram("squadbox_http_request_duration_seconds",
                                   "HTTP request duration from first byte to response written", duration_bounds(),
                                   {{"listener", options.name}});
    open_connections =
        &metrics->gauge("squadbox_http_connections", "Open HTTP connections", {{"listener", options.name}});
  }

  void count(int status, Clock::time_point started) {
    if (!metrics) return;
    if (status < 100 || status > 599) status = 500;
    sb::metrics::Counter* c = status_counters[status].load(std::memory_order_acquire);
    if (!c) {
      // The registry returns stable references; racing threads resolve the same one.
      c = &metrics->counter("squadbox_http_requests_total", "HTTP responses by status",
                            {{"listener", options.name}, {"status", std::to_string(status)}});
      status_counters[status].store(c, std::memory_order_release);
    }
    c->inc();
    duration->observe(std::chrono::duration<double>(Clock::now() - started).count());
  }

  // Claims a connection slot of `remote` (false: its cap is reached).
  bool claim_remote(const std::string& remote) {
    if (options.max_connections_per_remote == 0) return true;
    std::lock_guard lk(remote_mutex);
    size_t& n = per_remote[remote];
    if (n >= options.max_connections_per_remote) return false;
    ++n;
    return true;
  }
  void release_remote(const std::string& remote) {
    if (options.max_connections_per_remote == 0) return;
    std::lock_guard lk(remote_mutex);
    auto it = per_remote.find(remote);
    if (it != per_remote.end() && --it->second == 0) per_remote.erase(it);
  }

  void connection_delta(int delta) {
    const size_t now = delta > 0 ? connections.fetch_add(1) + 1 : connections.fetch_sub(1) - 1;
    if (open_connections) open_connections->set(static_cast<double>(now));
  }

  const ServerOptions options;
  const Handler handler;
  sb::metrics::Registry* const metrics;
  sb::metrics::Histogram* duration = nullptr;
  sb::metrics::Gauge* open_connections = nullptr;
  std::array<std::atomic<sb::metrics::Counter*>, 600> status_counters{};
  std::atomic<size_t> connections{0};
  std::mutex remote_mutex;
  std::unordered_map<std::string, size_t> per_remote;  // open connections by remote address

  // A Reply from a foreign thread posts onto a connection's strand only while `alive`;
  // stop() clears it under the exclusive lock before destroying the io_context, so no
  // post can race with that destruction.
  std::shared_mutex life_mutex;
  bool alive = true;

  // A connection waiting for its handler owns no pending I/O and a Reply holds it only
  // weakly, so this map keeps it alive until the Reply arrives (or stop()).
  std::mutex waiting_mutex;
  std::unordered_map<const SessionBase*, std::shared_ptr<SessionBase>> waiting;
};

// The single-use state behind all copies of one Reply.
struct ReplyState {
  ReplyState(std::weak_ptr<SessionBase> s, std::shared_ptr<Shared> sh, uint64_t id)
      : session(std::move(s)), shared(std::move(sh)), exchange(id) {}
  ~ReplyState();
  ReplyState(const ReplyState&) = delete;
  ReplyState& operator=(const ReplyState&) = delete;

  bool claim() { return !done.exchange(true); }
  void send(Response response) {
    if (!claim()) {
      sb::log::warn("http.reply_repeated", {{"listener", shared->options.name}});
      return;
    }
    post(std::move(response));
  }
  void post(Response response);

  std::weak_ptr<SessionBase> session;
  std::shared_ptr<Shared> shared;
  uint64_t exchange;
  std::atomic<bool> done{false};
};

// One connection. Stream is tcp::socket (plain) or TlsStream: the same code serves
// both, so the plain path pays nothing for TLS.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(std::shared_ptr<Shared> shared, tcp::socket socket, std::string remote) requires(!kTls)
      : sh_(std::move(shared)), socket_(std::move(socket)), timer_(socket_.get_executor()), remote_(std::move(remote)) {
    sh_->connection_delta(+1);
  }
  Session(std::shared_ptr<Shared> shared, tcp::socket socket, std::shared_ptr<net::ssl::context> tls,
          std::string remote) requires kTls : sh_(std::move(shared)),
                                              tls_(std::move(tls)),
                                              socket_(std::move(socket), *tls_),
                                              timer_(socket_.get_executor()),
                                              remote_(std::move(remote)) {
    sh_->connection_delta(+1);
  }
  ~Session() override {
    sh_->release_remote(remote_);
    sh_->connection_delta(-1);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  net::any_io_executor executor() override { return socket_.get_executor(); }

  void start() {
    sb::log::debug("http.connection_open", {{"listener", sh_->options.name}, {"remote", remote_}});
    if constexpr (kTls) {
      // The handshake counts against the request timeout: a client that connects and
      // stalls in it is cut off like one that stalls in its headers.
      phase_ = Phase::reading;
      arm(Clock::now() + sh_->options.request_timeout);
      socket_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
        if (self->phase_ == Phase::closed) return;
        if (ec || self->timed_out_) {
          sb::log::debug("http.tls_handshake_failed",
                         {{"listener", self->sh_->options.name}, {"remote", self->remote_}, {"reason", ec.message()}});
          return self->close();
        }
        self->disarm();
        self->begin_request();
      });
    } else {
      begin_request();
    }
  }

  // Runs on the strand. Ignores a reply for an exchange that is over (server already
  // answered 500 after a throw, or the connection closed).
  void deliver(uint64_t exchange, Response response) override {
    if (phase_ != Phase::handling || exchange != exchange_) {
      sb::log::debug("http.reply_ignored", {{"listener", sh_->options.name}, {"remote", remote_}});
      return;
    }
    {
      std::lock_guard lk(sh_->waiting_mutex);
      sh_->waiting.erase(this);
    }
    write_response(std::move(response), keep_alive_);
  }

 private:
  enum class Phase { idle, reading, handling, writing, lingering, closed };

  void begin_request() {
    parser_.emplace();
    parser_->body_limit(sh_->options.body_limit);
    parser_->header_limit(kHeaderLimit);
    version_ = 11;
    head_ = false;
    method_.clear();
    path_.clear();
    // A new connection is expected to send a request right away; on a kept-alive one,
    // wait (idle_timeout) for the first byte before the request clock starts.
    if (first_ || buffer_.size() > 0) {
      read_header();
    } else {
      wait_idle();
    }
  }

  void wait_idle() {
    phase_ = Phase::idle;
    timed_out_ = false;
    arm(Clock::now() + sh_->options.idle_timeout);
    socket_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](error_code ec, size_t n) { self->on_idle_read(ec, n); });
  }

  void on_idle_read(error_code ec, size_t n) {
    if (phase_ == Phase::closed) return;
    if (ec) {
      if (timed_out_) sb::log::debug("http.idle_close", {{"listener", sh_->options.name}, {"remote", remote_}});
      close();
      return;
    }
    buffer_.commit(n);
    read_header();
  }

  void read_header() {
    phase_ = Phase::reading;
    timed_out_ = false;
    started_ = Clock::now();
    arm(started_ + sh_->options.request_timeout);
    // Header and body are read separately on purpose: besides 100-continue, Beast 1.74's
    // eager parse (plain async_read) drops the Content-Length body_limit error when the
    // body arrives in the same segment as the header (boostorg/beast#2183).
    bhttp::async_read_header(socket_, buffer_, *parser_,
                             [self = this->shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (phase_ == Phase::closed) return;
    if (ec || timed_out_) return on_read_error(ec);
    const auto& msg = parser_->get();
    method_ = std::string(sv(msg.method_string()));
    const std::string_view target = sv(msg.target());
    path_ = std::string(target.substr(0, target.find('?')));
    // curl and others wait for "100 Continue" before sending a large body.
    if (!parser_->is_done() && iequals(sv(msg[bhttp::field::expect]), "100-continue")) {
      net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](error_code wec, size_t) {
                         if (self->phase_ == Phase::closed) return;
                         if (wec || self->timed_out_) return self->on_read_error(wec);
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_request();
    bhttp::async_read(socket_, buffer_, *parser_, [self = this->shared_from_this()](error_code ec, size_t) {
      if (self->phase_ == Phase::closed) return;
      if (ec || self->timed_out_) return self->on_read_error(ec);
      self->on_request();
    });
  }

  void on_read_error(error_code ec) {
    const bool got_bytes = parser_->got_some() || buffer_.size() > 0;
    if (timed_out_) {
      if (!got_bytes) {  // connected but never spoke: nobody to answer
        sb::log::debug("http.idle_close", {{"listener", sh_->options.name}, {"remote", remote_}});
        return close();
      }
      sb::log::info(
          "http.request_timeout",
          {{"listener", sh_->options.name}, {"remote", remote_}, {"timeout_ms", sh_->options.request_timeout.count()}});
      return respond_error(408, "request_timeout", "request not received in time");
    }
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec.category() != bhttp::make_error_code(bhttp::error::bad_method).category()) {
      // The client went away (or the socket failed): nobody to answer.
      sb::log::debug("http.connection_closed",
                     {{"listener", sh_->options.name}, {"remote", remote_}, {"reason", ec.message()}});
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      sb::log::info("http.payload_too_large", {{"listener", sh_->options.name},
                                               {"remote", remote_},
                                               {"method", method_},
                                               {"path", path_},
                                               {"limit", sh_->options.body_limit}});
      return respond_error(413, "payload_too_large",
                           "request body exceeds " + std::to_string(sh_->options.body_limit) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      sb::log::info("http.headers_too_large", {{"listener", sh_->options.name}, {"remote", remote_}});
      return respond_error(431, "headers_too_large", "request headers too large");
    }
    sb::log::info("http.bad_request", {{"listener", sh_->options.name}, {"remote", remote_}, {"reason", ec.message()}});
    respond_error(400, "bad_request", "malformed HTTP request: " + ec.message());
  }

  void respond_error(int status, std::string_view code, std::string message) {
    // Nothing more can be read reliably from this connection: answer and close.
    phase_ = Phase::handling;
    write_response(Response::error(status, code, message), false);
  }

  void on_request() {
    disarm();
    phase_ = Phase::handling;
    ++exchange_;
    auto& msg = parser_->get();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == bhttp::verb::head;

    Request request;
    request.method = method_;
    request.target = std::string(sv(msg.target()));
    const size_t q = request.target.find('?');
    request.path = path_;
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    request.headers.reserve(static_cast<size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) {
      request.headers.emplace_back(std::string(sv(field.name_string())), std::string(sv(field.value())));
    }
    request.body = std::move(msg.body());
    request.remote_address = remote_;

    auto self = this->shared_from_this();
    {
      std::lock_guard lk(sh_->waiting_mutex);
      sh_->waiting[this] = self;
    }
    auto state = std::make_shared<ReplyState>(std::weak_ptr<SessionBase>(self), sh_, exchange_);
    Reply reply = [state](Response response) { state->send(std::move(response)); };
    const char* failure = nullptr;
    std::string what;
    try {
      sh_->handler(request, std::move(reply));
    } catch (const std::exception& e) {
      failure = "exception";
      what = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (failure) {
      sb::log::warn(
          "http.handler_exception",
          {{"listener", sh_->options.name}, {"method", method_}, {"path", path_}, {"kind", failure}, {"what", what}});
      // The details stay in the log: they may describe internals.
      if (state->claim()) deliver(exchange_, Response::error(500, "internal", "internal server error"));
    }
  }

  void write_response(Response r, bool keep_alive) {
    if (r.status < 200 || r.status > 599) {
      sb::log::warn("http.bad_status", {{"listener", sh_->options.name}, {"status", r.status}});
      r = Response::error(500, "internal", "internal server error");
    }
    res_.emplace();
    res_->version(version_);
    res_->result(static_cast<unsigned>(r.status));
    res_->reason(bsv(reason_phrase(r.status)));
    res_->set(bhttp::field::server, "squadbox");
    std::string content_type = std::move(r.content_type);
    for (auto& [name, value] : r.headers) {
      if (!valid_header(name, value)) {
        sb::log::warn("http.bad_response_header", {{"listener", sh_->options.name}, {"path", path_}});
        continue;
      }
      if (server_owned(name)) continue;
      if (iequals(name, "content-type")) {
        content_type = std::move(value);
        continue;
      }
      res_->insert(name, value);
    }
    // 204/304 have no body by definition; everything else states its length.
    if (r.status != 204 && r.status != 304) {
      res_->set(bhttp::field::content_type,
                valid_header("content-type", content_type) ? content_type : "application/octet-stream");
      res_->content_length(r.body.size());
      res_->body() = std::move(r.body);
    }
    res_->keep_alive(keep_alive);
    keep_alive_ = keep_alive;
    status_ = r.status;

    phase_ = Phase::writing;
    arm(Clock::now() + sh_->options.request_timeout);
    auto done = [self = this->shared_from_this()](error_code ec, size_t) { self->on_write(ec); };
    if (head_) {  // same header as GET, no body
      serializer_.emplace(*res_);
      bhttp::async_write_header(socket_, *serializer_, std::move(done));
    } else {
      bhttp::async_write(socket_, *res_, std::move(done));
    }
  }

  void on_write(error_code ec) {
    if (phase_ == Phase::closed) return;
    disarm();
    sh_->count(status_, started_);
    if (sb::log::enabled(sb::log::Level::debug)) {
      sb::log::debug("http.request",
                     {{"listener", sh_->options.name},
                      {"remote", remote_},
                      {"method", method_},
                      {"path", path_},
                      {"status", status_},
                      {"ms", std::chrono::duration<double, std::milli>(Clock::now() - started_).count()}});
    }
    serializer_.reset();
    res_.reset();
    if (ec) return close();
    if (!keep_alive_) return linger();
    first_ = false;
    begin_request();
  }

  // Half-close and drain what the client still sends, so that our final response is not
  // destroyed by a TCP reset caused by unread request bytes (e.g. after a 413).
  void linger() {
    phase_ = Phase::lingering;
    arm(Clock::now() + std::min(sh_->options.request_timeout, kMaxLinger));
    if constexpr (kTls) {
      // close_notify, then read until the peer's (or the deadline): that drains too.
      socket_.async_shutdown([self = this->shared_from_this()](error_code) {
        if (self->phase_ == Phase::closed) return;
        self->close();
      });
    } else {
      error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  void drain() {
    lowest().async_read_some(net::buffer(drain_), [self = this->shared_from_this()](error_code ec, size_t) {
      if (self->phase_ == Phase::closed) return;
      if (ec) return self->close();
      self->drain();
    });
  }

  void close() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    disarm();
    error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
  }

  tcp::socket& lowest() { return beast::get_lowest_layer(socket_); }

  // One deadline at a time; a generation number discards a timer that fired just before
  // it was re-armed or cancelled.
  void arm(Clock::time_point deadline) {
    const uint64_t gen = ++timer_gen_;
    timer_.expires_at(deadline);
    timer_.async_wait([self = this->shared_from_this(), gen](error_code ec) {
      if (ec || gen != self->timer_gen_) return;
      self->on_deadline();
    });
  }

  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void on_deadline() {
    switch (phase_) {
      case Phase::idle:
      case Phase::reading: {
        // Abort the read; its handler sees timed_out_ and answers 408 or closes.
        timed_out_ = true;
        error_code ignored;
        lowest().cancel(ignored);
        break;
      }
      case Phase::writing:
        sb::log::info("http.write_timeout", {{"listener", sh_->options.name}, {"remote", remote_}});
        close();
        break;
      case Phase::lingering: close(); break;
      case Phase::handling:
      case Phase::closed: break;
    }
  }

  std::shared_ptr<Shared> sh_;
  std::shared_ptr<net::ssl::context> tls_;  // TLS only; outlives the stream
  Stream socket_;
  net::steady_timer timer_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  std::optional<bhttp::response_serializer<bhttp::string_body>> serializer_;
  std::array<char, 4096> drain_{};

  Phase phase_ = Phase::idle;
  uint64_t timer_gen_ = 0;
  uint64_t exchange_ = 0;
  bool timed_out_ = false;
  bool first_ = true;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  int status_ = 0;
  Clock::time_point started_ = Clock::now();
  std::string method_;
  std::string path_;
};

ReplyState::~ReplyState() {
  if (!claim()) return;
  {  // After stop() nobody is waiting; stay quiet instead of warning once per request.
    std::shared_lock lk(shared->life_mutex);
    if (!shared->alive) return;
  }
  // Every copy of the Reply is gone unanswered (e.g. an actor dropped it): answer rather
  // than leave the client hanging.
  sb::log::warn("http.reply_dropped", {{"listener", shared->options.name}});
  post(Response::error(500, "internal", "the request handler did not reply"));
}

void ReplyState::post(Response response) {
  std::shared_lock lk(shared->life_mutex);
  if (!shared->alive) return;
  auto s = session.lock();
  if (!s) return;
  // post, not dispatch: never run connection code inline while holding life_mutex.
  net::post(s->executor(), [s, id = exchange, r = std::move(response)]() mutable { s->deliver(id, std::move(r)); });
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions options, Handler handler, sb::metrics::Registry* metrics)
      : shared(std::make_shared<Shared>(std::move(options), std::move(handler), metrics)) {}

  const ServerOptions& options() const { return shared->options; }
  bool on_server_thread() const { return tl_server == this; }

  void run_thread() {
    tl_server = this;
    for (;;) {
      try {
        ioc->run();
        return;
      } catch (const std::exception& e) {
        // Handlers are not supposed to throw; keep the thread serving anyway.
        sb::log::error("http.thread_exception", {{"listener", options().name}, {"what", e.what()}});
      }
    }
  }

  void do_accept() {
    acceptor->async_accept(net::make_strand(*ioc),
                           [this](error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (!acceptor->is_open() || ec == net::error::operation_aborted) return;
    if (ec) {
      // E.g. EMFILE: retry shortly instead of spinning.
      sb::log::warn("http.accept_failed", {{"listener", options().name}, {"error", ec.message()}});
      retry_timer->expires_after(kAcceptRetry);
      retry_timer->async_wait([this](error_code tec) {
        if (!tec && acceptor->is_open()) do_accept();
      });
      return;
    }
    error_code rec;
    const auto peer = socket.remote_endpoint(rec);
    std::string remote = rec ? std::string("unknown") : peer.address().to_string();
    if (shared->connections.load() >= options().max_connections) {
      refuse(std::move(socket), remote, "max_connections");
    } else if (!shared->claim_remote(remote)) {
      refuse(std::move(socket), remote, "max_connections_per_remote");
    } else {
      if (tls) {
        auto session = std::make_shared<Session<TlsStream>>(shared, std::move(socket), tls, std::move(remote));
        net::dispatch(session->executor(), [session] { session->start(); });
      } else {
        auto session = std::make_shared<Session<tcp::socket>>(shared, std::move(socket), std::move(remote));
        net::dispatch(session->executor(), [session] { session->start(); });
      }
    }
    do_accept();
  }

  // Best effort: one non-blocking write of a canned 503, then close.
  void refuse(tcp::socket socket, const std::string& remote, const char* limit) {
    static const std::string response = [] {
      const Response r = Response::error(503, "overloaded", "too many connections");
      return "HTTP/1.1 503 Service Unavailable\r\nServer: squadbox\r\nContent-Type: " + r.content_type +
             "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
    }();
    // One line per second at most: a flood of connections must not become a flood of logs.
    const auto now = Clock::now();
    if (now - last_refusal_log > std::chrono::seconds(1)) {
      last_refusal_log = now;
      sb::log::warn("http.connection_refused", {{"listener", options().name}, {"remote", remote}, {"limit", limit}});
    }
    if (shared->metrics)
      shared->metrics
          ->counter("squadbox_http_connections_refused_total", "Connections refused at accept for a connection limit",
                    {{"listener", options().name}, {"limit", limit}})
          .inc();
    error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(net::buffer(response), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    shared->count(503, Clock::now());
  }

  Result<uint16_t> start() {
    std::lock_guard lk(state_mutex);
    if (state != State::created) return make_error("http.state", "server already started");
    error_code ec;
    const auto address = net::ip::make_address(options().address, ec);
    if (ec) return make_error("http.bad_address", "invalid listen address '" + options().address + "'");
    const tcp::endpoint endpoint(address, options().port);
    const std::string where = options().address + ":" + std::to_string(options().port);
    if (auto made = make_tls(); !made) return made.error();

    ioc = std::make_unique<net::io_context>(std::max(1, options().threads));
    acceptor_strand.emplace(net::make_strand(*ioc));
    acceptor.emplace(*acceptor_strand);
    retry_timer.emplace(*acceptor_strand);
    auto fail = [&](const char* step) -> Result<uint16_t> {
      const std::string message = std::string(step) + " " + where + ": " + ec.message();
      acceptor.reset();
      retry_timer.reset();
      acceptor_strand.reset();
      ioc.reset();
      return make_error("http.bind", message);
    };
    if (acceptor->open(endpoint.protocol(), ec)) return fail("open");
    if (acceptor->set_option(net::socket_base::reuse_address(true), ec)) return fail("setsockopt");
    if (acceptor->bind(endpoint, ec)) return fail("bind");
    if (acceptor->listen(net::socket_base::max_listen_connections, ec)) return fail("listen");
    const auto local = acceptor->local_endpoint(ec);
    if (ec) return fail("getsockname");
    bound_port.store(local.port());

    // Keeps the threads running while every connection is waiting for a Reply.
    guard.emplace(ioc->get_executor());
    net::post(*acceptor_strand, [this] { do_accept(); });
    for (int i = 0; i < std::max(1, options().threads); ++i) {
      threads.emplace_back([this] { run_thread(); });
    }
    state = State::running;
    sb::log::info("http.listening", {{"listener", options().name},
                                     {"address", options().address},
                                     {"port", bound_port.load()},
                                     {"tls", tls != nullptr}});
    return bound_port.load();
  }

  void stop_accepting() {
    auto closed = std::make_shared<std::promise<void>>();
    std::future<void> done = closed->get_future();
    {
      std::lock_guard lk(state_mutex);
      if (state != State::running || !accepting) return;
      accepting = false;
      // The acceptor lives on its strand; close it there, not concurrently with accept.
      net::post(*acceptor_strand, [this, closed] {
        error_code ignored;
        acceptor->close(ignored);
        retry_timer->cancel();
        closed->set_value();
      });
    }
    // If stop() destroys the io_context first, the promise is destroyed and wait() returns.
    if (!on_server_thread()) done.wait();
    sb::log::info("http.stopped_accepting", {{"listener", options().name}});
  }

  void stop() {
    {
      std::lock_guard lk(state_mutex);
      if (state == State::created) {
        state = State::stopped;
        return;
      }
      if (state != State::running) return;
      state = State::stopped;
      accepting = false;
    }
    ioc->stop();
    if (on_server_thread()) {
      // Joining ourselves is impossible; the destructor finishes the job.
      sb::log::error("http.stop_from_handler", {{"listener", options().name}});
      return;
    }
    teardown();
  }

  void teardown() {
    // A second concurrent stop() waits here until the first has finished.
    std::lock_guard lk(teardown_mutex);
    if (!ioc) return;
    for (auto& t : threads) t.join();
    threads.clear();
    {
      std::unique_lock lk(shared->life_mutex);
      shared->alive = false;
    }
    std::unordered_map<const SessionBase*, std::shared_ptr<SessionBase>> waiting;
    {
      std::lock_guard lk(shared->waiting_mutex);
      waiting.swap(shared->waiting);
    }
    waiting.clear();  // connections still waiting for a Reply: closed here
    retry_timer.reset();
    acceptor.reset();
    guard.reset();
    acceptor_strand.reset();
    ioc.reset();  // destroys every remaining connection (its pending handlers own it)
    sb::log::info("http.stopped", {{"listener", options().name}});
  }

  ~Impl() {
    stop();
    if (on_server_thread()) {
      // Destroyed from its own handler: cannot join; leak rather than crash.
      for (auto& t : threads) t.detach();
      static_cast<void>(ioc.release());
      return;
    }
    teardown();
  }

  // HTTPS when both files are set; one without the other is a configuration error.
  Status make_tls() {
    const auto& o = options();
    if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return {};
    if (o.tls_cert_file.empty() || o.tls_key_file.empty())
      return make_error("http.tls", "TLS needs both a certificate and a key file");
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                     net::ssl::context::single_dh_use);
    error_code ec;
    if (ctx->use_certificate_chain_file(o.tls_cert_file, ec))
      return make_error("http.tls", "cannot load TLS certificate " + o.tls_cert_file + ": " + ec.message());
    if (ctx->use_private_key_file(o.tls_key_file, net::ssl::context::pem, ec))
      return make_error("http.tls", "cannot load TLS key " + o.tls_key_file + ": " + ec.message());
    tls = std::move(ctx);
    return {};
  }

  enum class State { created, running, stopped };

  std::shared_ptr<Shared> shared;
  std::shared_ptr<net::ssl::context> tls;  // null: plain HTTP
  std::mutex state_mutex;
  std::mutex teardown_mutex;
  State state = State::created;
  bool accepting = true;
  std::atomic<uint16_t> bound_port{0};
  // Destroyed explicitly in teardown(), in dependency order.
  std::unique_ptr<net::io_context> ioc;
  std::optional<net::strand<net::io_context::executor_type>> acceptor_strand;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> retry_timer;
  Clock::time_point last_refusal_log{};  // on the acceptor strand
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::vector<std::thread> threads;
};

Server::Server(ServerOptions options, Handler handler, sb::metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), metrics)) {}

Server::~Server() = default;

Result<uint16_t> Server::start() {
  return impl_->start();
}
void Server::stop_accepting() {
  impl_->stop_accepting();
}
void Server::stop() {
  impl_->stop();
}
uint16_t Server::port() const {
  return impl_->bound_port.load();
}

}  // namespace sb::http
