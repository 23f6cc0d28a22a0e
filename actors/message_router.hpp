#pragma once
// The "router" node child: receives every durably stored inbound message exactly once
// (from the ingest actor). For now it only counts and logs what arrives (never the
// text); routing to groups and agents comes with issue 6.
#include "actors/protocol.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct MessageRouterOptions {
  metrics::Registry* metrics = nullptr;  // not owned; may be null
};

router_actor spawn_message_router(caf::actor_system& system, MessageRouterOptions options);

}  // namespace sb::actors
