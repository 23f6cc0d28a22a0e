#include "runtime/proxy/hop_by_hop.hpp"

#include <algorithm>
#include <array>

#include "runtime/core/text.hpp"

namespace sb::proxy {
namespace {

std::string lower_trimmed(std::string_view s) {
  std::string out(trim(s, " \t"));  // HTTP's optional whitespace
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  static constexpr std::array<std::string_view, 6> fixed = {"connection", "keep-alive",        "te",
                                                            "trailer",    "transfer-encoding", "upgrade"};
  const std::string n = lower_trimmed(name);
  if (n.rfind("proxy-", 0) == 0) return true;  // Proxy-Authorization, Proxy-Connection, ...
  return std::find(fixed.begin(), fixed.end(), n) != fixed.end();
}

std::vector<std::string> connection_options(const http::Headers& headers) {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string option = lower_trimmed(rest.substr(0, comma));
      if (!option.empty()) out.push_back(std::move(option));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

http::Headers strip_hop_by_hop(const http::Headers& headers) {
  const auto named = connection_options(headers);
  http::Headers out;
  for (const auto& h : headers) {
    if (is_hop_by_hop(h.first)) continue;
    if (std::find(named.begin(), named.end(), lower_trimmed(h.first)) != named.end()) continue;
    out.push_back(h);
  }
  return out;
}

}  // namespace sb::proxy
