#include "runtime/proxy/admission.hpp"

#include "runtime/proxy/forward_headers.hpp"

namespace sb::proxy {
namespace {

Denial deny(int status, std::string type, std::string message, std::string reason) {
  Denial d;
  d.status = status;
  d.type = std::move(type);
  d.message = std::move(message);
  d.reason = std::move(reason);
  return d;
}

}  // namespace

std::variant<Admission, Denial> admit(const RequestHead& head, const TokenRegistry& tokens, const RouteTable& routes,
                                      uint64_t max_request_bytes) {
  const std::string path(path_of(head.target));
  auto token = client_token(head.headers);
  if (!token) {
    auto d = deny(401, "authentication_error", "missing placeholder token (x-api-key or Authorization: Bearer)",
                  "missing_token");
    d.path = path;
    return d;
  }
  auto grant = tokens.lookup(*token);
  if (!grant) {
    auto d = deny(401, "authentication_error", "unknown or revoked placeholder token", "unknown_token");
    d.path = path;
    return d;
  }
  auto match = routes.match(head.target);
  if (!match) {
    auto d = match.error().code == "proxy.unknown_route"
                 ? deny(404, "not_found_error", match.error().message, "unknown_route")
                 : bad_request(match.error().message);
    d.grant = grant;
    d.path = path;
    return d;
  }
  if (!match->route->allows(grant->namespace_name)) {
    auto d = deny(403, "permission_error",
                  "namespace '" + grant->namespace_name + "' may not use route '" + match->route->name + "'",
                  "route_not_allowed");
    d.grant = grant;
    d.route = match->route->name;
    d.path = path;
    return d;
  }
  if (head.content_length && *head.content_length > max_request_bytes) {
    auto d = too_large(max_request_bytes);
    d.grant = grant;
    d.route = match->route->name;
    d.path = path;
    return d;
  }
  return Admission{std::move(*grant), std::move(*match)};
}

bool is_credential_denial(const Denial& d) {
  return d.status == 401 || d.status == 403;
}

Denial upstream_failure(std::string message) {
  return deny(502, "upstream_error", std::move(message), "upstream_failure");
}
Denial upstream_timeout(std::string message) {
  return deny(504, "timeout_error", std::move(message), "upstream_timeout");
}
Denial too_large(uint64_t limit) {
  return deny(413, "request_too_large", "request body exceeds " + std::to_string(limit) + " bytes", "too_large");
}
Denial too_many_bytes(uint64_t budget) {
  return deny(429, "rate_limit_error",
              "request bodies of this container would exceed " + std::to_string(budget) +
                  " bytes held at once; retry when earlier requests finish",
              "body_budget");
}
Denial bad_request(std::string message) {
  return deny(400, "invalid_request_error", std::move(message), "bad_request");
}

std::string error_body(std::string_view type, std::string_view message) {
  return "{\"error\":{\"type\":\"" + http::json_escape(type) + "\",\"message\":\"" + http::json_escape(message) +
         "\"}}";
}

}  // namespace sb::proxy
