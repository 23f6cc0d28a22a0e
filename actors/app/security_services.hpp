#pragma once
// The node's security services, built once in `serve` after the actor system exists
// (their audit records go to the audit log actor) and shared by every container run:
// the mount allowlist (reloaded on change), the credential proxy, and the registry of
// approved containers that the periodic security audit compares running containers
// with. The vault is opened earlier, before any actor starts: a bad key stops the start.
#include <memory>

#include <caf/fwd.hpp>

#include "actors/containers/container_supervisor.hpp"
#include "runtime/config/config.hpp"
#include "runtime/container/scan/approved_containers.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "runtime/proxy/credential_proxy.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "storage/vault_store.hpp"

namespace sb::app {

struct SecurityServices {
  std::shared_ptr<storage::Vault> vault;
  std::shared_ptr<security::allowlist::AllowlistStore> allowlist;
  std::shared_ptr<proxy::CredentialProxy> proxy;
  std::shared_ptr<container::scan::ApprovedContainers> approved;
  AuditSink audit;

  // Everything a container run of this node needs from them.
  void apply(actors::ContainerRunOptions& run) const;
};

// Errors: the proxy's ("proxy.bad_route", "proxy.ca_file").
Result<SecurityServices> start_security_services(const config::Config& config, std::shared_ptr<storage::Vault> vault,
                                                 AuditSink audit, metrics::Registry* metrics);

// The periodic container audit (security.audit_interval_ms; 0 = off). Containers of
// `squadbox cowork` runs of the same install are known through the database.
actors::security_auditor_actor spawn_container_audit(caf::actor_system& system, const config::Config& config,
                                                     const SecurityServices& services,
                                                     std::shared_ptr<container::ContainerRuntime> runtime,
                                                     const std::string& install_id, metrics::Registry* metrics);

}  // namespace sb::app
