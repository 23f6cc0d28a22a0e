#pragma once
// SecurityAuditor: the periodic security audit of running containers (security layer
// 6), a thin scheduler around container::scan::SecurityScanner. Every `interval` it runs one
// scan: containers with this install's label that no live run registered are stopped,
// and so are registered ones that drifted from their approved spec or outlived their
// hard timeout. Each finding is audited (event "security.finding") and counted.
//
// It runs detached: scans block on the runtime (crun, the Docker API). One message at a
// time means scans never overlap; the next one is scheduled when the last has ended,
// and the first one `interval` after the spawn (runs adopted at start-up register
// first). interval 0: no periodic scans (a scan_atom still runs one).
//
// Messages in: security_auditor_actor (actors/protocol.hpp): (scan_atom) -> uint64_t
// findings of a scan run now; (status_atom) -> component_status.
// Stop it with an exit message (e.g. send_exit(..., user_shutdown)); a scan in progress
// finishes first.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "runtime/container/runtime.hpp"
#include "runtime/container/scan/approved_containers.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct SecurityAuditorOptions {
  std::shared_ptr<container::ContainerRuntime> runtime;            // required
  std::shared_ptr<container::scan::ApprovedContainers> approved;   // required; the supervisors' registry
  std::string install_id;                                          // io.squadbox.install of this node
  std::chrono::milliseconds interval{60000};                       // security.audit_interval_ms; 0 = off
  AuditSink sink;                                                  // may be empty
  metrics::Registry* metrics = nullptr;                            // not owned; may be null
  std::chrono::milliseconds timeout_grace{10000};                  // see container::scan::ScannerOptions
  std::function<bool(const std::string& run_id)> owned_elsewhere;  // see container::scan::ScannerOptions
};

// An invalid handle if runtime or approved is missing (logged).
security_auditor_actor spawn_security_auditor(caf::actor_system& system, SecurityAuditorOptions options);

}  // namespace sb::actors
