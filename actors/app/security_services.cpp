#include "actors/app/security_services.hpp"

#include <caf/all.hpp>

#include "actors/audit/security_auditor.hpp"
#include "runtime/core/log.hpp"
#include "runtime/security/allowlist/protected_paths.hpp"
#include "storage/container_run_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::app {

void SecurityServices::apply(actors::ContainerRunOptions& run) const {
  run.allowlist = allowlist;
  run.proxy = proxy;
  run.approved = approved;
  run.audit = audit;
}

Result<SecurityServices> start_security_services(const config::Config& c, std::shared_ptr<storage::Vault> vault,
                                                 AuditSink audit, metrics::Registry* metrics) {
  SecurityServices out;
  out.vault = vault;
  out.audit = audit;
  security::allowlist::AllowlistStoreOptions allow;
  allow.file = c.allowlist_path();
  allow.protected_paths = security::allowlist::protected_paths(c);
  allow.audit = audit;
  out.allowlist = std::make_shared<security::allowlist::AllowlistStore>(std::move(allow));
  auto proxy = proxy::CredentialProxy::create(c.proxy, storage::make_secret_lookup(vault), audit, metrics);
  if (!proxy) return proxy.error();
  out.proxy = std::move(*proxy);
  out.approved = std::make_shared<container::scan::ApprovedContainers>();
  log::info("security.started", {{"allowlist", c.allowlist_path()},
                                 {"proxy_routes", static_cast<int64_t>(c.proxy.routes.size())},
                                 {"audit_interval_ms", c.security.audit_interval_ms}});
  return out;
}

actors::security_auditor_actor spawn_container_audit(caf::actor_system& system, const config::Config& c,
                                                     const SecurityServices& services,
                                                     std::shared_ptr<container::ContainerRuntime> runtime,
                                                     const std::string& install_id, metrics::Registry* metrics) {
  if (!runtime) return {};
  actors::SecurityAuditorOptions o;
  o.runtime = std::move(runtime);
  o.approved = services.approved;
  o.install_id = install_id;
  o.interval = std::chrono::milliseconds(c.security.audit_interval_ms);
  o.sink = services.audit;
  o.metrics = metrics;
  // A cowork process records its run before creating its container: a live cowork
  // row in the database is the approval this node cannot hold in memory.
  o.owned_elsewhere = [db_path = c.storage_path()](const std::string& run_id) {
    if (run_id.empty()) return false;
    storage::OpenOptions open;
    open.read_only = true;
    auto db = storage::Database::open(db_path, open);
    if (!db) return false;
    auto live = storage::is_live_cowork_run(*db, run_id);
    return live && *live;
  };
  return actors::spawn_security_auditor(system, std::move(o));
}

}  // namespace sb::app
