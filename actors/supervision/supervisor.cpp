#include "actors/supervision/supervisor.hpp"

#include <random>

#include "runtime/core/log.hpp"

namespace sb::actors {
namespace {

struct ChildSlot {
  ChildSpec spec;
  RestartTracker tracker;
  caf::actor handle;
  ChildState state = ChildState::starting;
  std::string last_error;
  uint32_t restarts = 0;
  uint64_t generation = 0;
};

struct supervisor_state {
  SupervisorOptions options;
  std::vector<ChildSlot> slots;
  bool shutting_down = false;
  std::mt19937_64 rng{std::random_device{}()};
  static inline const char* name = "supervisor";
};

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

metrics::Labels child_labels(self_ptr self, const ChildSlot& slot) {
  return {{"supervisor", self->state.options.name}, {"child", slot.spec.name}};
}

void start_child(self_ptr self, size_t index) {
  auto& slot = self->state.slots[index];
  auto me = caf::actor_cast<caf::actor>(self);
  slot.handle = slot.spec.start(self->system(), me);
  self->monitor(slot.handle);
  slot.state = ChildState::running;
  // Register the series at first start so /metrics shows restarts=0, not nothing.
  if (self->state.options.metrics && slot.restarts == 0)
    self->state.options.metrics->counter("squadbox_actor_restarts_total", "Restarts of supervised actors.",
                                         child_labels(self, slot));
  if (self->state.options.register_children)
    self->system().registry().put(caf::atom_from_string(slot.spec.name), slot.handle);
  log::debug("supervisor.child_started",
             {{"supervisor", self->state.options.name}, {"child", slot.spec.name}, {"restarts", slot.restarts}});
}

// Drops the supervisor's and the registry's references to a child. A detached
// child's thread only ends once its last strong reference is gone.
void forget_child(self_ptr self, ChildSlot& slot) {
  if (self->state.options.register_children && slot.handle) {
    auto key = caf::atom_from_string(slot.spec.name);
    if (self->system().registry().get(key) == caf::actor_cast<caf::strong_actor_ptr>(slot.handle))
      self->system().registry().erase(key);
  }
  slot.handle = nullptr;
}

void on_child_down(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (size_t i = 0; i < st.slots.size(); ++i) {
    auto& slot = st.slots[i];
    if (!slot.handle || slot.handle.address() != msg.source) continue;
    forget_child(self, slot);
    if (st.shutting_down || msg.reason == caf::exit_reason::normal || msg.reason == caf::exit_reason::user_shutdown) {
      slot.state = ChildState::stopped;
      return;
    }
    slot.last_error = self->system().render(msg.reason);
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    auto decision = slot.tracker.on_failure(std::chrono::steady_clock::now(), jitter(st.rng));
    if (decision.give_up) {
      slot.state = ChildState::dead;
      log::error("supervisor.child_given_up", {{"supervisor", st.options.name},
                                               {"child", slot.spec.name},
                                               {"reason", slot.last_error},
                                               {"restarts", slot.restarts},
                                               {"failures_in_window", decision.failures_in_window}});
      if (st.options.metrics)
        st.options.metrics
            ->counter("squadbox_actor_giveups_total",
                      "Supervised actors given up after exhausting their restart budget.", child_labels(self, slot))
            .inc();
      if (st.options.parent)
        caf::anon_send(st.options.parent, failed_atom::value,
                       child_failure{st.options.name, slot.spec.name, slot.last_error, slot.restarts});
      return;
    }
    slot.state = ChildState::backoff;
    ++slot.restarts;
    ++slot.generation;
    log::warn("supervisor.child_crashed", {{"supervisor", st.options.name},
                                           {"child", slot.spec.name},
                                           {"reason", slot.last_error},
                                           {"restart_in_ms", decision.delay.count()},
                                           {"restarts", slot.restarts}});
    if (st.options.metrics)
      st.options.metrics
          ->counter("squadbox_actor_restarts_total", "Restarts of supervised actors.", child_labels(self, slot))
          .inc();
    self->delayed_send(self, decision.delay, restart_atom::value, static_cast<uint64_t>(i), slot.generation);
    return;
  }
}

// Stops children from the last started to the first, one at a time.
void stop_from(self_ptr self, size_t count, caf::typed_response_promise<bool> done) {
  auto& st = self->state;
  while (count > 0 && !st.slots[count - 1].handle) {
    if (st.slots[count - 1].state != ChildState::dead) st.slots[count - 1].state = ChildState::stopped;
    --count;
  }
  if (count == 0) {
    done.deliver(true);
    self->quit(caf::exit_reason::user_shutdown);
    return;
  }
  auto& slot = st.slots[count - 1];
  auto child = slot.handle;
  slot.state = ChildState::stopping;
  self->request(child, st.options.child_shutdown_timeout, shutdown_atom::value)
      .then(
          [=](bool) {
            self->state.slots[count - 1].state = ChildState::stopped;
            forget_child(self, self->state.slots[count - 1]);
            stop_from(self, count - 1, done);
          },
          [=](caf::error& err) {
            log::warn("supervisor.child_shutdown_failed", {{"supervisor", self->state.options.name},
                                                           {"child", self->state.slots[count - 1].spec.name},
                                                           {"error", self->system().render(err)}});
            self->send_exit(child, caf::exit_reason::kill);
            self->state.slots[count - 1].state = ChildState::stopped;
            forget_child(self, self->state.slots[count - 1]);
            stop_from(self, count - 1, done);
          });
}

supervisor_actor::behavior_type supervisor_fn(self_ptr self, SupervisorOptions options) {
  auto& st = self->state;
  st.options = std::move(options);
  for (auto& spec : st.options.children)
    st.slots.push_back(ChildSlot{spec, RestartTracker{st.options.policy}, {}, ChildState::starting, {}, 0, 0});
  self->set_down_handler([=](caf::down_msg& msg) { on_child_down(self, msg); });
  for (size_t i = 0; i < st.slots.size(); ++i) start_child(self, i);
  return {
      [=](status_atom) {
        supervisor_status out;
        out.name = self->state.options.name;
        for (const auto& slot : self->state.slots)
          out.children.push_back(child_status{slot.spec.name, slot.state, slot.restarts, slot.last_error});
        return out;
      },
      [=](shutdown_atom) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        if (self->state.shutting_down) return true;
        self->state.shutting_down = true;
        stop_from(self, self->state.slots.size(), promise);
        return promise;
      },
      [=](restart_atom, uint64_t index, uint64_t generation) {
        auto& s = self->state;
        if (s.shutting_down || index >= s.slots.size()) return;
        auto& slot = s.slots[index];
        if (slot.generation != generation || slot.state != ChildState::backoff) return;
        start_child(self, index);
      },
      [=](failed_atom, const child_failure& failure) {
        // A nested supervisor gave up one of its children: log it at this level too
        // and pass it further up, so the report reaches the root.
        log::error("supervisor.descendant_given_up", {{"supervisor", self->state.options.name},
                                                      {"from", failure.supervisor},
                                                      {"child", failure.child},
                                                      {"reason", failure.reason}});
        if (self->state.options.parent) caf::anon_send(self->state.options.parent, failed_atom::value, failure);
      },
  };
}

}  // namespace

supervisor_actor spawn_supervisor(caf::actor_system& system, SupervisorOptions options) {
  return system.spawn(supervisor_fn, std::move(options));
}

void log_exceptions(caf::scheduled_actor* self, std::string name) {
  self->set_exception_handler([name = std::move(name)](caf::scheduled_actor*, std::exception_ptr& ptr) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ptr);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::error("actor.exception", {{"actor", name}, {"what", what}});
    return caf::make_error(caf::sec::runtime_error, what);
  });
}

}  // namespace sb::actors
