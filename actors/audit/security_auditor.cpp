#include "actors/audit/security_auditor.hpp"

#include <optional>

#include "actors/supervision/supervisor.hpp"
#include "runtime/container/scan/security_scanner.hpp"
#include "runtime/core/log.hpp"

namespace sb::actors {
namespace {

struct auditor_state {
  SecurityAuditorOptions opts;
  std::optional<container::scan::SecurityScanner> scanner;
  uint64_t scans = 0;
  uint64_t findings = 0;
  static inline const char* name = "security_auditor";
};

using self_ptr = security_auditor_actor::stateful_pointer<auditor_state>;

uint64_t run_scan(self_ptr self) {
  auto& st = self->state;
  auto report = st.scanner->scan();
  container::scan::record_scan(report, st.opts.sink, st.opts.metrics);
  ++st.scans;
  st.findings += report.finding_count();
  log::debug("security.scan", {{"checked", static_cast<int64_t>(report.checked)},
                               {"findings", static_cast<int64_t>(report.finding_count())},
                               {"errors", static_cast<int64_t>(report.errors.size())},
                               {"duration_us", static_cast<int64_t>(report.duration.count())}});
  return report.finding_count();
}

security_auditor_actor::behavior_type auditor_fn(self_ptr self, SecurityAuditorOptions opts) {
  log_exceptions(self, "security_auditor");
  auto& st = self->state;
  st.opts = std::move(opts);
  st.scanner.emplace(
      *st.opts.runtime, *st.opts.approved,
      container::scan::ScannerOptions{st.opts.install_id, st.opts.timeout_grace, st.opts.owned_elsewhere});
  const auto interval = st.opts.interval;
  if (interval.count() > 0) self->delayed_send(self, interval, sectick_atom::value);
  log::info("security.audit_started",
            {{"interval_ms", static_cast<int64_t>(interval.count())}, {"backend", st.opts.runtime->backend()}});
  return {
      [=](sectick_atom) {
        run_scan(self);
        self->delayed_send(self, interval, sectick_atom::value);
      },
      [=](scan_atom) -> uint64_t { return run_scan(self); },
      [=](status_atom) {
        auto& s = self->state;
        return component_status{"security_auditor", s.opts.interval.count() > 0 ? "running" : "off",
                                "scans " + std::to_string(s.scans) + ", findings " + std::to_string(s.findings)};
      },
  };
}

}  // namespace

security_auditor_actor spawn_security_auditor(caf::actor_system& system, SecurityAuditorOptions options) {
  if (!options.runtime || !options.approved) {
    log::error("security.audit_not_started", {{"error", "no container runtime or approved-container registry"}});
    return {};
  }
  return system.spawn<caf::detached>(auditor_fn, std::move(options));
}

}  // namespace sb::actors
