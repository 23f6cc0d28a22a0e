#pragma once
// Plain HTTP request/response values shared by the server, the router and the client.
// Deliberately free of Boost so that actor code can include it cheaply.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/core/text.hpp"  // header names compare with sb::iequals

namespace sb::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // raw request target, e.g. "/a/b?x=1"
  std::string path;    // target before '?', not percent-decoded
  std::string query;   // target after '?', without the '?', not decoded
  Headers headers;     // in arrival order, names as sent
  std::string body;
  std::string remote_address;  // peer IP, no port

  // First header with this name, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
  // First query parameter with this (decoded) name; '+' and %XX are decoded.
  // A parameter without '=' yields an empty string.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;  // extra headers; Content-Length/Connection are owned by the server
  std::string body;

  // First header with this name (case-insensitive); "content-type" reads content_type.
  std::optional<std::string> header(std::string_view name) const;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // Exactly {"error":{"code":"...","message":"..."}}.
  static Response error(int status, std::string_view code, std::string_view message);
};

// JSON string contents (without the surrounding quotes). Invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON.
std::string json_escape(std::string_view in);

// Decodes %XX (and '+' as space when plus_as_space). Malformed escapes are kept verbatim:
// lenient on purpose, callers validate the decoded value anyway.
std::string percent_decode(std::string_view in, bool plus_as_space = false);

// Standard reason phrase, "Unknown" for unregistered codes.
std::string_view reason_phrase(int status);

}  // namespace sb::http
