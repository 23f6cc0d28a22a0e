#include "runtime/proxy/forward_headers.hpp"

#include "runtime/core/text.hpp"
#include "runtime/proxy/hop_by_hop.hpp"

namespace sb::proxy {

std::optional<std::string> client_token(const http::Headers& headers) {
  for (const auto& [name, value] : headers)
    if (iequals(name, "x-api-key") && !value.empty()) return value;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "authorization")) continue;
    std::string_view v = value;
    if (v.size() > 7 && iequals(v.substr(0, 7), "bearer ")) {
      v.remove_prefix(7);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (!v.empty()) return std::string(v);
    }
  }
  return std::nullopt;
}

http::Headers upstream_request_headers(const http::Headers& client, const Route& route, const Secret& credential) {
  http::Headers out;
  for (auto& h : strip_hop_by_hop(client)) {
    const std::string& n = h.first;
    if (iequals(n, "x-api-key") || iequals(n, "authorization") || iequals(n, route.header) || iequals(n, "host") ||
        iequals(n, "content-length") || iequals(n, "expect"))
      continue;
    out.push_back(std::move(h));
  }
  out.emplace_back("Host", route.upstream.host_header());
  if (!route.secret.empty()) out.emplace_back(route.header, credential.reveal());
  return out;
}

http::Headers client_response_headers(const http::Headers& upstream) {
  http::Headers out;
  for (auto& h : strip_hop_by_hop(upstream))
    if (!iequals(h.first, "content-length")) out.push_back(std::move(h));
  return out;
}

}  // namespace sb::proxy
