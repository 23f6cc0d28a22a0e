#include "actors/message_router.hpp"

#include <map>

#include "actors/supervisor.hpp"
#include "runtime/core/log.hpp"

namespace sb::actors {
namespace {

struct router_state {
  MessageRouterOptions options;
  std::map<std::string, metrics::Counter*> inbound;  // by channel
  uint64_t routed = 0;
  static inline const char* name = "router";
};

using self_ptr = router_actor::stateful_pointer<router_state>;

router_actor::behavior_type router_fn(self_ptr self, MessageRouterOptions options) {
  log_exceptions(self, "router");
  self->state.options = options;
  return {
      [=](route_atom, const inbound_message& m) {
        auto& st = self->state;
        ++st.routed;
        if (st.options.metrics) {
          auto& counter = st.inbound[m.channel];
          if (!counter)
            counter = &st.options.metrics->counter("squadbox_router_inbound_total",
                                                   "Stored inbound messages the router received", {{"channel", m.channel}});
          counter->inc();
        }
        // Ids only: the text and the reply reference (a Discord token) stay out of logs.
        log::info("router.inbound", {{"channel", m.channel}, {"bot", m.bot}, {"chat_jid", m.chat_jid},
                                     {"platform_id", m.platform_message_id}, {"id", m.id}});
      },
      [=](status_atom) {
        return component_status{"router", "running", "received " + std::to_string(self->state.routed)};
      },
      [=](shutdown_atom) {
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

router_actor spawn_message_router(caf::actor_system& system, MessageRouterOptions options) {
  return system.spawn(router_fn, std::move(options));
}

}  // namespace sb::actors
