#include "actors/namespaces/namespace_manager.hpp"

#include <map>
#include <optional>

#include "actors/namespaces/namespace_actor.hpp"
#include "actors/namespaces/scheduled_runs.hpp"
#include "actors/supervision/supervisor.hpp"
#include "runtime/core/log.hpp"
#include "runtime/namespaces/slot_pool.hpp"
#include "storage/namespace_rows.hpp"

namespace sb::actors {
namespace {

struct Entry {
  namespace_actor actor;
  std::string name;
  int64_t epoch = 0;  // cluster mode: the lease epoch its writes are fenced with
};

constexpr auto kFenceCheck = std::chrono::milliseconds(250);

struct manager_state {
  NamespaceManagerOptions opts;
  std::optional<namespaces::SlotPool> pool;
  std::optional<storage::Database> db;  // read-only
  std::map<std::string, Entry> actors;  // by namespace id
  bool ready = false;
  static inline const char* name = "namespaces";
};

using self_ptr = namespace_manager_actor::stateful_pointer<manager_state>;

void update_gauges(self_ptr self) {
  auto& st = self->state;
  if (auto* m = st.opts.metrics) {
    m->gauge("squadbox_namespace_slots_running", "Container slots held by namespaces.")
        .set(static_cast<double>(st.pool->running()));
    m->gauge("squadbox_namespace_slots_waiting", "Namespaces waiting for a container slot.")
        .set(static_cast<double>(st.pool->waiting()));
  }
}

void apply_decision(self_ptr self, const namespaces::PoolDecision& d) {
  auto& st = self->state;
  for (const auto& id : d.start) {
    if (auto it = st.actors.find(id); it != st.actors.end())
      caf::anon_send(it->second.actor, granted_atom::value);
    else
      self->send(self, release_atom::value, id);  // its actor is gone: hand the slot on
  }
  for (const auto& id : d.preempt)
    if (auto it = st.actors.find(id); it != st.actors.end()) caf::anon_send(it->second.actor, stop_atom::value);
  update_gauges(self);
}

bool open_db(self_ptr self) {
  auto& st = self->state;
  if (st.db) return true;
  storage::OpenOptions ro;
  ro.read_only = true;
  auto db = storage::Database::open(st.opts.db_path, ro);
  if (!db) {
    log::error("namespaces.db_unavailable", {{"error", db.error().message}});
    return false;
  }
  st.db.emplace(std::move(*db));
  return true;
}

// Cluster mode: the epoch of this node's lease on the namespace (nullopt: not ours now).
std::optional<int64_t> owned_epoch(self_ptr self, const std::string& id) {
  const auto& view = self->state.opts.cluster_view;
  if (!view) return int64_t{0};
  return view->local_epoch(cluster::namespace_resource(id));
}

// The namespace's actor, spawned (and linked) on first use; null for an unknown id (and,
// in cluster mode, for a namespace this node does not own).
namespace_actor actor_for(self_ptr self, const std::string& id) {
  auto& st = self->state;
  if (auto it = st.actors.find(id); it != st.actors.end()) return it->second.actor;
  const auto epoch = owned_epoch(self, id);
  if (!epoch) return {};
  if (!open_db(self)) return {};
  auto rec = storage::read_namespace(*st.db, id);
  if (!rec) {
    log::error("namespaces.read_failed", {{"namespace_id", id}, {"error", rec.error().message}});
    return {};
  }
  if (!*rec) return {};
  NamespaceActorOptions o;
  o.id = (*rec)->id;
  o.name = (*rec)->name;
  o.is_main = (*rec)->is_main;
  o.container = (*rec)->container;
  o.start_cursor = (*rec)->cursor;
  o.max_batch = static_cast<std::size_t>(std::max<int64_t>(1, st.opts.config.max_batch_messages));
  o.start_retry = std::chrono::milliseconds(st.opts.config.start_retry_ms);
  o.assistant_name = st.opts.config.assistant_name;
  o.db_path = st.opts.db_path;
  o.manager = self;
  o.ready = st.ready;
  o.services = st.opts.services;
  o.local_chat = st.opts.local_chat;
  o.bots = st.opts.bots;
  o.metrics = st.opts.metrics;
  if (st.opts.cluster_view) {
    o.fence = storage::Fence{cluster::namespace_resource(id), st.opts.cluster_view->self(), *epoch};
    // Forwards from several nodes and replays interleave out of id order: the cursor's
    // "everything below is done" does not hold, so a node taking a namespace over starts
    // from the rows still 'received'; their stored turn boundaries and the replies'
    // idempotency keys keep a replayed turn from being answered twice.
    o.start_cursor = 0;
  }
  auto actor = spawn_namespace_actor(self->system(), std::move(o));
  self->link_to(actor);
  st.actors[id] = Entry{actor, (*rec)->name, *epoch};
  log::info("namespaces.spawned", {{"namespace", (*rec)->name}, {"cursor", (*rec)->cursor}});
  return actor;
}

void count_refused(self_ptr self) {
  if (auto* m = self->state.opts.metrics)
    m->counter("squadbox_scheduled_runs_total", "Scheduled container runs by result.", {{"status", "error"}}).inc();
}

// Hands a scheduled run to its namespace's actor, which answers it from then on. Bad
// input and an unknown (deleted) namespace are answered here, at once; so is a run sent
// to an actor that ended before taking it (the request fails).
void forward_task(self_ptr self, scheduled_run run) {
  if (auto valid = namespaces::validate_scheduled_run(run); !valid) {
    log::warn("namespaces.task_refused", {{"task", run.task_id}, {"error", valid.error().message}});
    count_refused(self);
    ScheduledRuns::reject(run, valid.error().message);
    return;
  }
  auto actor = actor_for(self, run.namespace_id);
  if (!actor) {
    log::warn("namespaces.unknown", {{"namespace_id", run.namespace_id}, {"task", run.task_id}});
    count_refused(self);
    ScheduledRuns::reject(run, "unknown namespace " + run.namespace_id);
    return;
  }
  scheduled_run answer_to;  // what is needed to answer if the actor never takes it
  answer_to.task_id = run.task_id;
  answer_to.run_id = run.run_id;
  answer_to.reply_to = run.reply_to;
  self->request(actor, caf::infinite, task_atom::value, std::move(run))
      .then([](bool) {},
            [answer_to](caf::error&) { ScheduledRuns::reject(answer_to, "namespace stopped before the run started"); });
}

void forget(self_ptr self, const std::string& id) {
  auto& st = self->state;
  st.actors.erase(id);
  if (st.opts.cluster_view) st.opts.cluster_view->set_busy(cluster::namespace_resource(id), false);
  apply_decision(self, st.pool->release(id));
}

void stop_namespace(self_ptr self, const std::string& id, const char* reason) {
  auto& s = self->state;
  auto it = s.actors.find(id);
  if (it == s.actors.end()) return;
  auto actor = it->second.actor;
  log::info("namespaces.stopped", {{"namespace", it->second.name}, {"reason", reason}});
  self->unlink_from(actor);
  self->send_exit(actor, caf::exit_reason::user_shutdown);  // its container goes with it
  forget(self, id);
}

// Cluster mode: stops the actors of namespaces this node no longer holds at their epoch
// (a lease lost or taken over, or this node no longer serving: self-fencing).
void reconcile_ownership(self_ptr self) {
  auto& s = self->state;
  if (!s.opts.cluster_view) return;
  std::vector<std::string> lost;
  for (const auto& [id, e] : s.actors) {
    const auto epoch = owned_epoch(self, id);
    if (!epoch || *epoch != e.epoch) lost.push_back(id);
  }
  for (const auto& id : lost) stop_namespace(self, id, "ownership moved or not serving");
}

// A batch of a namespace owned elsewhere: the cluster actor forwards it to the owner.
void hand_to_cluster(self_ptr self, routed_batch b) {
  if (auto cluster = lookup<cluster_actor>(self->system(), "cluster")) {
    caf::anon_send(cluster, forward_atom::value, std::move(b));
    return;
  }
  log::warn("namespaces.unowned", {{"namespace_id", b.namespace_id}, {"why", "no cluster actor; replayed later"}});
}

namespace_manager_actor::behavior_type manager_fn(self_ptr self, NamespaceManagerOptions opts) {
  log_exceptions(self, "namespaces");
  auto& st = self->state;
  st.opts = std::move(opts);
  st.ready = st.opts.services && st.opts.services->ready.load(std::memory_order_acquire);
  st.pool.emplace(static_cast<std::size_t>(std::max<int64_t>(1, st.opts.config.max_concurrent_containers)));
  // Cluster mode: self-fencing does not wait for a message; the view's deadline is checked.
  if (st.opts.cluster_view) self->send(self, tick_atom::value);
  // Namespace actors are linked: a crashed one is respawned and the router replays what
  // no turn finished (the new actor's TurnQueue refuses what was done); anything else
  // (the node's supervisor) ends the manager, and with it every namespace and container.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& s = self->state;
    for (auto it = s.actors.begin(); it != s.actors.end(); ++it) {
      if (it->second.actor.address() != msg.source) continue;
      const std::string id = it->first, name = it->second.name;
      forget(self, id);
      if (msg.reason == caf::exit_reason::normal || msg.reason == caf::exit_reason::user_shutdown) return;
      log::error("namespaces.actor_crashed", {{"namespace", name}, {"reason", self->system().render(msg.reason)}});
      if (auto* m = s.opts.metrics)
        m->counter("squadbox_namespace_actor_restarts_total", "Namespace actors respawned after a crash.").inc();
      (void)actor_for(self, id);
      if (auto router = self->system().registry().get(caf::atom_from_string("router")))
        caf::anon_send(caf::actor_cast<caf::actor>(router), recover_atom::value);
      return;
    }
    self->quit(msg.reason);
  });
  return {
      [=](route_atom, routed_message& m) {
        if (!owned_epoch(self, m.namespace_id))
          return hand_to_cluster(self, routed_batch{m.namespace_id, m.namespace_name, {std::move(m.message)}});
        auto actor = actor_for(self, m.namespace_id);
        if (!actor) {
          log::warn("namespaces.unknown", {{"namespace_id", m.namespace_id}, {"id", m.message.id}});
          if (auto* metrics = self->state.opts.metrics)
            metrics->counter("squadbox_namespace_unknown_total", "Routed messages for a namespace that is gone.").inc();
          return;
        }
        caf::anon_send(actor, route_atom::value, std::move(m));
      },
      [=](route_atom, routed_batch& b) {
        if (!owned_epoch(self, b.namespace_id)) return hand_to_cluster(self, std::move(b));
        auto actor = actor_for(self, b.namespace_id);
        if (!actor) {
          log::warn("namespaces.unknown",
                    {{"namespace_id", b.namespace_id}, {"messages", static_cast<int64_t>(b.messages.size())}});
          if (auto* metrics = self->state.opts.metrics)
            metrics->counter("squadbox_namespace_unknown_total", "Routed messages for a namespace that is gone.")
                .inc(b.messages.size());
          return;
        }
        caf::anon_send(actor, route_atom::value, std::move(b));
      },
      [=](task_atom, scheduled_run& run) { forward_task(self, std::move(run)); },
      [=](reload_atom) {
        auto& s = self->state;
        if (!open_db(self)) return;
        auto ids = storage::read_namespace_ids(*s.db);
        if (!ids) {
          log::warn("namespaces.reload_failed", {{"error", ids.error().message}});
          return;
        }
        std::vector<std::string> gone;
        for (const auto& [id, e] : s.actors)
          if (std::find(ids->begin(), ids->end(), id) == ids->end()) gone.push_back(id);
        for (const auto& id : gone) stop_namespace(self, id, "deleted");
        for (const auto& [id, e] : s.actors) caf::anon_send(e.actor, reload_atom::value);
      },
      [=](ready_atom) {
        auto& s = self->state;
        s.ready = true;
        for (const auto& [id, e] : s.actors) caf::anon_send(e.actor, ready_atom::value);
      },
      [=](acquire_atom, const std::string& id) {
        auto& s = self->state;
        auto d = s.pool->request(id);
        if (d.outcome == namespaces::PoolOutcome::running) d.start.push_back(id);  // it holds one already
        apply_decision(self, d);
      },
      [=](acquire_atom, const std::string& id, bool scheduled) {
        // A scheduled run: it may pre-empt an idle container (another namespace's, or its
        // own, whose slot then comes straight back); `preempt` stops them.
        auto kind = scheduled ? namespaces::RequestKind::scheduled : namespaces::RequestKind::message;
        auto d = self->state.pool->request(id, kind);
        if (d.outcome == namespaces::PoolOutcome::running) d.start.push_back(id);
        apply_decision(self, d);
      },
      [=](release_atom, const std::string& id) { apply_decision(self, self->state.pool->release(id)); },
      [=](idle_atom, const std::string& id) {
        if (auto& view = self->state.opts.cluster_view) view->set_busy(cluster::namespace_resource(id), false);
        apply_decision(self, self->state.pool->mark_idle(id));
      },
      [=](busy_atom, const std::string& id) {
        if (auto& view = self->state.opts.cluster_view) view->set_busy(cluster::namespace_resource(id), true);
        apply_decision(self, self->state.pool->mark_busy(id));
      },
      [=](own_atom) { reconcile_ownership(self); },
      [=](yield_atom, const std::string& id) -> bool {
        auto& s = self->state;
        if (s.opts.cluster_view && s.opts.cluster_view->busy().count(cluster::namespace_resource(id))) return false;
        stop_namespace(self, id, "moving to another node");
        return true;
      },
      [=](tick_atom) {
        reconcile_ownership(self);
        self->delayed_send(self, kFenceCheck, tick_atom::value);
      },
      [=](status_atom) {
        auto& s = self->state;
        return component_status{"namespaces", s.ready ? "running" : "waiting",
                                "namespaces " + std::to_string(s.actors.size()) + ", running " +
                                    std::to_string(s.pool->running()) + "/" + std::to_string(s.pool->limit()) +
                                    ", waiting " + std::to_string(s.pool->waiting())};
      },
      [=](shutdown_atom) {
        self->quit(caf::exit_reason::user_shutdown);  // linked namespace actors and their containers follow
        return true;
      },
  };
}

}  // namespace

namespace_manager_actor spawn_namespace_manager(caf::actor_system& system, NamespaceManagerOptions options) {
  return system.spawn(manager_fn, std::move(options));
}

}  // namespace sb::actors
