#pragma once
// Small synchronous HTTP/1.1 client (one request per connection) for CLI subcommands,
// tests and simple outbound calls. Boost stays in client.cpp.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/http/message.hpp"

namespace sb::http {

struct Url {
  std::string scheme;  // "http" or "https" ("ws" or "wss" from parse_websocket), lower case
  std::string host;    // IPv6 literals without brackets
  uint16_t port = 0;   // explicit or the scheme's default
  std::string target;  // path and query, at least "/"; the fragment is dropped

  // Errors: "http.bad_url" (syntax, credentials in the URL, bad port),
  // "http.unsupported_scheme" (anything but http/https).
  static Result<Url> parse(std::string_view text);
  // The same syntax for WebSocket URLs, schemes "ws" (default port 80) and "wss" (443):
  // a separate entry point so that http::request keeps refusing ws URLs. Same errors.
  static Result<Url> parse_websocket(std::string_view text);
  // https or wss.
  bool secure() const { return scheme == "https" || scheme == "wss"; }
  // Value for the Host header: brackets for IPv6, port only when not the default.
  std::string host_header() const;
};

struct ClientOptions {
  std::chrono::milliseconds timeout{10000};  // whole exchange, connect to last byte
  size_t body_limit = 8u << 20;              // larger response bodies are an error
  std::string ca_file;                       // https: trust this PEM bundle, not the system's
};

// Sends one request and reads the whole response; any HTTP status is a success value.
// Response::content_type is the Content-Type header ("" if absent); Response::headers
// holds every response header. Errors: "http.bad_url", "http.unsupported_scheme",
// "http.bad_request" (invalid method or header), "http.resolve", "http.connect",
// "http.tls", "http.timeout", "http.io", "http.bad_response", "http.response_too_large".
Result<Response> request(std::string_view method, std::string_view url, Headers headers, std::string body,
                         const ClientOptions& options);

inline Result<Response> request(std::string_view method, std::string_view url, Headers headers, std::string body,
                                std::chrono::milliseconds timeout) {
  ClientOptions options;
  options.timeout = timeout;
  return request(method, url, std::move(headers), std::move(body), options);
}

}  // namespace sb::http
