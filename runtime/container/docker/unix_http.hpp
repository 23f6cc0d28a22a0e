#pragma once
// A small synchronous HTTP/1.1 client over a unix domain socket: what the Docker
// Engine API (and Podman's compatible service) speak. One request per connection,
// so a blocking POST /containers/{id}/wait never holds up other calls. Boost stays
// in the .cpp (pimpl-free: the state is per call).
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/http/message.hpp"

namespace sb::container::docker {

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path, size_t body_limit = 64u << 20)
      : socket_path_(std::move(socket_path)), body_limit_(body_limit) {}

  // Sends one request and reads the whole response (Content-Length or chunked);
  // any HTTP status is a success value. `timeout` bounds the whole exchange.
  // Errors: "http.bad_request", "http.connect", "http.timeout", "http.io",
  // "http.bad_response", "http.response_too_large".
  Result<http::Response> request(std::string_view method, std::string_view target, const http::Headers& headers,
                                 std::string body, std::chrono::milliseconds timeout) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
  size_t body_limit_;
};

}  // namespace sb::container::docker
