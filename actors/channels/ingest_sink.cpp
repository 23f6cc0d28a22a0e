#include "actors/channels/ingest_sink.hpp"

#include "actors/protocol.hpp"
#include "actors/supervision/supervisor.hpp"
#include "runtime/messaging/stored_message.hpp"

namespace sb::actors {

channels::webhooks::IngestSink make_ingest_sink(caf::actor_system& system) {
  return [&system](std::vector<messaging::InboundMessage> messages, channels::webhooks::IngestCallback done) {
    auto ingest = lookup<ingest_actor>(system, "ingest");
    if (!ingest) return false;
    auto callback =
        std::make_shared<std::function<void(const ingest_result&)>>([done = std::move(done)](const ingest_result& r) {
          if (r.error.code.empty())
            done({});
          else
            done(r.error);
        });
    caf::anon_send(ingest, ingest_atom::value, messaging::to_stored(std::move(messages)), std::move(callback));
    return true;
  };
}

}  // namespace sb::actors
