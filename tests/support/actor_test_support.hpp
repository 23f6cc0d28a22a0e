#pragma once
#include <caf/all.hpp>

#include "actors/node/node.hpp"
#include "actors/protocol.hpp"

namespace sb::test {

// An actor system configured like the node's (2 threads, protocol types).
struct ActorSystemFixture {
  static caf::actor_system_config& make_config(caf::actor_system_config& cfg) {
    config::Config c;
    actors::configure_actor_system(cfg, c);
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system system{make_config(cfg)};
};

}  // namespace sb::test
