// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include <utility>

#include "channels/http/client.hpp"

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

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view bsv(std::string_view s) { return {s.data(), s.size()}; }

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool is_http_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category();
}

Error bad_url(std::string_view why) { return make_error("http.bad_url", std::string(why)); }

// Drives one asynchronous step at a time on a private io_context, bounded by a single
// deadline for the whole exchange (so a trickling peer cannot stretch it).
class Driver {
 public:
  explicit Driver(std::chrono::milliseconds timeout) : deadline_(Clock::now() + timeout) {}

  net::io_context& ioc() { return ioc_; }

  // True when the step finished in time. Otherwise runs cancel() and drains the aborted
  // handler so that nothing refers to the caller's locals afterwards.
  template <class Cancel>
  bool wait(const bool& done, Cancel&& cancel) {
    ioc_.restart();
    ioc_.run_until(deadline_);
    if (done) return true;
    cancel();
    ioc_.restart();
    ioc_.run();
    return false;
  }

 private:
  net::io_context ioc_{1};
  Clock::time_point deadline_;
};

Error timeout(std::string_view step) {
  return make_error("http.timeout", "timed out " + std::string(step));
}

template <class Stream, class Cancel>
Result<Response> transact(Driver& driver, Stream& stream, Cancel&& cancel,
                          bhttp::request<bhttp::string_body>& req, const ClientOptions& options) {
  bool done = false;
  error_code ec;
  bhttp::async_write(stream, req, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, cancel)) return timeout("sending the request");
  if (ec) return make_error("http.io", "sending the request: " + ec.message());

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options.body_limit);
  if (req.method() == bhttp::verb::head) parser.skip(true);  // no body follows
  // Header first, then body: Beast 1.74's eager parse (async_read) loses the body_limit
  // error when the header and the body arrive in one buffer (boostorg/beast#2183).
  done = false;
  bhttp::async_read_header(stream, buffer, parser, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, cancel)) return timeout("reading the response");
  if (!ec && !parser.is_done()) {
    done = false;
    bhttp::async_read(stream, buffer, parser, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!driver.wait(done, cancel)) return timeout("reading the response");
  }
  if (ec == bhttp::error::body_limit) {
    return make_error("http.response_too_large",
                      "response body exceeds " + std::to_string(options.body_limit) + " bytes");
  }
  if (ec && is_http_error(ec)) return make_error("http.bad_response", "malformed response: " + ec.message());
  if (ec) return make_error("http.io", "reading the response: " + ec.message());

  auto& msg = parser.get();
  Response response;
  response.status = static_cast<int>(msg.result_int());
  response.content_type = std::string(sv(msg[bhttp::field::content_type]));
  for (const auto& field : msg) {
    response.headers.emplace_back(std::string(sv(field.name_string())), std::string(sv(field.value())));
  }
  response.body = std::move(msg.body());
  return response;
}

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
  if (!is_token(method)) return make_error("http.bad_request", "invalid method '" + std::string(method) + "'");

  bhttp::request<bhttp::string_body> req;
  if (const auto verb = bhttp::string_to_verb(bsv(method)); verb != bhttp::verb::unknown) {
    req.method(verb);
  } else {
    req.method_string(bsv(method));
  }
  req.target(url.target);
  req.version(11);
  req.set(bhttp::field::host, url.host_header());
  req.set(bhttp::field::user_agent, "squadbox");
  for (const auto& [name, value] : headers) {
    if (!is_token(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return make_error("http.bad_request", "invalid header '" + name + "'");
    }
    // Framing is ours; one request per connection.
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection")) {
      continue;
    }
    if (iequals(name, "host") || iequals(name, "user-agent")) {
      req.set(bsv(name), value);
    } else {
      req.insert(bsv(name), value);
    }
  }
  req.set(bhttp::field::connection, "close");
  req.body() = std::move(body);
  req.prepare_payload();

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

  if (url.scheme == "http") return transact(driver, socket, close_socket, req, options);

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
  return transact(driver, stream, close_stream, req, options);
}

}  // namespace sb::http
