// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include <utility>

#include "runtime/container/docker/unix_http.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace sb::container::docker {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using unix_socket = net::local::stream_protocol;
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

// One asynchronous step at a time on a private io_context, all bounded by a single
// deadline: the synchronous Beast calls have no timeout, and /wait may block for
// as long as the container runs.
class Driver {
 public:
  explicit Driver(std::chrono::milliseconds timeout) : deadline_(Clock::now() + timeout) {}
  net::io_context& ioc() { return ioc_; }

  // True when the step finished in time; otherwise cancels and drains the aborted
  // handler so nothing refers to the caller's locals afterwards.
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

Error timed_out(std::string_view step) {
  return make_error("http.timeout", "timed out " + std::string(step));
}

}  // namespace

Result<http::Response> UnixHttpClient::request(std::string_view method, std::string_view target,
                                               const http::Headers& headers, std::string body,
                                               std::chrono::milliseconds timeout) const {
  if (!is_token(method)) return make_error("http.bad_request", "invalid method '" + std::string(method) + "'");
  if (target.empty() || target.front() != '/' ||
      target.find_first_of(std::string_view(" \r\n\0", 4)) != std::string_view::npos) {
    return make_error("http.bad_request", "invalid request target");
  }
  bhttp::request<bhttp::string_body> req;
  if (const auto verb = bhttp::string_to_verb(bsv(method)); verb != bhttp::verb::unknown) {
    req.method(verb);
  } else {
    req.method_string(bsv(method));
  }
  req.target(bsv(target));
  req.version(11);
  // Docker ignores Host on its socket, but HTTP/1.1 requires one.
  req.set(bhttp::field::host, "docker");
  req.set(bhttp::field::user_agent, "squadbox");
  for (const auto& [name, value] : headers) {
    if (!is_token(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return make_error("http.bad_request", "invalid header '" + name + "'");
    }
    if (http::iequals(name, "content-length") || http::iequals(name, "transfer-encoding") ||
        http::iequals(name, "connection")) {
      continue;  // framing is ours
    }
    req.set(bsv(name), value);
  }
  req.set(bhttp::field::connection, "close");
  req.body() = std::move(body);
  req.prepare_payload();

  Driver driver(timeout);
  unix_socket::socket socket(driver.ioc());
  auto close_socket = [&] {
    error_code ignored;
    socket.close(ignored);
  };
  bool done = false;
  error_code ec;
  socket.async_connect(unix_socket::endpoint(socket_path_), [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, close_socket)) return timed_out("connecting to " + socket_path_);
  if (ec) return make_error("http.connect", "cannot connect to " + socket_path_ + ": " + ec.message());

  done = false;
  bhttp::async_write(socket, req, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, close_socket)) return timed_out("sending the request");
  if (ec) return make_error("http.io", "sending the request: " + ec.message());

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(body_limit_);
  if (req.method() == bhttp::verb::head) parser.skip(true);
  // Header first, then body: Beast 1.74's eager async_read loses the body_limit error
  // when header and body arrive in one buffer (boostorg/beast#2183). The parser
  // decodes chunked bodies (Docker's /wait and error replies use them).
  done = false;
  bhttp::async_read_header(socket, buffer, parser, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!driver.wait(done, close_socket)) return timed_out("waiting for the response");
  if (!ec && !parser.is_done()) {
    done = false;
    bhttp::async_read(socket, buffer, parser, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!driver.wait(done, close_socket)) return timed_out("reading the response body");
  }
  if (ec == bhttp::error::body_limit) {
    return make_error("http.response_too_large",
                      "response body exceeds " + std::to_string(body_limit_) + " bytes");
  }
  if (ec && is_http_error(ec)) return make_error("http.bad_response", "malformed response: " + ec.message());
  if (ec) return make_error("http.io", "reading the response: " + ec.message());

  auto& msg = parser.get();
  http::Response response;
  response.status = static_cast<int>(msg.result_int());
  response.content_type = std::string(sv(msg[bhttp::field::content_type]));
  for (const auto& field : msg) {
    response.headers.emplace_back(std::string(sv(field.name_string())), std::string(sv(field.value())));
  }
  response.body = std::move(msg.body());
  return response;
}

}  // namespace sb::container::docker
