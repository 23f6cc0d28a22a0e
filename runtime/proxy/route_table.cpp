#include "runtime/proxy/route_table.hpp"

#include <algorithm>

#include "runtime/http/client.hpp"

namespace sb::proxy {
namespace {

Error bad_route(const std::string& name, const std::string& why) {
  return make_error("proxy.bad_route", "proxy.routes." + name + ": " + why);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A segment that resolves to "." or ".." once %2e is decoded: an upstream could
// normalise it and leave the route's base path.
bool dot_segment(std::string_view seg) {
  std::string decoded;
  for (size_t i = 0; i < seg.size(); ++i) {
    const std::string_view three = seg.substr(i, 3);
    if (three == "%2e" || three == "%2E") {
      decoded += '.';
      i += 2;
    } else {
      decoded += seg[i];
    }
  }
  return decoded == "." || decoded == "..";
}

}  // namespace

std::string Upstream::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

std::string Upstream::key() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

bool Route::allows(std::string_view namespace_name) const {
  return namespaces.empty() || std::find(namespaces.begin(), namespaces.end(), namespace_name) != namespaces.end();
}

Secret Route::credential(const Secret& secret_value) const {
  if (scheme.empty()) return secret_value;
  return Secret(scheme + " " + secret_value.reveal());
}

Result<RouteTable> RouteTable::from_config(const std::map<std::string, config::ProxyRoute>& routes) {
  RouteTable table;
  for (const auto& [name, r] : routes) {
    if (!config::route_name_ok(name)) return bad_route(name, "the name is not a valid path segment");
    auto url = http::Url::parse(r.upstream);
    if (!url) return bad_route(name, "upstream: " + url.error().message);
    if (url->target.find('?') != std::string::npos) return bad_route(name, "upstream must not carry a query");
    if (r.header.empty()) return bad_route(name, "header must not be empty");
    Route route;
    route.name = name;
    route.upstream.tls = url->scheme == "https";
    route.upstream.host = url->host;
    route.upstream.port = url->port;
    route.upstream.base_path = url->target;
    while (!route.upstream.base_path.empty() && route.upstream.base_path.back() == '/')
      route.upstream.base_path.pop_back();
    route.header = lower(r.header);
    route.scheme = r.scheme;
    route.secret = r.secret;
    route.namespaces = r.namespaces;
    table.routes_.emplace(name, std::move(route));
  }
  return table;
}

Result<RouteMatch> RouteTable::match(std::string_view target) const {
  if (target.empty() || target.front() != '/')
    return make_error("proxy.bad_target", "the request target must be a path (origin-form)");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\' || c == '#')
      return make_error("proxy.bad_target", "the request target contains a forbidden character");
  const std::string_view path = path_of(target);
  const std::string_view query = target.substr(path.size());  // "" or "?..."
  for (size_t pos = 1; pos <= path.size();) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (dot_segment(path.substr(pos, end - pos)))
      return make_error("proxy.bad_target", "the request path contains a dot segment");
    pos = end + 1;
  }
  const size_t name_end = std::min(path.find('/', 1), path.size());
  const std::string_view name = path.substr(1, name_end - 1);
  const Route* route = find(name);
  if (!route) return make_error("proxy.unknown_route", "no proxy route is named '" + std::string(name) + "'");
  std::string rest(path.substr(name_end));  // "" or "/..."
  RouteMatch m;
  m.route = route;
  m.upstream_target = route->upstream.base_path + rest;
  if (m.upstream_target.empty()) m.upstream_target = "/";
  m.upstream_target += query;
  m.path = std::string(path);
  return m;
}

const Route* RouteTable::find(std::string_view name) const {
  auto it = routes_.find(name);
  return it == routes_.end() ? nullptr : &it->second;
}

std::vector<std::string> RouteTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, r] : routes_) out.push_back(name);
  return out;
}

std::vector<std::string> RouteTable::names_for(std::string_view namespace_name) const {
  std::vector<std::string> out;
  for (const auto& [name, r] : routes_)
    if (r.allows(namespace_name)) out.push_back(name);
  return out;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace sb::proxy
