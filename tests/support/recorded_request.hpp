#pragma once
// One HTTP request as a fake server saw it (FakeUpstream, FakeWsServer). Boost-free.
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sb::test {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;
  std::string tls_server_name;  // SNI, "" over plain HTTP or without SNI
  size_t connection = 0;        // which connection (1, 2, ...) carried it

  // First header with this name (case-insensitive).
  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return std::nullopt;
  }
  size_t header_count(const std::string& name) const {
    size_t n = 0;
    for (const auto& h : headers)
      if (strcasecmp(h.first.c_str(), name.c_str()) == 0) ++n;
    return n;
  }
};

}  // namespace sb::test
