#pragma once
// Internal to sb_proxy (Beast): connections from the proxy to an upstream. One is
// kept per client connection and reused while it stays healthy (keep-alive on both
// legs, so a proxied exchange costs no extra handshake).
#include <memory>
#include <string>

#include "runtime/core/result.hpp"
#include "runtime/proxy/asio.hpp"
#include "runtime/proxy/route_table.hpp"

namespace sb::proxy::detail {

struct UpstreamConnection {
  std::string key;  // Upstream::key()
  std::unique_ptr<beast::tcp_stream> plain;
  // net::ssl::stream, not beast::ssl_stream: Beast 1.74's flat_stream under it hung on a
  // request body of tens of KiB (CredentialProxyTest.LargeBodiesCrossAKeptAliveTlsUpstreamConnection).
  std::unique_ptr<net::ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  // An idle connection is reusable only if the peer has sent nothing since (no close,
  // no stray bytes): checked with a zero-timeout poll.
  bool idle_and_open();
  void close();  // closes the socket; the object stays valid
};

// Resolves, connects (bounded by connect_deadline) and, for https, handshakes with
// SNI and hostname verification. Errors: "proxy.resolve", "proxy.connect",
// "proxy.tls", "proxy.timeout".
net::awaitable<Result<std::unique_ptr<UpstreamConnection>>> connect_upstream(const Upstream& upstream,
                                                                             ssl::context& tls,
                                                                             Clock::time_point connect_deadline);

// The client TLS context: system CAs, plus `ca_file` when not empty; TLS >= 1.2;
// peer verification on. Errors: "proxy.ca_file".
Result<std::shared_ptr<ssl::context>> make_client_tls(const std::string& ca_file);

}  // namespace sb::proxy::detail
