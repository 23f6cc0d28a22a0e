#include "actors/channels/bot_lease_gate.hpp"

#include <chrono>
#include <utility>

#include "actors/channels/channel_sender.hpp"
#include "runtime/core/log.hpp"

namespace sb::actors {
namespace {

constexpr auto kCheckEvery = std::chrono::milliseconds(250);
constexpr auto kWakeEvery = std::chrono::seconds(1);
constexpr auto kStopTimeout = std::chrono::seconds(10);

struct gate_state {
  BotLeaseGateOptions opts;
  supervisor_actor running;
  std::chrono::steady_clock::time_point next_wake{};
  static inline const char* name = "bot-gate";
};

using gate_actor = component_actor::extend<caf::reacts_to<tick_atom>>;
using self_ptr = gate_actor::stateful_pointer<gate_state>;

// Stops the bot's supervisor the way the node stops its children: a FIFO shutdown, so it
// stops each of them in turn (an exit message would end the supervisor alone and leave its
// detached children running). `then` runs once it is done, or after the timeout.
template <class F>
void stop_bot(self_ptr self, const char* why, F then) {
  auto& st = self->state;
  if (!st.running) return then();
  log::info("channels.bot_stopped_here", {{"bot", st.opts.bot_id}, {"why", why}});
  auto running = std::exchange(st.running, nullptr);
  self->demonitor(running.address());
  self->request(running, kStopTimeout, shutdown_atom::value)
      .then([then](bool) mutable { then(); },
            [self, running, then](caf::error&) mutable {
              self->send_exit(running, caf::exit_reason::kill);
              then();
            });
}

void check(self_ptr self) {
  auto& st = self->state;
  const bool held = st.opts.view->local_epoch(cluster::bot_resource(st.opts.bot_id)).has_value();
  if (held && !st.running) {
    log::info("channels.bot_started_here", {{"bot", st.opts.bot_id}});
    st.running = st.opts.start(self->system());
    self->monitor(st.running);
  } else if (!held && st.running) {
    stop_bot(self, "its lease is held elsewhere or this node is not serving", [] {});
  }
  const auto now = std::chrono::steady_clock::now();
  if (st.running && st.opts.has_sender && now >= st.next_wake) {
    st.next_wake = now + kWakeEvery;
    wake_sender(self->system(), st.opts.bot_id);
  }
}

gate_actor::behavior_type gate_fn(self_ptr self, BotLeaseGateOptions opts) {
  self->state.opts = std::move(opts);
  self->set_down_handler([self](caf::down_msg& dm) {
    // Its supervisor gave up (restart budget spent): try again on the next check.
    if (self->state.running && dm.source == self->state.running.address()) self->state.running = nullptr;
  });
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        check(self);
        self->delayed_send(self, kCheckEvery, tick_atom::value);
      },
      [self](status_atom) -> component_status {
        auto& st = self->state;
        return {"bot:" + st.opts.bot_id, "running", st.running ? "connections run on this node" : "held elsewhere"};
      },
      [self](shutdown_atom) -> caf::result<bool> {
        auto done = self->make_response_promise<bool>();
        stop_bot(self, "shutdown", [self, done]() mutable {
          done.deliver(true);
          self->quit(caf::exit_reason::user_shutdown);
        });
        return done;
      },
  };
}

}  // namespace

component_actor spawn_bot_lease_gate(caf::actor_system& system, BotLeaseGateOptions options) {
  return caf::actor_cast<component_actor>(system.spawn(gate_fn, std::move(options)));
}

}  // namespace sb::actors
