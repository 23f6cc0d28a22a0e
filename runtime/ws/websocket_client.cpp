// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include "runtime/ws/websocket_client.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

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
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "runtime/core/log.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/exchange.hpp"

namespace sb::http {

namespace {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using boost::system::error_code;
using Why = WebSocketClosed::Why;
using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// Codes an endpoint may send (RFC 6455 7.4): 1004-1006 and 1015 are reserved for
// reporting, 1014 and the rest below 3000 are unassigned, 5000+ is invalid.
bool sendable_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1013) || (code >= 3000 && code <= 4999);
}

// A close frame carries at most 123 bytes of reason (Beast's static_string throws
// beyond that); cut at a UTF-8 character boundary.
std::string fit_close_reason(std::string reason) {
  if (reason.size() <= 123) return reason;
  size_t n = 123;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  reason.resize(n);
  return reason;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

WebSocketClosed failed(std::string code, std::string message) {
  WebSocketClosed c;
  c.why = Why::connect_failed;
  c.error = make_error(std::move(code), std::move(message));
  return c;
}

}  // namespace

std::string_view to_string(WebSocketClosed::Why why) {
  switch (why) {
    case Why::connect_failed: return "connect_failed";
    case Why::peer_closed: return "peer_closed";
    case Why::error: return "error";
    case Why::idle_timeout: return "idle_timeout";
    case Why::local_close: return "local_close";
    case Why::aborted: return "aborted";
  }
  return "unknown";
}

// Everything below runs on the client's thread, except the public entry points, which
// only post to it. A connection object lives as long as any of its handlers is pending
// (shared_ptr captured in each), so the client never waits for Beast to unwind.
struct WebSocketClient::Impl {
  struct Connection;
  template <class Ws>
  class Conn;

  Impl(WebSocketOptions o, WebSocketEvents e) : options(std::move(o)), events(std::move(e)) {
    thread = std::thread([this] { ioc.run(); });
  }

  // Builds the TLS context at the first wss connect; "" when it works.
  std::string ensure_tls() {
    if (tls) return {};
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_verify_mode(ssl::verify_peer);
    error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec && options.ca_file.empty()) return "cannot load the system's trusted certificates: " + ec.message();
    if (!options.ca_file.empty()) {
      ctx->load_verify_file(options.ca_file, ec);
      if (ec) return "cannot load trusted certificates from " + options.ca_file + ": " + ec.message();
    }
    tls = std::move(ctx);
    return {};
  }

  void report(WebSocketClosed closed) {
    if (!quiet && events.on_closed) events.on_closed(std::move(closed));
  }

  void start(std::string url_text);

  WebSocketOptions options;
  WebSocketEvents events;
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
  // Client thread only:
  std::unique_ptr<ssl::context> tls;
  std::shared_ptr<Connection> current;
  bool quiet = false;  // the destructor runs: no more callbacks

  std::atomic<uint64_t> connections_opened{0}, messages_sent{0}, bytes_sent{0}, messages_received{0}, bytes_received{0},
      messages_dropped{0};
};

struct WebSocketClient::Impl::Connection {
  virtual ~Connection() = default;
  virtual void start() = 0;
  virtual void send(std::string text) = 0;
  virtual void close(uint16_t code, std::string reason) = 0;
  // Closes the socket at once; `closed` is what on_closed reports.
  virtual void abort(WebSocketClosed closed) = 0;
};

template <class Ws>
class WebSocketClient::Impl::Conn final : public WebSocketClient::Impl::Connection,
                                          public std::enable_shared_from_this<Conn<Ws>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Ws, PlainWs>;

  Conn(Impl& impl, Url url)
      : impl_(impl),
        url_(std::move(url)),
        resolver_(impl.ioc),
        deadline_(impl.ioc),
        close_timer_(impl.ioc),
        ws_(make_stream(impl)) {}

  void start() override {
    state_ = State::connecting;
    deadline_.expires_after(impl_.options.connect_timeout);
    deadline_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec || self->state_ != State::connecting) return;
      self->timed_out_ = true;
      self->close_socket();
    });
    if (is_ip_literal(url_.host)) {
      error_code ignored;
      connect_tcp({tcp::endpoint(net::ip::make_address(url_.host, ignored), url_.port)});
      return;
    }
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = this->shared_from_this()](error_code ec, const tcp::resolver::results_type& results) {
          if (ec || results.empty()) {
            return self->connect_failed("ws.resolve", "cannot resolve " + self->url_.host + ": " + ec.message());
          }
          std::vector<tcp::endpoint> endpoints;
          for (const auto& entry : results) endpoints.push_back(entry.endpoint());
          self->connect_tcp(std::move(endpoints));
        });
  }

  void send(std::string text) override {
    if (state_ != State::open) {
      ++impl_.messages_dropped;
      return;
    }
    queue_.push_back(Out{std::move(text), std::nullopt});
    write_next();
  }

  void close(uint16_t code, std::string reason) override {
    if (state_ == State::connecting) {
      WebSocketClosed c;
      c.why = Why::local_close;
      return abort(std::move(c));
    }
    if (state_ != State::open) return;  // already closing or closed
    if (!sendable_close_code(code)) {
      log::warn("ws.close_code_replaced", {{"code", code}});
      code = 1000;
    }
    start_close(code, std::move(reason));
  }

  void abort(WebSocketClosed closed) override {
    if (state_ == State::closed) return;
    if (!local_end_) local_end_ = std::move(closed);
    close_socket();
    // Nothing pending would notice before the connection is open: a pending connect
    // step fails with operation_aborted and reports local_end_ itself.
  }

 private:
  enum class State { idle, connecting, open, closing, closed };
  struct Out {
    std::string text;
    std::optional<websocket::close_reason> close;  // set: the close frame, last in the queue
  };
  // Bytes asked of Beast per read: the client counts a message's size itself.
  static constexpr std::size_t kReadChunk = 64 * 1024;

  // The close frame goes after the queued messages; `outcome` (else local_close) is
  // what on_closed reports once the handshake ends.
  void start_close(uint16_t code, std::string reason, std::optional<WebSocketClosed> outcome = std::nullopt) {
    state_ = State::closing;
    close_outcome_ = std::move(outcome);
    websocket::close_reason frame;
    frame.code = code;
    reason = fit_close_reason(std::move(reason));
    // const char*: with a char* Beast's assign(T const&, pos, n) template wins and
    // takes the size as a start position (an empty reason).
    frame.reason.assign(static_cast<const char*>(reason.data()), reason.size());
    queue_.push_back(Out{{}, frame});
    write_next();
    // Beast 1.74 has no deadline on the closing handshake of a read in progress, and a
    // dead peer never answers: the socket goes after close_timeout regardless.
    close_timer_.expires_after(impl_.options.close_timeout);
    close_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec || self->state_ == State::closed) return;
      WebSocketClosed c;
      c.why = Why::local_close;
      c.error = make_error("ws.close_timeout", "the peer did not answer the close frame in time");
      self->abort(std::move(c));
    });
  }

  static Ws make_stream(Impl& impl) {
    if constexpr (kTls) {
      return Ws(impl.ioc, *impl.tls);
    } else {
      return Ws(impl.ioc);
    }
  }

  auto& lowest() { return beast::get_lowest_layer(ws_); }

  void close_socket() {
    resolver_.cancel();
    lowest().close();
  }

  void connect_tcp(std::vector<tcp::endpoint> endpoints) {
    if (state_ != State::connecting) return connect_failed("ws.aborted", "aborted");
    lowest().expires_after(impl_.options.connect_timeout);
    lowest().async_connect(endpoints, [self = this->shared_from_this()](error_code ec, const tcp::endpoint&) {
      if (ec == beast::error::timeout) self->timed_out_ = true;
      if (ec) {
        return self->connect_failed("ws.connect",
                                    "cannot connect to " + self->url_.host_header() + ": " + ec.message());
      }
      error_code ignored;
      self->lowest().socket().set_option(tcp::no_delay(true), ignored);
      if constexpr (kTls) {
        self->tls_handshake();
      } else {
        self->ws_handshake();
      }
    });
  }

  void tls_handshake() {
    auto& tls = ws_.next_layer();
    // SNI: Beast 1.74 does not set it, and servers with several names (Cloudflare in
    // front of discord.gg) fail the handshake without it. Not for IP literals (RFC 6066).
    if (!is_ip_literal(url_.host) && !SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str())) {
      return connect_failed("ws.tls", "cannot set the TLS server name");
    }
    // Hostname verification by OpenSSL itself (X509_V_ERR_HOSTNAME_MISMATCH or
    // IP_ADDRESS_MISMATCH name the failure): the DNS name, or for an IP literal the
    // certificate's IP subjectAltName.
    X509_VERIFY_PARAM* param = SSL_get0_param(tls.native_handle());
    const bool named = is_ip_literal(url_.host) ? X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str()) == 1
                                                : SSL_set1_host(tls.native_handle(), url_.host.c_str()) == 1;
    if (!named) return connect_failed("ws.tls", "cannot set the expected TLS peer name");
    tls.async_handshake(ssl::stream_base::client, [self = this->shared_from_this()](error_code ec) {
      if (ec == beast::error::timeout) self->timed_out_ = true;
      if (ec) {
        std::string message = "TLS handshake with " + self->url_.host_header() + " failed: " + ec.message();
        const long verify = SSL_get_verify_result(self->ws_.next_layer().native_handle());
        if (verify != X509_V_OK) message += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        return self->connect_failed("ws.tls", std::move(message));
      }
      self->ws_handshake();
    });
  }

  void ws_handshake() {
    const WebSocketOptions& o = impl_.options;
    // The websocket stream times itself from here on; a tcp_stream expiry would fire
    // in the middle of a long-lived connection.
    lowest().expires_never();
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout = o.connect_timeout;
    timeout.idle_timeout = o.idle_timeout.count() > 0 ? beast::websocket::stream_base::duration(o.idle_timeout)
                                                      : websocket::stream_base::none();
    timeout.keep_alive_pings = o.keep_alive_pings;
    ws_.set_option(timeout);
    websocket::permessage_deflate deflate;  // off on purpose: Beast's before 1.81 has bugs
    deflate.client_enable = false;
    deflate.server_enable = false;
    ws_.set_option(deflate);
    // No Beast limit: on an oversized message Beast 1.74 sends 1009 and shuts TLS down
    // at once, and a peer still sending makes that fail with an unrelated TLS error. The
    // client counts instead (on_read) and closes with 1009 itself.
    ws_.read_message_max(0);
    ws_.auto_fragment(true);
    ws_.text(true);
    ws_.set_option(
        websocket::stream_base::decorator([ua = o.user_agent, headers = o.extra_headers](websocket::request_type& req) {
          if (!ua.empty()) req.set(beast::http::field::user_agent, ua);
          for (const auto& [name, value] : headers) req.set(name, value);
        }));
    ws_.async_handshake(response_, url_.host_header(), url_.target, [self = this->shared_from_this()](error_code ec) {
      if (ec) return self->handshake_failed(ec);
      self->opened();
    });
  }

  void handshake_failed(const error_code& ec) {
    if (ec == beast::error::timeout) timed_out_ = true;
    const int status = response_.result_int();
    std::string message = "WebSocket handshake with " + url_.host_header() + " failed: ";
    if (status != 0 && status != 101) {
      message += "HTTP " + std::to_string(status) + " " + std::string(response_.reason());
    } else {
      message += ec.message();
    }
    connect_failed("ws.handshake", std::move(message), status == 101 ? 0 : status);
  }

  void opened() {
    if (state_ != State::connecting) return connect_failed("ws.aborted", "aborted");
    deadline_.cancel();
    state_ = State::open;
    ++impl_.connections_opened;
    read();  // before on_open, so the one read is pending whatever the callback does
    if (!impl_.quiet && impl_.events.on_open) impl_.events.on_open();
  }

  // Every failure before the connection is open. A local close/drop, or the deadline,
  // caused the failure when set, whatever error the aborted step saw.
  void connect_failed(std::string code, std::string message, int http_status = 0) {
    if (state_ == State::closed) return;
    WebSocketClosed c;
    if (local_end_) {
      c = std::move(*local_end_);
    } else if (timed_out_) {
      c = failed("ws.timeout", "no connection to " + url_.host_header() + " within " +
                                   std::to_string(impl_.options.connect_timeout.count()) + " ms");
    } else {
      c = failed(std::move(code), std::move(message));
      c.http_status = http_status;
    }
    finish(std::move(c));
  }

  void read() {
    ws_.async_read_some(buffer_, kReadChunk,
                        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    if (ec) return read_failed(ec);
    if (buffer_.size() > impl_.options.max_message_bytes) {
      buffer_.consume(buffer_.size());
      if (state_ != State::open) return;  // closing already: Beast's close drains the rest
      WebSocketClosed c;
      c.why = Why::error;
      c.error = make_error("ws.message_too_big", "a message from " + url_.host_header() + " exceeds " +
                                                     std::to_string(impl_.options.max_message_bytes) + " bytes");
      // No further read: the close handshake reads (and drops) the rest of the message.
      return start_close(websocket::close_code::too_big, "message too big", std::move(c));
    }
    if (!ws_.is_message_done()) return read();
    const bool text = ws_.got_text();
    // Copied out before the next read: Beast starts filling the buffer inside async_read.
    std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    read();
    if (!text) {
      ++impl_.messages_dropped;
      log::warn("ws.binary_message_dropped", {{"host", url_.host}, {"bytes", message.size()}});
      return;
    }
    ++impl_.messages_received;
    impl_.bytes_received += message.size();
    if (!impl_.quiet && impl_.events.on_text) impl_.events.on_text(std::move(message));
  }

  void read_failed(const error_code& ec) {
    // Beast 1.74: once async_close runs, the pending read ends with operation_aborted
    // and the close takes over reading the peer's answer; its handler ends the connection.
    if (state_ == State::closing && ec == net::error::operation_aborted && !local_end_ && !write_error_) return;
    WebSocketClosed c;
    if (ec == websocket::error::closed) {
      if (state_ == State::closing && close_outcome_) {
        c = std::move(*close_outcome_);
      } else {
        c.why = state_ == State::closing ? Why::local_close : Why::peer_closed;
      }
      const auto& reason = ws_.reason();
      if (reason.code != websocket::close_code::none) c.code = reason.code;
      c.reason = std::string(reason.reason.data(), reason.reason.size());
    } else if (local_end_) {
      c = std::move(*local_end_);
    } else if (write_error_) {
      c.why = Why::error;
      c.error = *write_error_;
    } else if (ec == beast::error::timeout) {
      c.why = Why::idle_timeout;
      c.error = make_error("ws.idle_timeout", "nothing received from " + url_.host_header() + " for " +
                                                  std::to_string(impl_.options.idle_timeout.count()) + " ms");
    } else {
      c.why = Why::error;
      c.error = make_error("ws.io", "connection to " + url_.host_header() + " failed: " + ec.message());
    }
    finish(std::move(c));
  }

  void write_next() {
    if (writing_ || queue_.empty() || state_ == State::closed) return;
    writing_ = true;
    Out& out = queue_.front();
    if (out.close) {
      ws_.async_close(*out.close, [self = this->shared_from_this()](error_code ec) {
        self->writing_ = false;
        self->queue_.clear();
        self->close_done(ec);
      });
      return;
    }
    ws_.async_write(net::buffer(out.text), [self = this->shared_from_this()](error_code ec, std::size_t n) {
      self->writing_ = false;
      if (ec) {
        // The read fails too once the socket is gone; it reports this error.
        if (!self->write_error_) self->write_error_ = make_error("ws.io", "write failed: " + ec.message());
        self->close_socket();
        return;
      }
      ++self->impl_.messages_sent;
      self->impl_.bytes_sent += n;
      self->queue_.pop_front();
      self->write_next();
    });
  }

  // The close handshake ended (or was overtaken by a read that saw the peer's close).
  void close_done(const error_code& ec) {
    if (state_ == State::closed) return;
    WebSocketClosed c;
    if (local_end_) {
      c = std::move(*local_end_);
    } else if (close_outcome_) {
      c = std::move(*close_outcome_);
    } else {
      c.why = Why::local_close;
    }
    const auto& reason = ws_.reason();
    if (reason.code != websocket::close_code::none) {
      c.code = reason.code;
      c.reason = std::string(reason.reason.data(), reason.reason.size());
    } else if (ec && c.error.code.empty()) {
      // No answer to our close frame; TLS shutdown errors after an answer do not matter.
      c.error = make_error("ws.io", "close handshake with " + url_.host_header() + " failed: " + ec.message());
    }
    finish(std::move(c));
  }

  void finish(WebSocketClosed closed) {
    if (state_ == State::closed) return;
    state_ = State::closed;
    queue_.clear();
    deadline_.cancel();
    close_timer_.cancel();
    // Beast 1.74 leaves TCP open after a TLS close handshake; handlers still pending
    // end with operation_aborted and find the state closed.
    close_socket();
    if (impl_.current.get() == this) impl_.current.reset();
    impl_.report(std::move(closed));
  }

  Impl& impl_;
  Url url_;
  tcp::resolver resolver_;
  net::steady_timer deadline_;     // connect_timeout over every connect step
  net::steady_timer close_timer_;  // close_timeout after close()
  Ws ws_;
  beast::flat_buffer buffer_;
  websocket::response_type response_;
  std::deque<Out> queue_;
  State state_ = State::idle;
  bool writing_ = false;
  bool timed_out_ = false;
  std::optional<WebSocketClosed> local_end_;  // set by close() before open, drop(), close_timeout
  std::optional<Error> write_error_;
  std::optional<WebSocketClosed> close_outcome_;  // reported after a close the client began itself
};

void WebSocketClient::Impl::start(std::string url_text) {
  if (current) {
    report(failed("ws.busy", "connect() while a connection is open or opening"));
    return;
  }
  auto url = Url::parse_websocket(url_text);
  if (!url) return report(failed("ws.bad_url", url.error().message));
  for (const auto& [name, value] : options.extra_headers) {
    if (!exchange::is_token(name) || value.find_first_of("\r\n", 0) != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return report(failed("ws.bad_header", "invalid handshake header '" + name + "'"));
    }
  }
  if (options.user_agent.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return report(failed("ws.bad_header", "invalid user agent"));
  }
  if (url->secure()) {
    if (std::string why = ensure_tls(); !why.empty()) return report(failed("ws.tls", std::move(why)));
    current = std::make_shared<Conn<TlsWs>>(*this, std::move(*url));
  } else {
    current = std::make_shared<Conn<PlainWs>>(*this, std::move(*url));
  }
  current->start();
}

WebSocketClient::WebSocketClient(WebSocketOptions options, WebSocketEvents events)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(events))) {}

WebSocketClient::~WebSocketClient() {
  if (std::this_thread::get_id() == impl_->thread.get_id()) {
    // Joining our own thread would hang; this is a bug in the owner.
    std::fputs("squadbox: WebSocketClient destroyed from its own callback\n", stderr);
    std::abort();
  }
  net::post(impl_->ioc, [impl = impl_.get()] {
    impl->quiet = true;
    if (impl->current) {
      WebSocketClosed c;
      c.why = Why::aborted;
      impl->current->abort(std::move(c));
    }
  });
  // run() returns once the aborted connection's handlers have all run.
  impl_->work.reset();
  impl_->thread.join();
}

void WebSocketClient::connect(std::string url) {
  net::post(impl_->ioc, [impl = impl_.get(), url = std::move(url)]() mutable { impl->start(std::move(url)); });
}

void WebSocketClient::send(std::string text) {
  net::post(impl_->ioc, [impl = impl_.get(), text = std::move(text)]() mutable {
    if (impl->current) {
      impl->current->send(std::move(text));
    } else {
      ++impl->messages_dropped;
    }
  });
}

void WebSocketClient::close(uint16_t code, std::string reason) {
  net::post(impl_->ioc, [impl = impl_.get(), code, reason = std::move(reason)]() mutable {
    if (impl->current) impl->current->close(code, std::move(reason));
  });
}

void WebSocketClient::drop() {
  net::post(impl_->ioc, [impl = impl_.get()] {
    if (!impl->current) return;
    WebSocketClosed c;
    c.why = Why::aborted;
    c.error = make_error("ws.aborted", "connection dropped locally");
    impl->current->abort(std::move(c));
  });
}

WebSocketStats WebSocketClient::stats() const {
  WebSocketStats s;
  s.connections_opened = impl_->connections_opened;
  s.messages_sent = impl_->messages_sent;
  s.bytes_sent = impl_->bytes_sent;
  s.messages_received = impl_->messages_received;
  s.bytes_received = impl_->bytes_received;
  s.messages_dropped = impl_->messages_dropped;
  return s;
}

}  // namespace sb::http
