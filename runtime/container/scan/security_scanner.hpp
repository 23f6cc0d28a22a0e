#pragma once
// One pass of the periodic security audit: list the running containers that carry this
// install's label, assess each against what the node approved (assess.hpp), and stop
// (SIGKILL + forced remove) every container with a finding. Blocking (runtime calls):
// the auditor actor runs it on its own thread. Containers of another install (a
// different io.squadbox.install label) are never listed, so never touched.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "runtime/container/runtime.hpp"
#include "runtime/container/scan/approved_containers.hpp"
#include "runtime/container/scan/assess.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::container::scan {

struct ScannerOptions {
  std::string install_id;
  // Slack past a registered deadline before past_timeout: the supervisor enforces the
  // hard timeout itself and needs a moment to kill and remove.
  std::chrono::milliseconds timeout_grace{10000};
  // A container this node did not register but another process of the same install
  // legitimately runs (a `squadbox cowork` run, which records itself in the database):
  // given the container's run label, true means "known". Such a container is still
  // checked for privilege, capabilities and host namespaces, not for its mounts (its
  // approval lives in that other process). Empty: every unregistered container is unknown.
  std::function<bool(const std::string& run_id)> owned_elsewhere;
};

struct ContainerVerdict {
  std::string container_id;
  std::string run_id;
  std::string namespace_name;
  std::vector<Finding> findings;
  bool stopped = false;
  std::string stop_error;  // why it could not be stopped
};

struct ScanReport {
  size_t checked = 0;                       // running containers with our install label
  size_t unobservable = 0;                  // backend could not report a profile (apple)
  std::vector<ContainerVerdict> offending;  // one per container with findings
  std::vector<std::string> errors;          // listing or observation failures
  std::chrono::microseconds duration{0};
  size_t finding_count() const;
};

class SecurityScanner {
 public:
  SecurityScanner(container::ContainerRuntime& runtime, const ApprovedContainers& approved, ScannerOptions options);

  ScanReport scan() { return scan(std::chrono::steady_clock::now()); }
  ScanReport scan(std::chrono::steady_clock::time_point now);

 private:
  void stop(ContainerVerdict& verdict);

  container::ContainerRuntime& runtime_;
  const ApprovedContainers& approved_;
  ScannerOptions options_;
  Baseline baseline_;
};

// Audits every finding (actor "security_auditor", event "security.finding", subject the
// container id, detail {namespace, run, kind, what, stopped}) and counts it:
// squadbox_security_findings_total{kind}, squadbox_security_scans_total,
// squadbox_security_scan_errors_total, squadbox_security_containers_stopped_total,
// squadbox_security_scan_duration_seconds. Either sink or metrics may be empty/null.
void record_scan(const ScanReport& report, const AuditSink& sink, metrics::Registry* metrics);

// The audit detail of one finding (a JSON object as text).
std::string finding_detail(const ContainerVerdict& verdict, const Finding& finding);

}  // namespace sb::container::scan
