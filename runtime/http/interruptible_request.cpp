// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include "runtime/http/interruptible_request.hpp"

#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <openssl/ssl.h>

#include "runtime/http/exchange.hpp"

namespace sb::http {

namespace {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

Error interrupted_error() {
  return make_error("http.interrupted", "request interrupted (shutting down)");
}
}  // namespace

// Publishes how to abort the request in flight for as long as perform() runs. The abort
// is posted into the request's io_context, so it runs on the requesting thread inside
// the next (or current) wait and closes whatever the request uses at that moment.
struct InterruptScope {
  InterruptScope(InterruptibleRequest& owner, net::io_context& ioc, std::function<void()>& close_current)
      : owner_(owner) {
    std::lock_guard lock(owner_.mutex_);
    owner_.abort_ = [&ioc, &close_current] { net::post(ioc, [&close_current] { close_current(); }); };
  }
  ~InterruptScope() {
    std::lock_guard lock(owner_.mutex_);
    owner_.abort_ = nullptr;  // handlers still queued die with the io_context, never run
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  InterruptibleRequest& owner_;
};

void InterruptibleRequest::interrupt() {
  std::lock_guard lock(mutex_);
  interrupted_ = true;
  if (abort_) abort_();
}

bool InterruptibleRequest::interrupted() const {
  std::lock_guard lock(mutex_);
  return interrupted_;
}

Result<Response> InterruptibleRequest::perform(std::string_view method, std::string_view url_text, Headers headers,
                                               std::string body, const ClientOptions& options) {
  using namespace exchange;
  auto parsed = Url::parse(url_text);
  if (!parsed) return parsed.error();
  const Url& url = *parsed;
  auto made = make_request(method, url.target, url.host_header(), headers, std::move(body));
  if (!made) return made.error();
  auto& req = *made;

  Driver driver(options.timeout);
  std::function<void()> close_current = [] {};
  InterruptScope scope(*this, driver.ioc(), close_current);
  if (interrupted()) return interrupted_error();
  error_code ec;
  bool done = false;

  std::vector<tcp::endpoint> endpoints;
  tcp::resolver resolver(driver.ioc());
  if (const auto address = net::ip::make_address(url.host, ec); !ec) {
    endpoints.emplace_back(address, url.port);
  } else {
    close_current = [&] { resolver.cancel(); };
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](error_code e, const tcp::resolver::results_type& results) {
                             ec = e;
                             for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                             done = true;
                           });
    const bool in_time = driver.wait(done, close_current);
    if (interrupted()) return interrupted_error();
    if (!in_time) return timeout("resolving " + url.host);
    if (ec || endpoints.empty()) return make_error("http.resolve", "cannot resolve " + url.host + ": " + ec.message());
  }

  tcp::socket socket(driver.ioc());
  auto close_socket = [&] {
    error_code ignored;
    socket.close(ignored);
  };
  close_current = close_socket;
  done = false;
  net::async_connect(socket, endpoints, [&](error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  const bool connected_in_time = driver.wait(done, close_socket);
  if (interrupted()) return interrupted_error();
  if (!connected_in_time) return timeout("connecting to " + url.host_header());
  if (ec) return make_error("http.connect", "cannot connect to " + url.host_header() + ": " + ec.message());

  auto finish = [&](Result<Response> r) -> Result<Response> {
    if (interrupted()) return interrupted_error();
    return r;
  };
  if (url.scheme == "http") return finish(transact(driver, socket, close_socket, req, options.body_limit));

  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (options.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(options.ca_file, ec);
  }
  if (ec) return make_error("http.tls", "cannot load trusted certificates: " + ec.message());
  ssl::stream<tcp::socket> stream(std::move(socket), ctx);
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  error_code not_ip;
  net::ip::make_address(url.host, not_ip);
  if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()))
    return make_error("http.tls", "cannot set TLS server name");
  auto close_stream = [&] {
    error_code ignored;
    stream.next_layer().close(ignored);
  };
  close_current = close_stream;
  done = false;
  stream.async_handshake(ssl::stream_base::client, [&](error_code e) {
    ec = e;
    done = true;
  });
  const bool shook_in_time = driver.wait(done, close_stream);
  if (interrupted()) return interrupted_error();
  if (!shook_in_time) return timeout("in the TLS handshake with " + url.host_header());
  if (ec) return make_error("http.tls", "TLS handshake with " + url.host_header() + " failed: " + ec.message());
  return finish(transact(driver, stream, close_stream, req, options.body_limit));
}

}  // namespace sb::http
