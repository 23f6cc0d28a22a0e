#pragma once
// The ingest actor: durable, deduplicated intake of platform messages. Webhook
// deliveries and Telegram polls hand it a batch; it writes every message through the
// storage writer (one group commit for everything that arrives together), replies once
// the batch is on disk, and only then passes each newly stored message to the router.
// A redelivered message hits the UNIQUE (channel, bot, platform_message_id) key, counts
// as a duplicate and is not routed again: the rest of the system sees it once.
#include "actors/protocol.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct IngestOptions {
  metrics::Registry* metrics = nullptr;  // not owned; may be null
};

// Registered as "ingest" when supervised by the node. Uses "storage" and "router" from
// the registry; with no router the stored messages stay in state 'received'.
ingest_actor spawn_ingest(caf::actor_system& system, IngestOptions options);

}  // namespace sb::actors
