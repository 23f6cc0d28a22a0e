#pragma once
// A blocking HTTP/1.1 client over a unix socket for the proxy tests: keep-alive
// requests, raw bytes for what a well-behaved client never sends, and raw reads for
// watching a stream arrive. Every read is bounded (SO_RCVTIMEO), so a broken proxy
// fails a test instead of hanging it.
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>  // Boost 1.74 Asio with -std=c++20 needs it first
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace sb::test {

struct HttpReply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = false;

  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
    return std::nullopt;
  }
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class UnixClient {
 public:
  explicit UnixClient(const std::string& path, std::chrono::seconds read_timeout = std::chrono::seconds(30)) {
    socket_.connect(boost::asio::local::stream_protocol::endpoint(path));
    timeval tv{static_cast<time_t>(read_timeout.count()), 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  static bool can_connect(const std::string& path) {
    try {
      UnixClient c(path);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  // One request on this (keep-alive) connection. status 0: no answer (closed, timeout).
  HttpReply request(const std::string& method, const std::string& target, const HeaderList& headers = {},
                    const std::string& body = {}) {
    std::string wire = method + " " + target + " HTTP/1.1\r\nHost: proxy\r\n";
    for (const auto& [n, v] : headers) wire += n + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
      wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    wire += "\r\n" + body;
    if (!send_raw(wire)) return {};
    return read_reply(method == "HEAD");
  }

  bool send_raw(const std::string& bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes), ec);
    return !ec;
  }

  HttpReply read_reply(bool head_request = false) {
    namespace http = boost::beast::http;
    HttpReply out;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 31);
    if (head_request) parser.skip(true);
    boost::system::error_code ec;
    http::read(socket_, buffer_, parser, ec);
    if (ec) return out;
    const auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = res.body();
    out.keep_alive = res.keep_alive();
    return out;
  }

  // Raw bytes until `needle` has arrived (true) or the connection ends / times out.
  bool read_until(const std::string& needle, std::string& seen) {
    while (seen.find(needle) == std::string::npos) {
      char buf[4096];
      ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) return false;
      seen.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  // True if the peer closed the connection (reads EOF) within the read timeout.
  bool closed_by_peer() {
    char c;
    return ::recv(socket_.native_handle(), &c, 1, 0) == 0;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::socket socket_{io_};
  boost::beast::flat_buffer buffer_;
};

}  // namespace sb::test
