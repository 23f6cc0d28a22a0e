#pragma once
// A synchronous HTTP/1.1 client that keeps one connection per origin (scheme, host,
// port) open and reuses it, for senders that talk to the same API over and over.
// A request that fails on a reused connection before any byte of the answer arrived
// (the server closed it while idle) is sent once more on a fresh connection; nothing
// else is retried here. Not thread-safe: one client per sending thread. Boost stays in
// keepalive_client.cpp.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/http/message.hpp"

namespace sb::http {

struct KeepAliveOptions {
  std::chrono::milliseconds timeout{10000};  // per request: connect, TLS, send, whole answer
  size_t body_limit = 8u << 20;              // larger response bodies are an error
  std::string ca_file;                       // https: trust this PEM bundle, not the system's
  // A connection idle longer than this is closed rather than reused (servers drop idle
  // connections after a while; a fresh one is cheaper than a failed write).
  std::chrono::milliseconds max_idle{30000};
};

class KeepAliveClient {
 public:
  explicit KeepAliveClient(KeepAliveOptions options = {});
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  // Any HTTP status is a success value. Errors as http::request (client.hpp):
  // "http.bad_url", "http.unsupported_scheme", "http.bad_request", "http.resolve",
  // "http.connect", "http.tls", "http.timeout", "http.io", "http.bad_response",
  // "http.response_too_large". After an error the origin's connection is dropped.
  Result<Response> request(std::string_view method, std::string_view url, Headers headers, std::string body);

  // Connections opened so far (for tests and metrics).
  uint64_t connections_opened() const;
  // Drops every open connection.
  void close_all();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::http
