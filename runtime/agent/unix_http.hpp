#pragma once
// The agent's HTTP client over a unix stream socket (the credential proxy's
// proxy.sock): one request per connection, the whole exchange bounded by a deadline.
// Thin I/O shell over http_message.hpp.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/agent/http_message.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

// Sends `request` (complete bytes, see build_http_request) and reads one response.
// Error codes: "http.connect" (no socket, refused, path too long), "http.timeout"
// (deadline passed), "http.io" (send/recv failed), plus the parser's
// "http.malformed" / "http.too_large" / "http.truncated".
Result<HttpResponse> unix_http_exchange(const std::string& socket_path, std::string_view request,
                                        std::chrono::milliseconds timeout, std::size_t max_body = 8u << 20);

}  // namespace sb::agent
