// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include "runtime/http/keepalive_client.hpp"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

#include "runtime/http/client.hpp"
#include "runtime/http/exchange.hpp"

namespace sb::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using exchange::sv;

// One open connection to an origin: plain or TLS, with what was read past the last answer.
struct Connection {
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
  Clock::time_point last_used;
  uint64_t uses = 0;

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  void close() {
    error_code ignored;
    socket().close(ignored);
  }
};

// How one attempt ended: a response, or an error and whether the answer had started.
struct Attempt {
  Result<Response> result = make_error("http.io", "not attempted");
  bool answer_started = false;
  bool keep_alive = false;
};

}  // namespace

struct KeepAliveClient::Impl {
  KeepAliveOptions options;
  net::io_context ioc{1};
  std::optional<ssl::context> tls_ctx;
  std::map<std::string, std::unique_ptr<Connection>> connections;  // key: scheme://host:port
  uint64_t opened = 0;

  explicit Impl(KeepAliveOptions o) : options(std::move(o)) {}

  ~Impl() {
    for (auto& [key, conn] : connections) conn->close();
    connections.clear();
    ioc.restart();
    ioc.run();  // drain handlers of closed sockets
  }

  // Runs the io_context until `done` or the deadline; on timeout cancels and drains.
  template <class Cancel>
  bool wait(const bool& done, Clock::time_point deadline, Cancel&& cancel) {
    ioc.restart();
    ioc.run_until(deadline);
    if (done) return true;
    cancel();
    ioc.restart();
    ioc.run();
    return false;
  }

  Result<ssl::context*> context() {
    if (tls_ctx) return &*tls_ctx;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    if (options.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(options.ca_file, ec);
    }
    if (ec) return make_error("http.tls", "cannot load trusted certificates: " + ec.message());
    tls_ctx.emplace(std::move(ctx));
    return &*tls_ctx;
  }

  Result<std::unique_ptr<Connection>> connect(const Url& url, Clock::time_point deadline) {
    bool done = false;
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
    if (const auto address = net::ip::make_address(url.host, ec); !ec) {
      endpoints.emplace_back(address, url.port);
    } else {
      tcp::resolver resolver(ioc);
      resolver.async_resolve(url.host, std::to_string(url.port),
                             [&](error_code e, const tcp::resolver::results_type& results) {
                               ec = e;
                               for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                               done = true;
                             });
      if (!wait(done, deadline, [&] { resolver.cancel(); })) return exchange::timeout("resolving " + url.host);
      if (ec || endpoints.empty())
        return make_error("http.resolve", "cannot resolve " + url.host + ": " + ec.message());
    }
    auto conn = std::make_unique<Connection>();
    auto socket = std::make_unique<tcp::socket>(ioc);
    auto close_socket = [&] {
      error_code ignored;
      socket->close(ignored);
    };
    done = false;
    net::async_connect(*socket, endpoints, [&](error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (!wait(done, deadline, close_socket)) return exchange::timeout("connecting to " + url.host_header());
    if (ec) return make_error("http.connect", "cannot connect to " + url.host_header() + ": " + ec.message());
    socket->set_option(tcp::no_delay(true), ec);  // small requests, one at a time
    ++opened;
    if (url.scheme == "http") {
      conn->plain = std::move(socket);
      return conn;
    }
    auto ctx = context();
    if (!ctx) return ctx.error();
    conn->tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(*socket), **ctx);
    auto& stream = *conn->tls;
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(url.host));
    error_code not_ip;
    net::ip::make_address(url.host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
      return make_error("http.tls", "cannot set TLS server name");
    }
    done = false;
    stream.async_handshake(ssl::stream_base::client, [&](error_code e) {
      ec = e;
      done = true;
    });
    if (!wait(done, deadline, [&] { conn->close(); })) {
      return exchange::timeout("in the TLS handshake with " + url.host_header());
    }
    if (ec) return make_error("http.tls", "TLS handshake with " + url.host_header() + " failed: " + ec.message());
    return conn;
  }

  template <class Stream>
  Attempt transact(Connection& conn, Stream& stream, bhttp::request<bhttp::string_body>& req,
                   Clock::time_point deadline) {
    Attempt attempt;
    bool done = false;
    error_code ec;
    auto cancel = [&] { conn.close(); };
    bhttp::async_write(stream, req, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!wait(done, deadline, cancel)) {
      attempt.result = exchange::timeout("sending the request");
      return attempt;
    }
    if (ec) {
      attempt.result = make_error("http.io", "sending the request: " + ec.message());
      return attempt;
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options.body_limit);
    if (req.method() == bhttp::verb::head) parser.skip(true);
    // Header first, then body (Beast 1.74 loses body_limit errors otherwise; see exchange.hpp).
    done = false;
    bhttp::async_read_header(stream, conn.buffer, parser, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    const bool in_time = wait(done, deadline, cancel);
    attempt.answer_started = parser.got_some() || conn.buffer.size() > 0;
    if (!in_time) {
      attempt.result = exchange::timeout("reading the response");
      return attempt;
    }
    if (!ec && !parser.is_done()) {
      done = false;
      bhttp::async_read(stream, conn.buffer, parser, [&](error_code e, size_t) {
        ec = e;
        done = true;
      });
      if (!wait(done, deadline, cancel)) {
        attempt.result = exchange::timeout("reading the response");
        return attempt;
      }
    }
    if (ec == bhttp::error::body_limit) {
      attempt.result = make_error("http.response_too_large",
                                  "response body exceeds " + std::to_string(options.body_limit) + " bytes");
      return attempt;
    }
    if (ec && exchange::is_http_error(ec) && ec != bhttp::error::end_of_stream) {
      attempt.result = make_error("http.bad_response", "malformed response: " + ec.message());
      return attempt;
    }
    if (ec) {
      attempt.result = make_error("http.io", "reading the response: " + ec.message());
      return attempt;
    }
    auto& msg = parser.get();
    attempt.keep_alive = msg.keep_alive();
    attempt.result = exchange::to_response(msg);
    return attempt;
  }

  Result<Response> send(const Url& url, bhttp::request<bhttp::string_body>& req) {
    const auto deadline = Clock::now() + options.timeout;
    const std::string key = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
    for (int round = 0; round < 2; ++round) {
      auto found = connections.find(key);
      if (found != connections.end() && Clock::now() - found->second->last_used > options.max_idle) {
        found->second->close();
        connections.erase(found);
        found = connections.end();
      }
      if (found == connections.end()) {
        auto made = connect(url, deadline);
        if (!made) return made.error();
        found = connections.emplace(key, std::move(*made)).first;
      }
      Connection& conn = *found->second;
      const bool reused = conn.uses > 0;
      ++conn.uses;
      Attempt attempt =
          conn.tls ? transact(conn, *conn.tls, req, deadline) : transact(conn, *conn.plain, req, deadline);
      if (attempt.result && attempt.keep_alive) {
        conn.last_used = Clock::now();
        return std::move(attempt.result);
      }
      conn.close();
      connections.erase(key);
      if (attempt.result) return std::move(attempt.result);
      // A reused connection the server had already closed: nothing of the request was
      // processed as far as we can tell, so it goes once more on a fresh connection.
      const bool stale = reused && !attempt.answer_started && attempt.result.error().code == "http.io";
      if (!stale) return std::move(attempt.result);
    }
    return make_error("http.io", "connection closed twice before an answer");
  }
};

KeepAliveClient::KeepAliveClient(KeepAliveOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
KeepAliveClient::~KeepAliveClient() = default;

Result<Response> KeepAliveClient::request(std::string_view method, std::string_view url_text, Headers headers,
                                          std::string body) {
  auto url = Url::parse(url_text);
  if (!url) return url.error();
  auto made = exchange::make_request(method, url->target, url->host_header(), headers, std::move(body));
  if (!made) return made.error();
  made->erase(bhttp::field::connection);  // HTTP/1.1: persistent unless either side says close
  return impl_->send(*url, *made);
}

uint64_t KeepAliveClient::connections_opened() const {
  return impl_->opened;
}

void KeepAliveClient::close_all() {
  for (auto& [key, conn] : impl_->connections) conn->close();
  impl_->connections.clear();
}

}  // namespace sb::http
