#include "actors/component.hpp"

#include "actors/supervisor.hpp"
#include "runtime/core/log.hpp"

namespace sb::actors {

component_actor spawn_component(caf::actor_system& system, std::string name) {
  return system.spawn([name = std::move(name)](component_actor::pointer self)
                          -> component_actor::behavior_type {
    log_exceptions(self, name);
    return {
        [=](status_atom) { return component_status{name, "running", ""}; },
        [=](shutdown_atom) {
          self->quit(caf::exit_reason::user_shutdown);
          return true;
        },
    };
  });
}

}  // namespace sb::actors
