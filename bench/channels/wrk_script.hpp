#pragma once
// wrk's side of the ingress benchmark: the Lua script that replays pre-generated raw
// requests (wrk's LuaJIT has no HMAC, so every signed request is made beforehand) and
// reports its totals as one machine-readable line, and the parser for that line. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::bench {

// Requests for wrk thread k (1-based) are read from `<request_prefix><k>.bin`: raw
// requests separated by NUL bytes. Without a prefix the script only reports (static
// GET, as for nginx).
std::string wrk_lua_script(const std::string& request_prefix);

struct WrkReport {
  uint64_t requests = 0;  // complete responses
  double duration_s = 0;
  uint64_t connect_errors = 0, read_errors = 0, write_errors = 0, timeouts = 0;
  uint64_t non2xx = 0;                        // wrk's "status" errors (status > 399) -- see below
  uint64_t sent = 0;                          // requests handed to wrk by request() (0 for a static script)
  uint64_t wrapped = 0;                       // times a thread ran out of requests and started over
  double p50_ms = 0, p99_ms = 0, max_ms = 0;  // wrk's closed-loop latency
  double rate() const { return duration_s > 0 ? static_cast<double>(requests) / duration_s : 0; }
  uint64_t socket_errors() const { return connect_errors + read_errors + write_errors + timeouts; }
};

// Finds the "SBWRK ..." line in wrk's output; nullopt if absent or malformed.
std::optional<WrkReport> parse_wrk_report(std::string_view output);

}  // namespace sb::bench
