#pragma once
// Admission: what the proxy decides from a request head alone, before it reads the
// body or opens an upstream connection. Order matters: the token is checked before
// the route, so a caller without a live token learns nothing about the routes. Pure
// (the token registry is plain shared data).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "runtime/http/message.hpp"
#include "runtime/proxy/route_table.hpp"
#include "runtime/proxy/token_registry.hpp"

namespace sb::proxy {

struct RequestHead {
  std::string method;
  std::string target;
  http::Headers headers;
  std::optional<uint64_t> content_length;  // nullopt: chunked or no body
};

// An answer the proxy gives itself: {"error":{"type":...,"message":...}}.
struct Denial {
  int status = 0;
  std::string type;  // "authentication_error", "permission_error", ...
  std::string message;
  std::string reason;          // for audit and metrics: "missing_token", "unknown_token", ...
  std::optional<Grant> grant;  // known once the token was accepted
  std::string route;           // known once the route was found
  std::string path;            // the request path without its query
};

struct Admission {
  Grant grant;
  RouteMatch match;
};

std::variant<Admission, Denial> admit(const RequestHead& head, const TokenRegistry& tokens, const RouteTable& routes,
                                      uint64_t max_request_bytes);

// Denials of 401 and 403 are about the caller's credentials; they are audited as
// proxy.denied rather than proxy.request.
bool is_credential_denial(const Denial& d);

// The proxy's own error answers.
Denial upstream_failure(std::string message);  // 502
Denial upstream_timeout(std::string message);  // 504
Denial too_large(uint64_t limit);              // 413
Denial bad_request(std::string message);       // 400
Denial too_many_bytes(uint64_t budget);        // 429: the lease's buffered-body budget is spent

std::string error_body(std::string_view type, std::string_view message);

}  // namespace sb::proxy
