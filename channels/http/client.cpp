// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include <utility>

#include "channels/http/client.hpp"
#include "channels/http/exchange.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <vector>

namespace sb::http {
namespace {

using namespace exchange;

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

Error bad_url(std::string_view why) { return make_error("http.bad_url", std::string(why)); }

}  // namespace

Result<Url> Url::parse(std::string_view text) {
  if (text.empty()) return bad_url("empty URL");
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad_url("URL contains whitespace or control characters");
  }
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad_url("URL needs a scheme, e.g. http://host/");
  Url url;
  for (const char c : text.substr(0, sep)) {
    url.scheme += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (url.scheme != "http" && url.scheme != "https") {
    return make_error("http.unsupported_scheme", "unsupported URL scheme '" + url.scheme + "'");
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t auth_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return bad_url("credentials in URLs are not supported");

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("unexpected text after IPv6 literal");
      port = after.substr(1);
      has_port = true;
    }
    if (host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return bad_url("invalid IPv6 literal");
    }
  } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return bad_url("URL has no host");
  if (host.find_first_of("[]:") != std::string_view::npos && authority.front() != '[') {
    return bad_url("invalid host");
  }
  url.host = std::string(host);
  url.port = url.scheme == "https" ? 443 : 80;
  if (has_port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return bad_url("invalid port '" + std::string(port) + "'");
    }
    url.port = static_cast<uint16_t>(value);
  }
  rest = rest.substr(0, rest.find('#'));
  url.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  return url;
}

std::string Url::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const uint16_t default_port = scheme == "https" ? 443 : 80;
  if (port != default_port) out += ":" + std::to_string(port);
  return out;
}

Result<Response> request(std::string_view method, std::string_view url_text, Headers headers,
                         std::string body, const ClientOptions& options) {
  auto parsed = Url::parse(url_text);
  if (!parsed) return parsed.error();
  const Url& url = *parsed;
  auto made = exchange::make_request(method, url.target, url.host_header(), headers, std::move(body));
  if (!made) return made.error();
  auto& req = *made;

  Driver driver(options.timeout);
  bool done = false;
  error_code ec;

  // Resolve (skipped for IP literals, whose lookup could not fail anyway).
  std::vector<tcp::endpoint> endpoints;
  if (const auto address = net::ip::make_address(url.host, ec); !ec) {
    endpoints.emplace_back(address, url.port);
  } else {
    tcp::resolver resolver(driver.ioc());
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](error_code e, const tcp::resolver::results_type& results) {
                             ec = e;
                             for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                             done = true;
                           });
    if (!driver.wait(done, [&] { resolver.cancel(); })) return timeout("resolving " + url.host);
    if (ec || endpoints.empty()) {
      return make_error("http.resolve", "cannot resolve " + url.host + ": " + ec.message());
    }
  }

  tcp::socket socket(driver.ioc());
  auto close_socket = [&] {
    error_code ignored;
    socket.close(ignored);
  };
  done = false;
  net::async_connect(socket, endpoints, [&](error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, close_socket)) return timeout("connecting to " + url.host_header());
  if (ec) return make_error("http.connect", "cannot connect to " + url.host_header() + ": " + ec.message());

  if (url.scheme == "http") return transact(driver, socket, close_socket, req, options.body_limit);

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
  if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    return make_error("http.tls", "cannot set TLS server name");
  }
  auto close_stream = [&] {
    error_code ignored;
    stream.next_layer().close(ignored);
  };
  done = false;
  stream.async_handshake(ssl::stream_base::client, [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, close_stream)) return timeout("in the TLS handshake with " + url.host_header());
  if (ec) return make_error("http.tls", "TLS handshake with " + url.host_header() + " failed: " + ec.message());
  // No TLS close_notify: the response is length-delimited and the socket closes anyway.
  return transact(driver, stream, close_stream, req, options.body_limit);
}

}  // namespace sb::http
