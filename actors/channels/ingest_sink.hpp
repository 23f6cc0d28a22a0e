#pragma once
// The webhook listener's IngestSink over the ingest actor: each batch goes to the actor
// registered as "ingest" (looked up per batch, so a restarted ingest is found) in its
// callback form, which answers once the batch is durable or its ack deadline passed.
#include <caf/fwd.hpp>

#include "channels/webhooks/webhook_listener.hpp"

namespace sb::actors {

// `system` must outlive the sink's last call.
channels::webhooks::IngestSink make_ingest_sink(caf::actor_system& system);

}  // namespace sb::actors
