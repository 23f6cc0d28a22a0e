#include "actors/node/audit_sink.hpp"

#include "actors/protocol.hpp"
#include "actors/supervision/supervisor.hpp"
#include "runtime/core/log.hpp"

namespace sb::actors {

AuditSink make_audit_sink(caf::actor_system& system) {
  return [&system](AuditRecord r) {
    auto audit = lookup<audit_log_actor>(system, "audit");
    if (!audit) {
      log::warn("audit.unavailable", {{"event", r.event}, {"subject", r.subject}});
      return;
    }
    caf::anon_send(audit, append_atom::value, std::move(r));
  };
}

}  // namespace sb::actors
