#pragma once
// The agent's HTTP client over a unix stream socket (the credential proxy's
// proxy.sock): HTTP/1.1 with keep-alive, one exchange at a time, each bounded by a
// deadline. Keeping the connection across a turn's model calls lets the proxy keep its
// upstream connection too, so a step costs no new TLS handshake with the model's API.
// Thin I/O shell over http_message.hpp.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/agent/http_message.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}

  // Sends `request` (complete bytes, see build_http_request) and reads one response.
  // A kept connection that the peer closed while idle is replaced, and a request that
  // found it closed before any answer is sent once more on a new one. Error codes:
  // "http.connect" (no socket, refused, path too long), "http.timeout" (deadline
  // passed), "http.io" (send/recv failed), plus the parser's "http.malformed" /
  // "http.too_large" / "http.truncated".
  Result<HttpResponse> exchange(std::string_view request, std::chrono::milliseconds timeout,
                                std::size_t max_body = 8u << 20);

  // Whether a connection is kept for the next exchange (tests).
  bool connected() const { return fd_.valid(); }
  // How many connections this client opened (tests, benchmarks).
  std::size_t connects() const { return connects_; }

 private:
  Result<HttpResponse> exchange_once(std::string_view request, std::chrono::steady_clock::time_point deadline,
                                     std::chrono::milliseconds timeout, std::size_t max_body, bool& unanswered);
  Status connect(std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout);

  std::string socket_path_;
  UniqueFd fd_;
  std::size_t connects_ = 0;
};

}  // namespace sb::agent
