#include "actors/cluster/cluster_node.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include <caf/io/middleman.hpp>
#include <caf/openssl/all.hpp>

#include "actors/channels/channel_sender.hpp"
#include "actors/cluster/cluster_transport.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/local/local_chat_hub.hpp"
#include "runtime/cluster/lease_clock.hpp"
#include "runtime/cluster/ownership_plan.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/http/message.hpp"
#include "storage/cluster_store.hpp"
#include "storage/namespace_rows.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

using steady = std::chrono::steady_clock;
constexpr auto kProbeLimit = std::chrono::milliseconds(300);
constexpr auto kConnectLimit = std::chrono::seconds(5);
constexpr auto kRecoverEvery = std::chrono::seconds(5);
constexpr const char* kPeerRegistryName = "clpeer";
// A bot's gate looks at the view every 250 ms: its connections are down well within this.
constexpr auto kBotHandoff = std::chrono::seconds(1);

std::string audit_detail(std::initializer_list<std::pair<const char*, std::string>> fields) {
  std::string out = "{";
  for (const auto& [k, v] : fields) {
    if (out.size() > 1) out += ",";
    out += "\"" + http::json_escape(k) + "\":\"" + http::json_escape(v) + "\"";
  }
  return out + "}";
}

cluster_hello own_hello(const ClusterOptions& o, const std::string& incarnation) {
  cluster_hello h;
  h.member = o.config.cluster.node_name;
  h.incarnation = incarnation;
  h.heartbeat_interval_ms = o.config.cluster.heartbeat_interval_ms;
  h.connection_timeout_ms = o.config.cluster.connection_timeout_ms;
  return h;
}

// Why a hello is refused ("" = it is not).
std::string hello_mismatch(const cluster_hello& theirs, const cluster_hello& ours) {
  if (theirs.wire_version != ours.wire_version)
    return "wire version " + std::to_string(theirs.wire_version) + ", ours " + std::to_string(ours.wire_version);
  if (theirs.heartbeat_interval_ms != ours.heartbeat_interval_ms ||
      theirs.connection_timeout_ms != ours.connection_timeout_ms)
    return "heartbeat " + std::to_string(theirs.heartbeat_interval_ms) + " ms / timeout " +
           std::to_string(theirs.connection_timeout_ms) + " ms, ours " + std::to_string(ours.heartbeat_interval_ms) +
           " ms / " + std::to_string(ours.connection_timeout_ms) +
           " ms (cluster.heartbeat_interval_ms and cluster.connection_timeout_ms must be equal on every node)";
  if (theirs.member.empty()) return "no member name";
  return "";
}

// The admin tables changed (here or on another node): what reads them reads them again.
void reload_local(caf::actor_system& system) {
  if (auto router = lookup<message_router_actor>(system, "router")) caf::anon_send(router, reload_atom::value);
  if (auto manager = lookup<namespace_manager_actor>(system, "namespaces")) caf::anon_send(manager, reload_atom::value);
  if (auto scheduler = lookup<scheduler_actor>(system, "scheduler")) caf::anon_send(scheduler, reload_atom::value);
}

// -- the peer (published) -------------------------------------------------------

struct peer_state {
  ClusterOptions opts;
  cluster_hello hello;
  static inline const char* name = "cluster-peer";
};

cluster_peer_actor::behavior_type peer_fn(cluster_peer_actor::stateful_pointer<peer_state> self, ClusterOptions opts,
                                          cluster_hello hello) {
  self->state.opts = std::move(opts);
  self->state.hello = std::move(hello);
  self->state.hello.peer = caf::actor_cast<caf::actor>(self);
  return {
      [self](hello_atom, const cluster_hello& theirs) -> caf::result<cluster_hello> {
        auto why = hello_mismatch(theirs, self->state.hello);
        if (!why.empty()) {
          log::warn("cluster.peer_refused", {{"peer", theirs.member}, {"why", why}});
          if (self->state.opts.audit)
            self->state.opts.audit(
                AuditRecord{"cluster", "cluster.peer_refused", theirs.member, audit_detail({{"why", why}})});
          return caf::make_error(caf::sec::invalid_argument, why);
        }
        // The dialled side: our cluster actor sends to the dialler's peer from now on.
        if (auto cluster = lookup<cluster_actor>(self->system(), "cluster"))
          caf::anon_send(cluster, hello_atom::value, theirs);
        return self->state.hello;
      },
      [self](forward_atom, cluster_forward& fwd) -> cluster_forward_ack {
        auto& st = self->state;
        if (!st.opts.view->serving()) return {ForwardVerdict::not_serving};
        const auto epoch = st.opts.view->local_epoch(cluster::namespace_resource(fwd.batch.namespace_id));
        if (!epoch || *epoch != fwd.epoch) return {ForwardVerdict::not_owner};
        auto manager = lookup<namespace_manager_actor>(self->system(), "namespaces");
        if (!manager) return {ForwardVerdict::not_serving};
        caf::anon_send(manager, route_atom::value, std::move(fwd.batch));
        return {ForwardVerdict::accepted};
      },
      [self](wake_atom, const std::string& bot_id) { wake_sender(self->system(), bot_id); },
      [self](reload_atom) { reload_local(self->system()); },
      [self](output_atom, cluster_local_reply& r) {
        auto& hub = self->state.opts.local_chat;
        if (!hub) return;
        if (r.finished) {
          hub->finish_turn(r.jid, r.first_id, r.last_id, std::move(r.error));
        } else {
          hub->add_reply(r.jid, r.first_id, r.last_id, std::move(r.text));
        }
      },
  };
}

// -- the cluster actor ------------------------------------------------------------

enum class PeerLink : uint8_t { idle, connecting, connected, unreachable, refused };

std::string_view to_string(PeerLink l) {
  switch (l) {
    case PeerLink::idle: return "connecting";
    case PeerLink::connecting: return "connecting";
    case PeerLink::connected: return "connected";
    case PeerLink::unreachable: return "unreachable";
    case PeerLink::refused: return "refused";
  }
  return "connecting";
}

struct Peer {
  std::string advertise;
  PeerLink link = PeerLink::idle;
  cluster_peer_actor handle;
  uint64_t generation = 0;  // tells a stale connect answer from the current one
  steady::time_point next_attempt{};
  std::chrono::milliseconds backoff{500};
  std::string last_error;
};

struct cluster_state {
  ClusterOptions opts;
  std::string self_name;
  std::string incarnation;
  cluster_hello hello;
  cluster::LeaseClock clock{std::chrono::milliseconds(10000)};
  std::optional<storage::Database> db;
  bool registered = false;
  std::vector<storage::MemberView> members;
  std::vector<storage::LeaseRow> leases;
  std::map<std::string, Peer> peers;
  std::set<std::string> yielding;  // namespace resources asked to stop, answer pending
  std::map<std::string, int64_t> held_before;
  steady::time_point next_recover{};
  metrics::Counter* forwards_accepted = nullptr;
  metrics::Counter* forwards_refused = nullptr;
  metrics::Counter* forwards_failed = nullptr;
  metrics::Counter* forwards_unroutable = nullptr;
  metrics::Counter* renewals_ok = nullptr;
  metrics::Counter* renewals_failed = nullptr;
  metrics::Counter* acquired = nullptr;
  metrics::Counter* released = nullptr;
  metrics::Counter* lost = nullptr;
  metrics::Gauge* serving_gauge = nullptr;
  metrics::Gauge* members_gauge = nullptr;
  static inline const char* name = "cluster";
};

using cluster_self = cluster_actor::stateful_pointer<cluster_state>;

void audit(cluster_state& st, const char* event, const std::string& subject, std::string detail) {
  if (st.opts.audit) st.opts.audit(AuditRecord{"cluster", event, subject, std::move(detail)});
}

storage::Database* database(cluster_state& st) {
  if (!st.db) {
    auto db = storage::Database::open(st.opts.config.storage_path(), {});
    if (!db) {
      log::warn("cluster.storage_unavailable", {{"error", db.error().message}});
      return nullptr;
    }
    st.db.emplace(std::move(*db));
  }
  return &*st.db;
}

std::vector<std::string> wanted_resources(cluster_state& st, storage::Database& db) {
  std::vector<std::string> out;
  if (auto ids = storage::read_namespace_ids(db)) {
    for (const auto& id : *ids) out.push_back(cluster::namespace_resource(id));
  }
  for (const auto& bot : st.opts.bots) out.push_back(cluster::bot_resource(bot));
  return out;
}

void publish_view(cluster_state& st) {
  std::map<std::string, cluster::LeaseHolder> live;
  for (const auto& l : st.leases)
    if (l.live) live[l.resource] = {l.holder, l.epoch};
  st.opts.view->publish(std::move(live), st.clock.fence_at());
}

// Tells the namespace manager (and the router, after a takeover) what changed.
void announce(cluster_self self, bool acquired_namespace) {
  auto& st = self->state;
  auto held = st.opts.view->held_here();
  if (held != st.held_before) {
    for (const auto& [resource, epoch] : st.held_before)
      if (!held.count(resource) || held[resource] != epoch) {
        st.lost->inc();
        log::info("cluster.lease_gone", {{"resource", resource}, {"epoch", epoch}});
      }
    st.held_before = held;
    if (auto manager = lookup<namespace_manager_actor>(self->system(), "namespaces"))
      caf::anon_send(manager, own_atom::value);
  }
  if (acquired_namespace || steady::now() >= st.next_recover) {
    // Also the safety net under the reload broadcast: a change whose broadcast missed this
    // node (a peer not connected at that moment) is read within this period.
    if (steady::now() >= st.next_recover) reload_local(self->system());
    st.next_recover = steady::now() + kRecoverEvery;
    if (auto router = lookup<message_router_actor>(self->system(), "router"))
      caf::anon_send(router, recover_atom::value);
  }
}

void connect_peers(cluster_self self);

void renew_and_plan(cluster_self self) {
  auto& st = self->state;
  const auto ttl = st.clock.ttl().count();
  auto* db = database(st);
  if (!db) {
    st.renewals_failed->inc();
    publish_view(st);
    return;
  }
  storage::ClusterStore store(*db);
  const auto sent = steady::now();
  if (!st.registered) {
    storage::MemberRow row;
    row.name = st.self_name;
    row.advertise =
        st.opts.config.cluster.advertise.empty() ? st.opts.config.cluster.listen : st.opts.config.cluster.advertise;
    row.incarnation = st.incarnation;
    row.capacity = st.opts.config.cluster.capacity;
    row.heartbeat_interval_ms = st.opts.config.cluster.heartbeat_interval_ms;
    row.connection_timeout_ms = st.opts.config.cluster.connection_timeout_ms;
    if (auto ok = store.upsert_member(row, ttl); ok) {
      st.registered = true;
      st.clock.renewed(sent);
      log::info("cluster.joined", {{"member", st.self_name}, {"advertise", row.advertise}});
    } else {
      st.renewals_failed->inc();
      log::warn("cluster.join_failed", {{"error", ok.error().message}});
      st.db.reset();
    }
  } else if (auto renewed = store.renew_member(st.self_name, st.incarnation, ttl); !renewed) {
    st.renewals_failed->inc();
    log::warn("cluster.renew_failed", {{"error", renewed.error().message}});
    st.db.reset();
  } else if (!*renewed) {
    st.renewals_failed->inc();
    log::error("cluster.name_taken",
               {{"member", st.self_name}, {"why", "another process renews this member name; not serving"}});
  } else {
    st.renewals_ok->inc();
    st.clock.renewed(sent);
  }
  if (!st.db) {
    publish_view(st);
    return;
  }
  if (st.clock.serving(steady::now())) (void)store.renew_all(st.self_name, ttl);
  if (auto m = store.members()) st.members = std::move(*m);
  if (auto l = store.leases()) st.leases = std::move(*l);

  cluster::PlanInput in;
  in.self = st.self_name;
  for (const auto& v : st.members)
    in.members.push_back(
        {v.member.name, v.member.capacity,
         v.member.state == storage::kMemberDraining ? cluster::MemberState::draining : cluster::MemberState::active,
         v.live});
  in.resources = wanted_resources(st, *db);
  for (const auto& l : st.leases) in.leases.push_back({l.resource, l.holder, l.epoch, l.live});
  in.busy = st.opts.view->busy();
  auto plan = cluster::plan_ownership(in);

  bool acquired_namespace = false;
  if (st.clock.serving(steady::now())) {
    for (const auto& resource : plan.acquire) {
      auto epoch = store.acquire(resource, st.self_name, ttl);
      if (!epoch || !*epoch) continue;
      st.acquired->inc();
      acquired_namespace = acquired_namespace || resource.starts_with("ns:");
      log::info("cluster.acquired", {{"resource", resource}, {"epoch", **epoch}});
    }
    for (const auto& resource : plan.release) {
      if (st.yielding.count(resource)) continue;
      int64_t epoch = 0;
      for (const auto& l : st.leases)
        if (l.resource == resource) epoch = l.epoch;
      if (resource.starts_with("bot:")) {
        // A bot's gate stops its connections once the view says the bot is not ours; the
        // lease is released after that (kBotHandoff), so two nodes never run it at once.
        st.yielding.insert(resource);
        st.opts.view->set_yielding(resource, true);
        self->delayed_send(self, kBotHandoff, yield_atom::value, resource, epoch);
        continue;
      }
      // Namespaces between turns, once the namespace manager has stopped the actor.
      auto manager = lookup<namespace_manager_actor>(self->system(), "namespaces");
      if (!manager) continue;
      st.yielding.insert(resource);
      self->request(manager, std::chrono::seconds(5), yield_atom::value, resource.substr(3))
          .then(
              [self, resource, epoch](bool stopped) {
                auto& st = self->state;
                st.yielding.erase(resource);
                if (!stopped) return;
                auto* db = database(st);
                if (!db) return;
                storage::ClusterStore store(*db);
                if (auto ok = store.release(resource, st.self_name, epoch); ok) {
                  st.released->inc();
                  log::info("cluster.released", {{"resource", resource}, {"epoch", epoch}});
                }
              },
              [self, resource](caf::error&) { self->state.yielding.erase(resource); });
    }
    if (!plan.acquire.empty()) {
      if (auto l = store.leases()) st.leases = std::move(*l);
    }
  }
  publish_view(st);
  st.serving_gauge->set(st.clock.serving(steady::now()) ? 1 : 0);
  int64_t live = 0;
  for (const auto& m : st.members) live += m.live ? 1 : 0;
  st.members_gauge->set(live);
  announce(self, acquired_namespace);
}

void connect_peer(cluster_self self, const std::string& member) {
  auto& st = self->state;
  auto& peer = st.peers[member];
  auto target = parse_host_port(peer.advertise);
  if (!target) {
    peer.link = PeerLink::unreachable;
    peer.last_error = target.error().message;
    return;
  }
  const uint64_t generation = ++peer.generation;
  if (!st.hello.peer) st.hello.peer = lookup<caf::actor>(self->system(), kPeerRegistryName);
  auto retry_later = [self, member](PeerLink link, std::string error) {
    auto& p = self->state.peers[member];
    p.link = link;
    p.last_error = std::move(error);
    p.next_attempt = steady::now() + p.backoff;
    p.backoff = std::min<std::chrono::milliseconds>(p.backoff * 2, std::chrono::seconds(10));
  };
  // Bounded first: the middleman's connect would block every other connect of this node.
  if (auto reachable = probe_tcp(*target, kProbeLimit); !reachable) {
    if (peer.link != PeerLink::unreachable)
      log::warn("cluster.peer_unreachable", {{"peer", member}, {"error", reachable.error().message}});
    return retry_later(PeerLink::unreachable, reachable.error().message);
  }
  peer.link = PeerLink::connecting;
  auto mm = self->system().openssl_manager().actor_handle();
  self->request(mm, kConnectLimit, caf::connect_atom::value, target->host, target->port)
      .then(
          [self, member, generation, retry_later](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                                  const std::set<std::string>&) {
            auto& st = self->state;
            auto& p = st.peers[member];
            if (p.generation != generation) return;
            auto handle = caf::actor_cast<cluster_peer_actor>(ptr);
            if (!handle) return retry_later(PeerLink::refused, "no cluster peer published there");
            // CAF 0.17 names a node by host and process id: two nodes on one host whose
            // processes have the same pid (containers, each squadbox PID 1) look like one
            // node, and CAF hands back our own actor.
            if (ptr->node() == self->system().node()) {
              const std::string why =
                  "the peer has this node's CAF node id (same host and process id: run containers with distinct "
                  "pids, e.g. compose `pid: host`)";
              log::error("cluster.peer_refused", {{"peer", member}, {"why", why}});
              return retry_later(PeerLink::refused, why);
            }
            self->request(handle, std::chrono::milliseconds(st.opts.config.cluster.forward_timeout_ms),
                          hello_atom::value, st.hello)
                .then(
                    [self, member, generation, handle, retry_later](const cluster_hello& theirs) {
                      auto& st = self->state;
                      auto& p = st.peers[member];
                      if (p.generation != generation) return;
                      auto why = hello_mismatch(theirs, st.hello);
                      if (why.empty() && theirs.member != member)
                        why = "answers as \"" + theirs.member + "\", registered as \"" + member + "\"";
                      if (!why.empty()) {
                        log::warn("cluster.peer_refused", {{"peer", member}, {"why", why}});
                        audit(st, "cluster.peer_refused", member, audit_detail({{"why", why}}));
                        return retry_later(PeerLink::refused, why);
                      }
                      p.handle = handle;
                      p.link = PeerLink::connected;
                      p.last_error.clear();
                      p.backoff = std::chrono::milliseconds(500);
                      self->monitor(handle);
                      log::info("cluster.peer_connected", {{"peer", member}, {"incarnation", theirs.incarnation}});
                    },
                    [self, member, generation, retry_later](caf::error& err) {
                      auto& st = self->state;
                      if (st.peers[member].generation != generation) return;
                      auto why = "hello refused: " + self->system().render(err);
                      log::warn("cluster.peer_refused", {{"peer", member}, {"why", why}});
                      audit(st, "cluster.peer_refused", member, audit_detail({{"why", why}}));
                      retry_later(PeerLink::refused, why);
                    });
          },
          [self, member, generation, retry_later](caf::error& err) {
            auto& st = self->state;
            if (st.peers[member].generation != generation) return;
            // Every TLS failure (no certificate, another CA) shows as this one code.
            const bool tls = err == caf::sec::disconnect_during_handshake;
            auto why = tls ? std::string("TLS handshake refused (a certificate not signed by the cluster CA, or none)")
                           : self->system().render(err);
            log::warn("cluster.peer_refused", {{"peer", member}, {"why", why}});
            if (tls) audit(st, "cluster.peer_refused", member, audit_detail({{"why", why}}));
            retry_later(tls ? PeerLink::refused : PeerLink::unreachable, why);
          });
}

void connect_peers(cluster_self self) {
  auto& st = self->state;
  std::set<std::string> live;
  for (const auto& v : st.members) {
    const auto& m = v.member;
    if (!v.live || m.name == st.self_name) continue;
    live.insert(m.name);
    auto& peer = st.peers[m.name];
    if (peer.advertise != m.advertise) {
      peer = Peer{};
      peer.advertise = m.advertise;
    }
  }
  for (auto it = st.peers.begin(); it != st.peers.end();) {
    // A peer that dialled us before its row reached our reading stays while connected.
    if (!live.count(it->first) && it->second.link != PeerLink::connected) {
      it = st.peers.erase(it);
    } else {
      ++it;
    }
  }
  const auto now = steady::now();
  for (auto& [name, peer] : st.peers) {
    if (peer.link == PeerLink::connected || peer.link == PeerLink::connecting) continue;
    // One connection per pair: the smaller name dials, the other waits for its hello.
    if (!(st.self_name < name)) continue;
    if (now < peer.next_attempt) continue;
    connect_peer(self, name);
  }
}

void forward(cluster_self self, routed_batch& batch) {
  auto& st = self->state;
  const auto resource = cluster::namespace_resource(batch.namespace_id);
  auto owner = st.opts.view->holder(resource);
  if (!owner) {
    st.forwards_unroutable->inc();
    log::debug("cluster.forward_no_owner", {{"namespace", batch.namespace_name}});
    return;  // the next owner recovers the rows when it takes the namespace
  }
  if (owner->holder == st.self_name) {
    if (auto manager = lookup<namespace_manager_actor>(self->system(), "namespaces"))
      caf::anon_send(manager, route_atom::value, std::move(batch));
    return;
  }
  auto it = st.peers.find(owner->holder);
  if (it == st.peers.end() || it->second.link != PeerLink::connected) {
    st.forwards_unroutable->inc();
    log::warn("cluster.forward_unroutable",
              {{"namespace", batch.namespace_name}, {"owner", owner->holder}, {"why", "not connected"}});
    return;  // the owner's periodic recovery replays the rows
  }
  cluster_forward fwd{st.self_name, owner->epoch, std::move(batch)};
  const std::string name = fwd.batch.namespace_name;
  const std::string peer = owner->holder;
  self->request(it->second.handle, std::chrono::milliseconds(st.opts.config.cluster.forward_timeout_ms),
                forward_atom::value, std::move(fwd))
      .then(
          [self, name, peer](const cluster_forward_ack& ack) {
            auto& st = self->state;
            if (ack.verdict == ForwardVerdict::accepted) {
              st.forwards_accepted->inc();
              return;
            }
            st.forwards_refused->inc();
            log::info("cluster.forward_refused",
                      {{"namespace", name}, {"owner", peer}, {"verdict", std::string(to_string(ack.verdict))}});
          },
          [self, name, peer](caf::error& err) {
            self->state.forwards_failed->inc();
            log::warn("cluster.forward_failed",
                      {{"namespace", name}, {"owner", peer}, {"error", self->system().render(err)}});
          });
}

cluster_status make_status(cluster_state& st) {
  cluster_status out;
  out.self = st.self_name;
  out.serving = st.clock.serving(steady::now());
  out.lease_ttl_ms = st.clock.ttl().count();
  for (const auto& v : st.members) {
    const auto& m = v.member;
    cluster_member_status s;
    s.name = m.name;
    s.advertise = m.advertise;
    s.state = m.state;
    s.live = v.live;
    s.lease_age_ms = v.lease_age_ms;
    s.capacity = m.capacity;
    if (m.name == st.self_name) {
      s.connection = "self";
    } else if (auto it = st.peers.find(m.name); it != st.peers.end()) {
      s.connection = std::string(to_string(it->second.link));
      s.last_error = it->second.last_error;
    } else {
      s.connection = "unreachable";
    }
    for (const auto& l : st.leases) {
      if (!l.live || l.holder != m.name) continue;
      if (l.resource.starts_with("ns:")) s.namespaces.push_back(l.resource.substr(3));
      if (l.resource.starts_with("bot:")) s.bots.push_back(l.resource.substr(4));
    }
    out.members.push_back(std::move(s));
  }
  return out;
}

cluster_actor::behavior_type cluster_fn(cluster_self self, ClusterOptions opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.self_name = st.opts.config.cluster.node_name;
  st.incarnation = random_hex(8);
  st.hello = own_hello(st.opts, st.incarnation);
  st.clock = cluster::LeaseClock(std::chrono::milliseconds(st.opts.config.cluster.lease_ttl_ms));
  static metrics::Registry fallback;
  auto& reg = st.opts.metrics ? *st.opts.metrics : fallback;
  const char* fh = "Batches handed to another node for a namespace it owns, by result.";
  st.forwards_accepted = &reg.counter("squadbox_cluster_forwards_total", fh, {{"result", "accepted"}});
  st.forwards_refused = &reg.counter("squadbox_cluster_forwards_total", fh, {{"result", "refused"}});
  st.forwards_failed = &reg.counter("squadbox_cluster_forwards_total", fh, {{"result", "failed"}});
  st.forwards_unroutable = &reg.counter("squadbox_cluster_forwards_total", fh, {{"result", "unroutable"}});
  const char* rh = "Renewals of this node's membership lease, by result.";
  st.renewals_ok = &reg.counter("squadbox_cluster_lease_renewals_total", rh, {{"result", "ok"}});
  st.renewals_failed = &reg.counter("squadbox_cluster_lease_renewals_total", rh, {{"result", "failed"}});
  const char* oh = "Ownership changes of this node (leases acquired, released, lost).";
  st.acquired = &reg.counter("squadbox_cluster_ownership_changes_total", oh, {{"change", "acquired"}});
  st.released = &reg.counter("squadbox_cluster_ownership_changes_total", oh, {{"change", "released"}});
  st.lost = &reg.counter("squadbox_cluster_ownership_changes_total", oh, {{"change", "lost"}});
  st.serving_gauge = &reg.gauge("squadbox_cluster_serving", "1 while this node may act as an owner (lease renewed).");
  st.members_gauge = &reg.gauge("squadbox_cluster_members_live", "Members whose lease is live.");
  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& [name, peer] : self->state.peers) {
      if (peer.handle && peer.handle.address() == dm.source) {
        log::warn("cluster.peer_lost", {{"peer", name}, {"reason", self->system().render(dm.reason)}});
        Peer fresh;
        fresh.advertise = peer.advertise;
        peer = std::move(fresh);
      }
    }
  });
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        renew_and_plan(self);
        connect_peers(self);
        self->delayed_send(self, self->state.clock.renew_every(), tick_atom::value);
      },
      [self](forward_atom, routed_batch& batch) { forward(self, batch); },
      [self](wake_atom, const std::string& bot_id) {
        auto& st = self->state;
        auto owner = st.opts.view->holder(cluster::bot_resource(bot_id));
        if (!owner || owner->holder == st.self_name) return wake_sender(self->system(), bot_id);
        auto it = st.peers.find(owner->holder);
        if (it != st.peers.end() && it->second.link == PeerLink::connected)
          self->send(it->second.handle, wake_atom::value, bot_id);
      },
      [self](caf::get_atom) -> cluster_status { return make_status(self->state); },
      [self](yield_atom, const std::string& resource, int64_t epoch) {
        // The bot stopped here (kBotHandoff ago): release its lease.
        auto& st = self->state;
        st.yielding.erase(resource);
        if (auto* db = database(st)) {
          storage::ClusterStore store(*db);
          if (auto ok = store.release(resource, st.self_name, epoch); ok && *ok) {
            st.released->inc();
            log::info("cluster.released", {{"resource", resource}, {"epoch", epoch}});
            // Not ours in the view before it stops yielding: the gate must not start it again.
            for (auto& l : st.leases)
              if (l.resource == resource) l.live = false;
            publish_view(st);
          }
        }
        st.opts.view->set_yielding(resource, false);
      },
      [self](hello_atom, const cluster_hello& theirs) {
        auto& st = self->state;
        if (theirs.member == st.self_name || !theirs.peer) return;
        auto& peer = st.peers[theirs.member];
        auto handle = caf::actor_cast<cluster_peer_actor>(theirs.peer);
        if (peer.link == PeerLink::connected && peer.handle == handle) return;
        ++peer.generation;
        peer.handle = handle;
        peer.link = PeerLink::connected;
        peer.last_error.clear();
        self->monitor(handle);
        log::info("cluster.peer_connected", {{"peer", theirs.member}, {"dialled_by", theirs.member}});
      },
      [self](reload_atom) {
        for (auto& [name, peer] : self->state.peers)
          if (peer.link == PeerLink::connected) self->send(peer.handle, reload_atom::value);
      },
      [self](output_atom, const cluster_local_reply& r) {
        for (auto& [name, peer] : self->state.peers)
          if (peer.link == PeerLink::connected) self->send(peer.handle, output_atom::value, r);
      },
      [self](status_atom) -> component_status {
        auto& st = self->state;
        const bool serving = st.clock.serving(steady::now());
        int64_t live = 0;
        for (const auto& m : st.members) live += m.live ? 1 : 0;
        return {"cluster", serving ? "running" : "degraded",
                std::to_string(live) + " live members, " + std::to_string(st.opts.view->held_here().size()) +
                    " leases held" + (serving ? "" : ", not serving (membership lease not renewed)")};
      },
      [self](shutdown_atom) {
        // The node's namespaces and bots stopped before this (the supervisor stops its
        // children in reverse order): hand their leases back now rather than let the
        // others wait for them to run out, and leave the member table.
        auto& st = self->state;
        if (auto* db = database(st)) {
          storage::ClusterStore store(*db);
          size_t released = 0;
          for (const auto& [resource, epoch] : st.opts.view->held_here())
            if (auto ok = store.release(resource, st.self_name, epoch); ok && *ok) ++released;
          (void)store.remove_member(st.self_name, st.incarnation);
          log::info("cluster.left", {{"member", st.self_name}, {"released", static_cast<int64_t>(released)}});
        }
        st.opts.view->publish({}, std::nullopt);
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

Result<cluster_peer_actor> publish_cluster_peer(caf::actor_system& system, const ClusterOptions& options) {
  auto listen = parse_host_port(options.config.cluster.listen);
  if (!listen) return make_error(kClusterListen, listen.error().message);
  auto peer = system.spawn(peer_fn, options, own_hello(options, ""));
  system.registry().put(caf::atom_from_string(std::string(kPeerRegistryName)),
                        caf::actor_cast<caf::strong_actor_ptr>(peer));
  auto port = caf::openssl::publish(peer, listen->port, listen->host.c_str(), true);
  if (!port) {
    caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
    return make_error(kClusterListen,
                      "cannot listen on " + options.config.cluster.listen + ": " + system.render(port.error()));
  }
  log::info("cluster.listening", {{"listen", options.config.cluster.listen}, {"port", static_cast<int64_t>(*port)}});
  return peer;
}

cluster_actor spawn_cluster(caf::actor_system& system, ClusterOptions options) {
  return caf::actor_cast<cluster_actor>(system.spawn<caf::detached>(cluster_fn, std::move(options)));
}

}  // namespace sb::actors
