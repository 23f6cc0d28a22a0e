#include "runtime/http/client.hpp"

#include <charconv>

#include "runtime/http/interruptible_request.hpp"

namespace sb::http {
namespace {

Error bad_url(std::string_view why) {
  return make_error("http.bad_url", std::string(why));
}

// One parser for both URL families; `secure` and `plain` are the two schemes accepted.
Result<Url> parse_url(std::string_view text, std::string_view plain, std::string_view secure) {
  if (text.empty()) return bad_url("empty URL");
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return bad_url("URL contains whitespace or control characters");
  }
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad_url("URL needs a scheme, e.g. http://host/");
  Url url;
  for (const char c : text.substr(0, sep)) {
    url.scheme += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (url.scheme != plain && url.scheme != secure) {
    return make_error("http.unsupported_scheme", "unsupported URL scheme '" + url.scheme + "'");
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t auth_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return bad_url("credentials in URLs are not supported");

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("unexpected text after IPv6 literal");
      port = after.substr(1);
      has_port = true;
    }
    if (host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return bad_url("invalid IPv6 literal");
    }
  } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return bad_url("URL has no host");
  if (host.find_first_of("[]:") != std::string_view::npos && authority.front() != '[') {
    return bad_url("invalid host");
  }
  url.host = std::string(host);
  url.port = url.secure() ? 443 : 80;
  if (has_port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad_url("invalid port '" + std::string(port) + "'");
    }
    url.port = static_cast<uint16_t>(value);
  }
  rest = rest.substr(0, rest.find('#'));
  url.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  return url;
}

}  // namespace

Result<Url> Url::parse(std::string_view text) {
  return parse_url(text, "http", "https");
}

Result<Url> Url::parse_websocket(std::string_view text) {
  return parse_url(text, "ws", "wss");
}

std::string Url::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const uint16_t default_port = secure() ? 443 : 80;
  if (port != default_port) out += ":" + std::to_string(port);
  return out;
}

Result<Response> request(std::string_view method, std::string_view url_text, Headers headers, std::string body,
                         const ClientOptions& options) {
  return InterruptibleRequest{}.perform(method, url_text, std::move(headers), std::move(body), options);
}

}  // namespace sb::http
