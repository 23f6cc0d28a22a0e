#pragma once
// The admin listener's answer to DNS rebinding (L1 of the 2026-12 audit): a web page the
// operator visits can make its own host name resolve to 127.0.0.1 and then read the
// listener's unauthenticated pages (/metrics, /readyz) with its name in `Host`. Only
// names that cannot be rebound are accepted: loopback literals, `localhost`, the
// configured listen address and names the operator lists. Pure.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::http {

struct HostPolicy {
  std::string listen_address;      // admin.address; a wildcard (0.0.0.0, ::) adds nothing
  std::vector<std::string> extra;  // admin.allowed_hosts: more names (a reverse proxy's)
};

// The host part of a Host header value: "[::1]:8080" -> "::1", "Example:80" -> "example".
// nullopt for a malformed value.
std::optional<std::string> host_of(std::string_view host_header);

// Whether a request with this Host header (nullopt: none, e.g. an HTTP/1.0 tool) may be
// served. Browsers always send one, so a missing header is not a rebinding attempt.
bool host_allowed(const std::optional<std::string>& host_header, const HostPolicy& policy);

}  // namespace sb::http
