#include "actors/routing/message_router.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "actors/supervision/supervisor.hpp"
#include "runtime/core/backoff.hpp"
#include "runtime/core/log.hpp"
#include "runtime/routing/route_decision.hpp"
#include "storage/inbound_store.hpp"
#include "storage/routing_rows.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

// A batch is handed on at this size even if the flush is not due yet (bounds memory
// and the wait of the first message in it).
constexpr std::size_t kMaxPending = 4096;
// Cluster mode: the oldest routing table a drop may be decided on.
constexpr auto kClusterDropFreshness = std::chrono::seconds(1);
// Rows replayed per SELECT by a recover: bounds the memory one recover holds.
constexpr int64_t kRecoverChunk = 500;
// Without a table, a message tries a reload at most this often (the database may be back).
constexpr std::chrono::seconds kReloadRetry{5};

struct ChannelCounters {
  metrics::Counter* inbound = nullptr;
  metrics::Counter* routed = nullptr;
};

struct router_state {
  MessageRouterOptions options;
  std::optional<storage::Database> db;  // read-only; opened on first use
  routing::RoutingTable table;
  bool loaded = false;                              // false: the table could not be read; nothing is routed
  bool reload_queued = false;                       // a rebuild is already queued (coalesces bursts)
  std::chrono::steady_clock::time_point last_load;  // last attempt
  namespace_manager_actor namespaces;               // cached registry handle, monitored
  std::map<std::string, ChannelCounters, std::less<>> by_channel;
  std::map<std::string, metrics::Counter*, std::less<>> dropped_by_reason;
  uint64_t routed = 0;
  uint64_t dropped = 0;
  // Decided but not yet handed on, per namespace id; a flush_atom to itself is queued
  // behind whatever is in the mailbox, so a busy router hands on large batches and an
  // idle one a batch of one (docs/routing.md, "Batching").
  std::unordered_map<std::string, routed_batch> pending;
  std::size_t pending_messages = 0;
  bool flush_queued = false;
  // M4 of the 2026-12 audit: rows left 'received' with nobody working on them (held without
  // a table or a namespaces actor, or lost with a dead manager's namespace actors) are
  // replayed by a recover that retries, with backoff, until it has somewhere to go.
  bool stranded = false;
  bool recover_queued = false;
  bool recovering = false;  // inside recover(): cluster mode replays only owned namespaces
  uint64_t skipped_elsewhere = 0;
  int recover_attempts = 0;
  bool last_load_failed = false;
  static inline const char* name = "router";
};

using self_ptr = message_router_actor::stateful_pointer<router_state>;

Result<storage::Database*> connection(router_state& st) {
  if (!st.db) {
    storage::OpenOptions opts;
    opts.read_only = true;
    auto db = storage::Database::open(st.options.db_path, opts);
    if (!db) return db.error();
    st.db.emplace(std::move(*db));
  }
  return &*st.db;
}

Status load_table(router_state& st) {
  auto db = connection(st);
  if (!db) return db.error();
  auto rows = storage::load_routing_rows(**db);
  if (!rows) {
    st.db.reset();  // a fresh connection next time (the file may have been replaced)
    return rows.error();
  }
  auto table = routing::RoutingTable::build(*rows, st.options.assistant_name);
  if (!table) return table.error();
  st.table = std::move(*table);
  st.loaded = true;
  return {};
}

// Queues one recover (coalesced) after a backoff that grows while it cannot run.
void schedule_recover(self_ptr self) {
  auto& st = self->state;
  st.stranded = true;
  if (st.recover_queued) return;
  st.recover_queued = true;
  self->delayed_send(self,
                     backoff_delay(std::chrono::milliseconds(200), st.recover_attempts++, std::chrono::seconds(5)),
                     recover_atom::value);
}

void reload(self_ptr self, std::string_view why) {
  auto& st = self->state;
  st.last_load = std::chrono::steady_clock::now();
  if (auto loaded = load_table(st); !loaded) {
    // Keep the previous table (or none): never drop because of a failed read.
    log::error(
        "router.table_load_failed",
        {{"why", why}, {"code", loaded.error().code}, {"error", loaded.error().message}, {"kept_previous", st.loaded}});
    st.last_load_failed = true;
    return;
  }
  // Rows that arrived while the table could not be read may have been held: replay them.
  if (std::exchange(st.last_load_failed, false)) schedule_recover(self);
  log::info("router.table_loaded", {{"why", why},
                                    {"namespaces", static_cast<int64_t>(st.table.namespace_count())},
                                    {"mappings", static_cast<int64_t>(st.table.mapping_count())},
                                    {"dangling", static_cast<int64_t>(st.table.dangling_references())}});
}

ChannelCounters& channel_counters(router_state& st, const std::string& channel) {
  auto it = st.by_channel.find(channel);
  if (it != st.by_channel.end()) return it->second;
  ChannelCounters c;
  if (auto* m = st.options.metrics) {
    c.inbound = &m->counter("squadbox_router_inbound_total", "Stored inbound messages the router received",
                            {{"channel", channel}});
    c.routed = &m->counter("squadbox_router_routed_total", "Inbound messages the router handed to a namespace",
                           {{"channel", channel}});
  }
  return st.by_channel.emplace(channel, c).first->second;
}

void count_drop(router_state& st, std::string_view reason) {
  ++st.dropped;
  if (!st.options.metrics) return;
  auto it = st.dropped_by_reason.find(reason);
  if (it == st.dropped_by_reason.end()) {
    auto* c =
        &st.options.metrics->counter("squadbox_router_dropped_total", "Inbound messages the router dropped, by reason",
                                     {{"reason", std::string(reason)}});
    it = st.dropped_by_reason.emplace(std::string(reason), c).first;
  }
  it->second->inc();
}

namespace_manager_actor namespaces_handle(self_ptr self) {
  auto& st = self->state;
  if (!st.namespaces) {
    st.namespaces = lookup<namespace_manager_actor>(self->system(), "namespaces");
    // A restarted manager registers a new handle: forget the old one when it dies.
    if (st.namespaces) self->monitor(st.namespaces);
  }
  return st.namespaces;
}

void mark_dropped(self_ptr self, int64_t id, std::string_view reason) {
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    log::warn("router.drop_not_recorded", {{"id", id}, {"reason", reason}, {"error", "no storage writer"}});
    return;
  }
  // Not awaited: the next message need not wait for this commit.
  self->request(writer, caf::infinite, write_atom::value, storage::drop_received_inbound(id, reason))
      .then(
          [id](const storage::WriteOutcome& out) {
            if (!out.ok)
              log::warn("router.drop_not_recorded",
                        {{"id", id}, {"code", out.error_code}, {"error", out.error_message}});
          },
          [self, id](caf::error& err) {
            log::warn("router.drop_not_recorded", {{"id", id}, {"error", self->system().render(err)}});
          });
}

// Hands every pending batch to the namespaces actor, one message per namespace. Without
// that actor the rows stay 'received' and are replayed by the next recover.
void flush(self_ptr self) {
  auto& st = self->state;
  if (st.pending_messages == 0) return;
  auto namespaces = namespaces_handle(self);
  for (auto& [id, batch] : st.pending) {
    if (batch.messages.empty()) continue;
    if (namespaces) {
      caf::anon_send(namespaces, route_atom::value, std::move(batch));
    } else {
      log::warn("router.no_namespaces", {{"messages", static_cast<int64_t>(batch.messages.size())},
                                         {"why", "the namespaces actor is not running; replayed later"}});
      schedule_recover(self);
    }
  }
  st.pending.clear();
  st.pending_messages = 0;
}

// The same decision for live messages and replayed rows.
void route(self_ptr self, messaging::StoredMessage& m) {
  auto& st = self->state;
  auto& counters = channel_counters(st, m.channel);
  if (counters.inbound) counters.inbound->inc();
  if (!st.loaded && std::chrono::steady_clock::now() - st.last_load >= kReloadRetry) reload(self, "retry");
  if (!st.loaded) {
    if (log::enabled(log::Level::debug)) log::debug("router.held", {{"id", m.id}, {"why", "no routing table"}});
    schedule_recover(self);
    return;
  }
  const routing::MessageView view{m.channel, m.bot, m.chat_jid, m.sender_id, m.text, m.is_group, m.mentions_bot};
  auto decision = routing::decide(st.table, view);
  // Cluster mode: another node may have changed the tables a moment ago (its broadcast can
  // be late or lost). A drop is for good, so it is never decided on a table older than this.
  if (!decision.deliver && st.options.cluster_view &&
      std::chrono::steady_clock::now() - st.last_load >= kClusterDropFreshness) {
    reload(self, "before a drop");
    decision = routing::decide(st.table, view);
  }
  if (!decision.deliver) {
    const auto reason = routing::reason_code(decision.reason);
    count_drop(st, reason);
    // Ids only: the text stays out of logs.
    log::info("router.dropped",
              {{"id", m.id}, {"channel", m.channel}, {"bot", m.bot}, {"chat_jid", m.chat_jid}, {"reason", reason}});
    if (m.id > 0) mark_dropped(self, m.id, reason);
    return;
  }
  auto namespaces = namespaces_handle(self);
  if (!namespaces) {
    log::warn("router.no_namespaces", {{"id", m.id}, {"why", "the namespaces actor is not running; replayed later"}});
    schedule_recover(self);
    return;
  }
  if (st.recovering && st.options.cluster_view &&
      !st.options.cluster_view->local_epoch(cluster::namespace_resource(decision.namespace_id))) {
    ++st.skipped_elsewhere;  // its owner replays it
    return;
  }
  const auto* ns = st.table.find_namespace(decision.namespace_id);
  ++st.routed;
  if (counters.routed) counters.routed->inc();
  if (log::enabled(log::Level::debug))
    log::debug("router.routed", {{"id", m.id}, {"channel", m.channel}, {"namespace", ns->name}});
  auto& batch = st.pending[ns->id];
  if (batch.messages.empty()) {
    batch.namespace_id = ns->id;
    batch.namespace_name = ns->name;
  }
  batch.messages.push_back(std::move(m));
  if (++st.pending_messages >= kMaxPending) return flush(self);
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

// Every row still 'received', in id order, a chunk per SELECT.
Result<std::vector<messaging::StoredMessage>> read_received(router_state& st, int64_t after_id) {
  auto db = connection(st);
  if (!db) return db.error();
  return storage::read_received_inbound(**db, after_id, kRecoverChunk);
}

void recover(self_ptr self) {
  auto& st = self->state;
  if (!st.loaded) reload(self, "recover");
  if (!st.loaded) {
    log::warn("router.recover_postponed", {{"why", "no routing table"}});
    return schedule_recover(self);
  }
  if (!namespaces_handle(self)) {
    log::warn("router.recover_postponed", {{"why", "the namespaces actor is not running"}});
    return schedule_recover(self);
  }
  int64_t after = 0;
  uint64_t replayed = 0;
  while (true) {
    auto read = read_received(st, after);
    if (!read) {
      st.db.reset();
      log::error("router.recover_failed", {{"after_id", after}, {"error", read.error().message}});
      return schedule_recover(self);
    }
    auto& chunk = *read;
    if (chunk.empty()) break;
    after = chunk.back().id;
    st.recovering = true;
    for (auto& m : chunk) route(self, m);
    st.recovering = false;
    replayed += chunk.size();
    if (chunk.size() < static_cast<size_t>(kRecoverChunk)) break;
  }
  // route() may have found the table or the manager gone meanwhile: then it queued another.
  if (!st.recover_queued) {
    st.stranded = false;
    st.recover_attempts = 0;
  }
  const uint64_t elsewhere = std::exchange(st.skipped_elsewhere, 0);
  // Cluster mode recovers every few seconds: only a replay that found something is news.
  if (!st.options.cluster_view || replayed > elsewhere)
    log::info("router.recovered", {{"replayed", replayed - elsewhere}, {"owned_elsewhere", elsewhere}});
}

message_router_actor::behavior_type router_fn(self_ptr self, MessageRouterOptions options) {
  log_exceptions(self, "router");
  self->state.options = std::move(options);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source != self->state.namespaces.address()) return;
    // Its namespace actors died with it, and with them the turns they held in memory:
    // replay the rows still 'received' once a new manager is registered.
    self->state.namespaces = nullptr;
    log::warn("router.namespaces_down", {{"why", "replaying unfinished rows when a new manager runs"}});
    schedule_recover(self);
  });
  reload(self, "start");
  // A restarted router must not lose rows a previous one left 'received'.
  self->send(self, recover_atom::value);
  return {
      [=](route_atom, messaging::StoredMessage& m) { route(self, m); },
      [=](reload_atom) {
        auto& st = self->state;
        if (self->current_sender() == self->ctrl()) {
          st.reload_queued = false;
          reload(self, "change");
          return;
        }
        // Every reload asked for before the queued one runs is served by it.
        if (st.reload_queued) return;
        st.reload_queued = true;
        self->send(self, reload_atom::value);
      },
      [=](recover_atom) {
        self->state.recover_queued = false;
        recover(self);
      },
      [=](flush_atom) {
        self->state.flush_queued = false;
        flush(self);
      },
      [=](status_atom) {
        auto& st = self->state;
        std::string table = st.loaded ? std::to_string(st.table.namespace_count()) + " namespaces / " +
                                            std::to_string(st.table.mapping_count()) + " mappings"
                                      : "not loaded";
        return component_status{
            "router", st.loaded ? "running" : "degraded",
            "routed " + std::to_string(st.routed) + ", dropped " + std::to_string(st.dropped) + ", table: " + table};
      },
      [=](shutdown_atom) {
        flush(self);
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

message_router_actor spawn_message_router(caf::actor_system& system, MessageRouterOptions options) {
  return system.spawn(router_fn, std::move(options));
}

}  // namespace sb::actors
