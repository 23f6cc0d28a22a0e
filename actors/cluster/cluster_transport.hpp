#pragma once
// CAF's network layer (libcaf_io + libcaf_openssl 0.17) set up the only way squadbox uses
// it: mutual TLS with the cluster CA, heartbeats on, one application identifier per wire
// version, never a plain port (../shared/CAF-DISTRIBUTION.md lists what goes wrong
// otherwise). Everything here runs before or beside the actors, on the caller's thread.
#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor_system_config.hpp>

#include "runtime/config/config.hpp"
#include "runtime/core/result.hpp"

namespace sb::actors {

// Stable codes of a refused cluster start.
inline constexpr const char* kClusterCredentials = "cluster.credentials";  // TLS files unusable
inline constexpr const char* kClusterListen = "cluster.listen";            // the listener could not open

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "host:port", "[v6]:port".
Result<HostPort> parse_host_port(const std::string& text);

// The node's own credentials (parse, key mode, key matches, signed by the CA), checked
// before the actor system exists: CAF throws from its constructor on a bad TLS setup and
// then hangs at exit. Returns the certificate's CN; a CN that is not cluster.node_name is
// refused too (the other nodes know this node by that name).
Result<std::string> check_cluster_credentials(const config::ClusterConfig& cluster);

// Loads the middleman and the OpenSSL manager with the node's certificate, key and CA
// (mutual TLS, enforced by CAF on both ends), heartbeats, connection timeout and the
// wire version's application identifier. Call only after check_cluster_credentials.
void configure_cluster_transport(caf::actor_system_config& cfg, const config::ClusterConfig& cluster);

// The application identifier of this wire version ("squadbox-cluster-N").
std::string cluster_app_identifier();

// A TCP connect to host:port that gives up after `limit` (never blocks longer): CAF 0.17
// connects inside its single middleman actor, so one black-holed peer would stall every
// connect of the node for minutes. Nothing is sent; the socket is closed at once.
Status probe_tcp(const HostPort& target, std::chrono::milliseconds limit);

}  // namespace sb::actors
