#pragma once
// An AuditSink that appends to the node's audit log actor, looked up by its registry
// name ("audit") on every call so that a restarted audit actor is found. Fire and
// forget: the caller never waits for the write (the actor orders and chains records).
#include <caf/all.hpp>

#include "runtime/core/audit_sink.hpp"

namespace sb::actors {

AuditSink make_audit_sink(caf::actor_system& system);

}  // namespace sb::actors
