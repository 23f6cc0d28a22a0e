#pragma once
// RouteTable: the `[proxy.routes.NAME]` of the configuration, parsed once. The first
// segment of a request path names the route; the rest is appended to the route's
// upstream URL (whose own path, if any, is a prefix). Pure: no I/O.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/config/config.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::proxy {

struct Upstream {
  bool tls = true;
  std::string host;  // name or IP literal (IPv6 without brackets)
  uint16_t port = 443;
  std::string base_path;  // "" or "/v1" (no trailing slash, no query)

  std::string host_header() const;  // brackets for IPv6; port only when not the default
  std::string key() const;          // "https://host:port": connections are shared per key
};

struct Route {
  std::string name;
  Upstream upstream;
  std::string header;                   // lower case, e.g. "x-api-key", "authorization"
  std::string scheme;                   // "" or e.g. "Bearer"
  std::string secret;                   // vault entry name; "" = send no credential (keyless)
  std::vector<std::string> namespaces;  // empty: every namespace

  bool allows(std::string_view namespace_name) const;
  // The injected header's value: "<scheme> <secret>" or just the secret.
  Secret credential(const Secret& secret_value) const;
};

struct RouteMatch {
  const Route* route = nullptr;
  std::string upstream_target;  // base path + rest of the path + query
  std::string path;             // the client's path without the query (for the audit)
};

class RouteTable {
 public:
  // Errors: "proxy.bad_route" (an upstream that is not an http(s) URL, or one with a
  // query, or a route name that is not a path segment).
  static Result<RouteTable> from_config(const std::map<std::string, config::ProxyRoute>& routes);

  // "/NAME/rest?query" -> the route and the upstream target. Errors:
  // "proxy.bad_target" (not origin-form, dot segments, control characters) and
  // "proxy.unknown_route".
  Result<RouteMatch> match(std::string_view target) const;

  const Route* find(std::string_view name) const;
  std::vector<std::string> names() const;
  // Routes a namespace may use.
  std::vector<std::string> names_for(std::string_view namespace_name) const;

 private:
  std::map<std::string, Route, std::less<>> routes_;
};

// The request path without the query string.
std::string_view path_of(std::string_view target);

}  // namespace sb::proxy
