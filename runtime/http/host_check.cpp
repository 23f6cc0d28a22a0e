#include "runtime/http/host_check.hpp"

#include <arpa/inet.h>

#include "runtime/core/text.hpp"

namespace sb::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool is_loopback_literal(const std::string& host) {
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool is_wildcard(const std::string& address) {
  return address.empty() || address == "0.0.0.0" || address == "::" || address == "[::]";
}

}  // namespace

std::optional<std::string> host_of(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  std::string_view host;
  if (value.front() == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = value.substr(1, close - 1);
    const std::string_view rest = value.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
  } else {
    const size_t colon = value.find(':');
    if (colon != std::string_view::npos && value.find(':', colon + 1) != std::string_view::npos)
      return std::nullopt;  // a bare IPv6 address is not a valid Host
    host = value.substr(0, colon);
  }
  if (host.empty()) return std::nullopt;
  for (char c : host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '@' || c == '\\' || c == '#' || c == '?')
      return std::nullopt;
  std::string out = lower(host);
  if (out.back() == '.') out.pop_back();  // "localhost." is "localhost"
  if (out.empty()) return std::nullopt;
  return out;
}

bool host_allowed(const std::optional<std::string>& header, const HostPolicy& policy) {
  if (!header) return true;
  const auto host = host_of(*header);
  if (!host) return false;
  if (*host == "localhost" || is_loopback_literal(*host)) return true;
  if (!is_wildcard(policy.listen_address)) {
    auto configured = host_of(policy.listen_address);
    if (configured && *configured == *host) return true;
  }
  for (const auto& name : policy.extra) {
    auto allowed = host_of(name);
    if (allowed && *allowed == *host) return true;
  }
  return false;
}

}  // namespace sb::http
