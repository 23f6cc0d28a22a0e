#include "actors/cluster/cluster_transport.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/protocol.hpp"
#include "runtime/security/pki/cluster_pki.hpp"

namespace sb::actors {

Result<HostPort> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return make_error("cluster.address", "\"" + text + "\": expected host:port");
  HostPort out;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return make_error("cluster.address", "\"" + text + "\": bad port");
  const long value = std::stol(port);
  if (value <= 0 || value > 65535) return make_error("cluster.address", "\"" + text + "\": bad port");
  out.port = static_cast<uint16_t>(value);
  return out;
}

Result<std::string> check_cluster_credentials(const config::ClusterConfig& cluster) {
  auto id = security::pki::check_node_credentials(cluster.tls_cert_file, cluster.tls_key_file, cluster.tls_ca_file);
  if (!id) return make_error(kClusterCredentials, id.error().message);
  if (id->common_name != cluster.node_name)
    return make_error(kClusterCredentials, "certificate " + cluster.tls_cert_file + " was issued to \"" +
                                               id->common_name + "\", not to cluster.node_name \"" + cluster.node_name +
                                               "\"");
  return id->common_name;
}

std::string cluster_app_identifier() {
  return "squadbox-cluster-" + std::to_string(kClusterWireVersion);
}

void configure_cluster_transport(caf::actor_system_config& cfg, const config::ClusterConfig& cluster) {
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  // All three always set: with none, CAF's OpenSSL transport silently falls back to
  // anonymous TLS (AECDH, no authentication).
  cfg.set("openssl.certificate", cluster.tls_cert_file);
  cfg.set("openssl.key", cluster.tls_key_file);
  cfg.set("openssl.cafile", cluster.tls_ca_file);
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(cluster.heartbeat_interval_ms)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(cluster.connection_timeout_ms)});
  cfg.set("middleman.app-identifiers", std::vector<std::string>{cluster_app_identifier()});
}

Status probe_tcp(const HostPort& target, std::chrono::milliseconds limit) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target.port);
  if (int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return make_error("cluster.unreachable", target.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(limit.count()));
      if (rc == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        if (err != 0) last = std::strerror(err);
      } else {
        rc = -1;
        last = "no answer within " + std::to_string(limit.count()) + " ms";
      }
    } else if (rc != 0) {
      last = std::strerror(errno);
    }
    ::close(fd);
    if (rc == 0) return {};
  }
  return make_error("cluster.unreachable", target.host + ":" + port + ": " + last);
}

}  // namespace sb::actors
