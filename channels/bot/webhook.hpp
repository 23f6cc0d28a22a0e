#pragma once
// What a webhook verifier sees of an HTTP request, and the decision it returns.
// Views only: the listener owns the request; nothing here copies the body.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace sb::channels {

// Same shape as sb::http::Headers' elements, so a request's headers pass as they are.
using Header = std::pair<std::string, std::string>;

struct WebhookRequest {
  std::string_view method;          // "GET", "POST", ...
  std::span<const Header> headers;  // names as sent; looked up case-insensitively
  std::string_view query;           // raw, after '?', not decoded
  std::string_view body;            // raw bytes as received: signatures cover exactly these
};

// First header with this name (ASCII case-insensitive).
std::optional<std::string_view> find_header(std::span<const Header> headers, std::string_view name);
std::size_t count_header(std::span<const Header> headers, std::string_view name);

// First value of an application/x-www-form-urlencoded parameter ('+' and %XX decoded;
// a malformed escape is kept verbatim). Used for query strings and form bodies.
std::optional<std::string> form_param(std::string_view form, std::string_view name);

// The verifier's answer. accept: hand the body to the parser. respond: answer the
// platform's handshake with this exact response and stop. reject: answer `status` with
// `reason` (a stable code for logs, metrics and the audit event) and stop.
struct Verdict {
  enum class Kind { accept, respond, reject };
  Kind kind = Kind::reject;
  int status = 401;
  std::string reason;
  std::string content_type;
  std::string body;

  static Verdict accept() { return {Kind::accept, 200, "", "", ""}; }
  static Verdict respond(int status, std::string content_type, std::string body) {
    return {Kind::respond, status, "", std::move(content_type), std::move(body)};
  }
  static Verdict reject(int status, std::string reason) { return {Kind::reject, status, std::move(reason), "", ""}; }
  bool accepted() const { return kind == Kind::accept; }
};

}  // namespace sb::channels
