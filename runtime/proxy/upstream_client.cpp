#include "runtime/proxy/upstream_client.hpp"

#include <poll.h>

#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace sb::proxy::detail {
namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

// Asio's resolver cannot time out by itself: a timer cancels it. Both run on the
// caller's strand, and the timer holds the resolver, so neither outlives the other.
net::awaitable<Result<std::vector<tcp::endpoint>>> resolve(const Upstream& up, Clock::time_point deadline) {
  std::vector<tcp::endpoint> out;
  error_code ec;
  if (auto address = net::ip::make_address(up.host, ec); !ec) {
    out.emplace_back(address, up.port);
    co_return out;
  }
  auto ex = co_await net::this_coro::executor;
  auto resolver = std::make_shared<tcp::resolver>(ex);
  auto timer = std::make_shared<net::steady_timer>(ex, deadline);
  timer->async_wait([resolver](error_code e) {
    if (!e) resolver->cancel();
  });
  auto results =
      co_await resolver->async_resolve(up.host, std::to_string(up.port), net::redirect_error(use_awaitable, ec));
  timer->cancel();
  if (ec == net::error::operation_aborted) co_return make_error("proxy.timeout", "resolving " + up.host + " timed out");
  if (ec) co_return make_error("proxy.resolve", "cannot resolve " + up.host + ": " + ec.message());
  for (const auto& r : results) out.push_back(r.endpoint());
  if (out.empty()) co_return make_error("proxy.resolve", "no address for " + up.host);
  co_return out;
}

std::string tls_failure(SSL* ssl, const error_code& ec) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) return std::string("certificate rejected: ") + X509_verify_cert_error_string(verify);
  return ec.message();
}

}  // namespace

bool UpstreamConnection::idle_and_open() {
  auto& sock = lowest().socket();
  if (!sock.is_open()) return false;
  pollfd p{sock.native_handle(), POLLIN, 0};
  // Readable while idle means EOF, a reset or bytes nobody asked for: not reusable.
  return ::poll(&p, 1, 0) == 0;
}

void UpstreamConnection::close() {
  error_code ec;
  auto& sock = lowest().socket();
  sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
}

net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> connect_upstream(const Upstream& upstream,
                                                                             ssl::context& tls,
                                                                             Clock::time_point deadline) {
  auto endpoints = co_await resolve(upstream, deadline);
  if (!endpoints) co_return endpoints.error();
  auto ex = co_await net::this_coro::executor;
  auto conn = std::make_unique<UpstreamConnection>();
  conn->key = upstream.key();
  beast::tcp_stream stream(ex);
  stream.expires_at(deadline);
  error_code ec;
  co_await stream.async_connect(*endpoints, net::redirect_error(use_awaitable, ec));
  if (ec == beast::error::timeout)
    co_return make_error("proxy.timeout", "connecting to " + upstream.host_header() + " timed out");
  if (ec) co_return make_error("proxy.connect", "cannot connect to " + upstream.host_header() + ": " + ec.message());
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (!upstream.tls) {
    stream.expires_never();
    conn->plain = std::make_unique<beast::tcp_stream>(std::move(stream));
    co_return conn;
  }
  conn->tls = std::make_unique<net::ssl::stream<beast::tcp_stream>>(std::move(stream), tls);
  SSL* ssl = conn->tls->native_handle();
  if (is_ip_literal(upstream.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), upstream.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, upstream.host.c_str());  // SNI
    SSL_set1_host(ssl, upstream.host.c_str());             // hostname verification
  }
  conn->tls->set_verify_mode(ssl::verify_peer);
  co_await conn->tls->async_handshake(ssl::stream_base::client, net::redirect_error(use_awaitable, ec));
  if (ec == beast::error::timeout)
    co_return make_error("proxy.timeout", "TLS handshake with " + upstream.host_header() + " timed out");
  if (ec) co_return make_error("proxy.tls", "TLS with " + upstream.host_header() + ": " + tls_failure(ssl, ec));
  conn->lowest().expires_never();
  co_return conn;
}

Result<std::shared_ptr<ssl::context>> make_client_tls(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) return make_error("proxy.ca_file", "cannot load the system CA store: " + ec.message());
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec) return make_error("proxy.ca_file", "cannot load proxy.ca_file " + ca_file + ": " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

}  // namespace sb::proxy::detail
