#pragma once
// CredentialProxy (security layer 4): the only way out of a container. Each container
// start opens a ProxyLease: a unix socket in the run's IPC directory plus a fresh
// random placeholder token. Requests on a lease socket name a route by their first
// path segment; the proxy checks the token (401), the route (404), the namespace
// (403) and the size (413), swaps the placeholder for the real credential from the
// vault, forwards over TLS (system CAs plus proxy.ca_file, SNI, hostname checked) and
// streams the response back chunk by chunk. docs/credential-proxy.md.
//
// Boost stays out of this header: the I/O lives in the .cpp files.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/config/config.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"
#include "runtime/proxy/proxy_lease.hpp"

namespace sb::proxy {

namespace detail {
struct ProxyCore;
}

// Real credentials by vault entry name (a route's `secret`). Called per request, on
// a proxy thread: it must not block for long.

struct ProxyTuning {
  // One thread relays well over ten thousand requests a second; more threads mostly
  // add cross-thread wake-ups per request (measured: docs/credential-proxy.md).
  int threads = 1;
  // A client connection with no request in flight is closed after this long.
  std::chrono::milliseconds client_idle_timeout{120000};
};

struct LeaseRequest {
  std::string run_id;
  std::string namespace_name;
  std::string socket_path;   // host path, normally <run ipc dir>/proxy.sock
  std::optional<uid_t> uid;  // owner of the socket (the container uid); nullopt: the caller
  std::optional<gid_t> gid;
};

class CredentialProxy {
 public:
  // Validates the routes and loads the CAs, then starts its threads. Errors:
  // "proxy.bad_route", "proxy.ca_file".
  static Result<std::shared_ptr<CredentialProxy>> create(const config::ProxyConfig& config, SecretLookup secrets,
                                                         AuditSink audit, metrics::Registry* metrics,
                                                         ProxyTuning tuning = {});
  ~CredentialProxy();  // stop()
  CredentialProxy(const CredentialProxy&) = delete;
  CredentialProxy& operator=(const CredentialProxy&) = delete;

  // Binds the lease's socket (replacing a stale socket file there) and mints its
  // token. Errors: "proxy.stopped", "proxy.socket" (bind, chown, a non-socket file in
  // the way).
  Result<std::unique_ptr<ProxyLease>> open_lease(const LeaseRequest& request);

  size_t active_leases() const;
  // Client connections being served, all leases together (bounded by
  // proxy.max_connections_per_lease and proxy.max_connections).
  size_t open_connections() const;
  // Route names a namespace may use.
  std::vector<std::string> routes_for(const std::string& namespace_name) const;
  const config::ProxyConfig& config() const;

  // Closes every lease socket and connection and joins the threads. Idempotent. Leases
  // that outlive it revoke nothing.
  void stop();

 private:
  explicit CredentialProxy(std::shared_ptr<detail::ProxyCore> core);
  std::shared_ptr<detail::ProxyCore> core_;
};

}  // namespace sb::proxy
