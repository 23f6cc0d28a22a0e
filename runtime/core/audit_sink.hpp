#pragma once
// How code outside the actor tree (allowlist, proxy, vault, IPC checks) records a
// security-relevant event without depending on CAF: it is handed an AuditSink. In a
// node, the sink forwards to the audit log actor (actors/node/audit_sink.hpp); in tests it
// may collect records in a vector. A sink must be cheap and must never block.
#include <functional>
#include <string>

namespace sb {

struct AuditRecord {
  std::string actor;    // who: "proxy", "allowlist", "ipc:<group>", "operator", ...
  std::string event;    // what: "mount.denied", "proxy.request", "secret.set", ...
  std::string subject;  // on what: a path, a route, a secret name, a container id
  std::string detail;   // a JSON object as text, never a secret
};

using AuditSink = std::function<void(AuditRecord)>;

}  // namespace sb
