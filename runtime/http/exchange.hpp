#pragma once
// One synchronous HTTP/1.1 exchange over any connected Beast stream (TCP, TLS, unix
// socket), bounded by a single deadline. Internal to the HTTP clients: include it only
// from .cpp files (it pulls in Beast).
// Boost 1.74 Asio with -std=c++20 needs <utility> before any Asio header.
#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "runtime/core/result.hpp"
#include "runtime/http/message.hpp"

namespace sb::http::exchange {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

inline std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}
inline beast::string_view bsv(std::string_view s) {
  return {s.data(), s.size()};
}

inline bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

inline bool is_http_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category();
}

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

inline Error timeout(std::string_view step) {
  return make_error("http.timeout", "timed out " + std::string(step));
}

// Builds the request; method and header names must be tokens, values free of CR/LF/NUL.
// Framing headers are ours (one request per connection).
inline Result<bhttp::request<bhttp::string_body>> make_request(std::string_view method, std::string_view target,
                                                               const std::string& host, const Headers& headers,
                                                               std::string body) {
  if (!is_token(method)) return make_error("http.bad_request", "invalid method '" + std::string(method) + "'");
  if (target.empty() || target.front() != '/' ||
      target.find_first_of(std::string_view(" \r\n\0", 4)) != std::string_view::npos)
    return make_error("http.bad_request", "invalid request target");
  bhttp::request<bhttp::string_body> req;
  if (const auto verb = bhttp::string_to_verb(bsv(method)); verb != bhttp::verb::unknown) {
    req.method(verb);
  } else {
    req.method_string(bsv(method));
  }
  req.target(bsv(target));
  req.version(11);
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::user_agent, "squadbox");
  for (const auto& [name, value] : headers) {
    if (!is_token(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return make_error("http.bad_request", "invalid header '" + name + "'");
    }
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
  return req;
}

// A parsed Beast response as our plain Response (the body is moved out).
inline Response to_response(bhttp::response<bhttp::string_body>& msg) {
  Response response;
  response.status = static_cast<int>(msg.result_int());
  response.content_type = std::string(sv(msg[bhttp::field::content_type]));
  for (const auto& field : msg) {
    response.headers.emplace_back(std::string(sv(field.name_string())), std::string(sv(field.value())));
  }
  response.body = std::move(msg.body());
  return response;
}

// Writes the request and reads the response on an already connected stream.
template <class Stream, class Cancel>
Result<Response> transact(Driver& driver, Stream& stream, Cancel&& cancel, bhttp::request<bhttp::string_body>& req,
                          size_t body_limit) {
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
  parser.body_limit(body_limit);
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
    return make_error("http.response_too_large", "response body exceeds " + std::to_string(body_limit) + " bytes");
  }
  if (ec && is_http_error(ec)) return make_error("http.bad_response", "malformed response: " + ec.message());
  if (ec) return make_error("http.io", "reading the response: " + ec.message());

  return to_response(parser.get());
}

}  // namespace sb::http::exchange
