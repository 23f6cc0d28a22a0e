#pragma once
// A supervised component with the common interface only (status, shutdown). The
// router, namespace manager, scheduler and channel registry start as this and grow
// their own protocol in later capabilities.
#include <string>

#include "actors/protocol.hpp"

namespace sb::actors {

component_actor spawn_component(caf::actor_system& system, std::string name);

}  // namespace sb::actors
