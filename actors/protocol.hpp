#pragma once
// The typed protocol between squadbox actors: atoms, message structs (each with an
// `inspect` overload so CAF can copy and serialise it), and one caf::typed_actor
// interface per actor kind. Every node of a cluster must register the same types
// under the same names: add_message_types() is the single place that does it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/all.hpp>

#include "runtime/container/run_events.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/result.hpp"
#include "runtime/http/message.hpp"
#include "runtime/messaging/stored_message.hpp"
#include "runtime/schedule/scheduled_run.hpp"
#include "storage/sql_value.hpp"

namespace sb::actors {

// Atoms (at most 10 characters).
using status_atom = caf::atom_constant<caf::atom("status")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
// Container runs.
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using ipc_atom = caf::atom_constant<caf::atom("ipc")>;
using output_atom = caf::atom_constant<caf::atom("output")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using state_atom = caf::atom_constant<caf::atom("state")>;
// Channels.
using ingest_atom = caf::atom_constant<caf::atom("ingest")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;
// Routing and namespaces.
using reload_atom = caf::atom_constant<caf::atom("reload")>;    // the namespaces tables changed
using recover_atom = caf::atom_constant<caf::atom("recover")>;  // replay unfinished inbound rows
using ready_atom = caf::atom_constant<caf::atom("ready")>;      // container services are ready
using typing_atom = caf::atom_constant<caf::atom("typing")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;  // the router hands on what it batched
// Container slots between a Namespace actor and the NamespaceManager (by namespace id).
using acquire_atom = caf::atom_constant<caf::atom("acquire")>;  // wants a slot
using release_atom = caf::atom_constant<caf::atom("release")>;  // its container exited
using idle_atom = caf::atom_constant<caf::atom("idle")>;        // its agent has no turn
using busy_atom = caf::atom_constant<caf::atom("busy")>;        // its agent works on a turn
using granted_atom = caf::atom_constant<caf::atom("granted")>;  // manager -> namespace
// Scheduled tasks.
using task_atom = caf::atom_constant<caf::atom("task")>;  // scheduler -> namespaces: start this run
using tick_atom = caf::atom_constant<caf::atom("tick")>;  // the scheduler's one pending timer
// The security auditor and the Telegram poller.
using scan_atom = caf::atom_constant<caf::atom("scan")>;        // run one security scan now
using sectick_atom = caf::atom_constant<caf::atom("sectick")>;  // the auditor's periodic timer
using polled_atom = caf::atom_constant<caf::atom("tgpolled")>;  // a poll's answer, from its thread
// Bots that connect out over WebSockets (Discord Gateway, Slack Socket Mode): events of
// a connection's own thread and of the bootstrap HTTP call, and the actor's timers.
using ws_open_atom = caf::atom_constant<caf::atom("wsopen")>;
using ws_text_atom = caf::atom_constant<caf::atom("wstext")>;
using ws_closed_atom = caf::atom_constant<caf::atom("wsclosed")>;
using ws_timer_atom = caf::atom_constant<caf::atom("wstimer")>;
using ws_boot_atom = caf::atom_constant<caf::atom("wsboot")>;
// The cluster (actors/cluster/): node-to-node and the local cluster actor.
using hello_atom = caf::atom_constant<caf::atom("sbhello")>;      // peers introduce themselves
using forward_atom = caf::atom_constant<caf::atom("sbforward")>;  // a routed batch for the owner
using yield_atom = caf::atom_constant<caf::atom("yield")>;        // give up a namespace between turns
using own_atom = caf::atom_constant<caf::atom("own")>;            // ownership changed: reconcile

// What any supervised component reports about itself. `state` is for people (/readyz,
// `squadbox status`); callers that decide something use the typed fields of their own
// replies, never this text.
struct component_status {
  std::string name;
  std::string state;   // "running", "degraded", "busy", a run state, ...
  std::string detail;  // human-readable, no secrets
};

// One child as its supervisor sees it.
enum class ChildState : uint8_t { starting, running, backoff, stopping, stopped, dead };
std::string_view to_string(ChildState state);  // "starting", "running", "backoff", ...

struct child_status {
  std::string name;
  ChildState state = ChildState::running;
  uint32_t restarts = 0;  // total since the supervisor started
  std::string last_error;
};

struct supervisor_status {
  std::string name;
  std::vector<child_status> children;
};

// Sent by a supervisor to its parent when a child exhausted its restart budget.
struct child_failure {
  std::string supervisor;
  std::string child;
  std::string reason;
  uint32_t restarts = 0;
};

struct audit_receipt {
  int64_t seq = 0;
  std::string hash_hex;
};

// Internal to a container supervisor: what its IPC watcher thread hands over.
enum class IpcEventKind : uint8_t {
  message,    // the agent said something (text, in_reply_to, chat_jid)
  turn_done,  // the agent finished the input in_reply_to (ok, error)
  progress,   // a progress line of the running turn (text, in_reply_to): terminals only
  activity,   // a task file or other IPC traffic: the agent is alive (re-arms the idle timer)
};

struct ipc_event {
  IpcEventKind kind = IpcEventKind::message;
  std::string text;
  std::string in_reply_to;
  std::string chat_jid;
  bool ok = true;
  std::string error;
  bool retry = true;  // turn_done: the agent says the failed turn may be run again
};

// Internal to a container supervisor: a container exited (from the waiter thread).
struct exit_info {
  uint64_t generation = 0;
  int32_t exit_code = 0;
  bool oom_killed = false;
  int32_t signal = 0;
  Error error;  // code "" = the wait worked; "runtime.unknown_exit": an adopted container's status is unknown
};

// Internal to a container supervisor: which of its timers fired.
enum class TimeoutKind : uint8_t { hard, idle };

// What the ingest did with a batch: every message is either stored or a duplicate when
// `error` has no code; otherwise nothing can be assumed stored (the platform retries).
struct ingest_result {
  uint32_t stored = 0;
  uint32_t duplicates = 0;
  Error error;  // code "" = stored
};

// A reply for the outbox: one logical message, split to the platform's limit on enqueue.
struct outbound_message {
  std::string bot_id;    // "slack/main"
  std::string chat_jid;  // "slack:C123"
  std::string text;
  std::string reply_to;  // see ChannelBot::build_message; "" = none
  // "" = none. A second enqueue with the same key stores nothing and answers the first
  // one's ids: a namespace's replies to a turn replayed after a crash go out once.
  std::string idempotency_key{};  // {}: positional {bot, chat, text, reply_to} stays warning-free
  storage::Fence fence{};         // cluster mode: the owning namespace's lease (storage::Fence)
};

struct enqueue_result {
  std::vector<int64_t> outbox_ids;  // one per piece, in sending order
  Error error;                      // code "" = enqueued; else nothing was enqueued
};

// A stored inbound message the router decided goes to a namespace (squad group).
struct routed_message {
  std::string namespace_id;  // UUID
  std::string namespace_name;
  messaging::StoredMessage message;  // message.id > 0
};

// Routed messages of one namespace, oldest first: what the router decided while its
// mailbox was busy goes on as one message per namespace (one hop per batch, not per message).
struct routed_batch {
  std::string namespace_id;
  std::string namespace_name;
  std::vector<messaging::StoredMessage> messages;  // each id > 0, increasing
};

// One run of a scheduled task for its namespace (the run-log row exists), and who gets
// the answer: the namespace answers reply_to with (done_atom, ScheduledRunResult)
// exactly once, whatever happens to the run.
struct scheduled_run : schedule::ScheduledRun {
  caf::actor reply_to;
};
using scheduled_run_result = schedule::ScheduledRunResult;

// -- the cluster wire (actors/cluster/) ----------------------------------------
// Every type that crosses nodes is registered by add_message_types() under one name on
// every node. CAF 0.17 identifies types by name only and turns a layout it does not
// know into an empty message, so a change to any of these (or to the types they carry)
// bumps kClusterWireVersion: it is the app identifier of the node-to-node handshake, so
// nodes of different wire versions refuse each other instead of corrupting messages.
inline constexpr uint32_t kClusterWireVersion = 1;

// The first request on a new connection, both ways: who is there, and whether its
// failure-detection settings are the same as ours (CAF drops a peer whose heartbeats are
// slower than its own connection timeout).
struct cluster_hello {
  uint32_t wire_version = kClusterWireVersion;
  std::string member;       // cluster.node_name
  std::string incarnation;  // this process's random id (a restart is another incarnation)
  int64_t heartbeat_interval_ms = 0;
  int64_t connection_timeout_ms = 0;
  // The sender's published peer actor. Only the member with the smaller name dials (CAF
  // keeps one connection per pair of nodes and tears down a second one), so the dialled
  // side learns where to send from this field.
  caf::actor peer;
};

// A routed batch for a namespace another node owns, with the epoch the sender saw: the
// owner takes it only while it still holds that epoch.
struct cluster_forward {
  std::string from_member;
  int64_t epoch = 0;
  routed_batch batch;
};

enum class ForwardVerdict : uint8_t { accepted, not_owner, not_serving };
std::string_view to_string(ForwardVerdict verdict);

struct cluster_forward_ack {
  ForwardVerdict verdict = ForwardVerdict::accepted;
};

// A reply of a local chat turn (channels/local): the node whose admin API took the chat
// request waits for it, and the namespace may run on another node.
struct cluster_local_reply {
  std::string jid;
  int64_t first_id = 0;
  int64_t last_id = 0;
  std::string text;
  std::string error;
  bool finished = false;  // the turn ended (error empty: it succeeded)
};

// One member as the cluster actor sees it (GET /api/v1/cluster).
struct cluster_member_status {
  std::string name;
  std::string advertise;
  std::string state;  // "active" | "draining"
  bool live = false;
  int64_t lease_age_ms = 0;
  int64_t capacity = 1;
  std::string connection;  // "self", "connected", "connecting", "unreachable", "refused"
  std::string last_error;
  std::vector<std::string> namespaces;  // namespace ids whose lease it holds
  std::vector<std::string> bots;        // bot ids whose lease it holds
};

struct cluster_status {
  std::string self;
  bool serving = false;
  int64_t lease_ttl_ms = 0;
  std::vector<cluster_member_status> members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routed_batch& x);
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_hello& x) {
  return f(caf::meta::type_name("sbc_hello"), x.wire_version, x.member, x.incarnation, x.heartbeat_interval_ms,
           x.connection_timeout_ms, x.peer);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_forward& x) {
  return f(caf::meta::type_name("sbc_forward"), x.from_member, x.epoch, x.batch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_forward_ack& x) {
  return f(caf::meta::type_name("sbc_forward_ack"), x.verdict);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_local_reply& x) {
  return f(caf::meta::type_name("sbc_local_reply"), x.jid, x.first_id, x.last_id, x.text, x.error, x.finished);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_member_status& x) {
  return f(caf::meta::type_name("cluster_member_status"), x.name, x.advertise, x.state, x.live, x.lease_age_ms,
           x.capacity, x.connection, x.last_error, x.namespaces, x.bots);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_status& x) {
  return f(caf::meta::type_name("cluster_status"), x.self, x.serving, x.lease_ttl_ms, x.members);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduled_run& x) {
  return f(caf::meta::type_name("scheduled_run"), x.task_id, x.run_id, x.attempt, x.namespace_id, x.namespace_name,
           x.prompt, x.context_mode, x.image, x.timeout_secs, x.announce_jid, x.reply_to);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routed_batch& x) {
  return f(caf::meta::type_name("routed_batch"), x.namespace_id, x.namespace_name, x.messages);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routed_message& x) {
  return f(caf::meta::type_name("routed_message"), x.namespace_id, x.namespace_name, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_result& x) {
  return f(caf::meta::type_name("ingest_result"), x.stored, x.duplicates, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbound_message& x) {
  return f(caf::meta::type_name("outbound_message"), x.bot_id, x.chat_jid, x.text, x.reply_to, x.idempotency_key,
           x.fence);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, enqueue_result& x) {
  return f(caf::meta::type_name("enqueue_result"), x.outbox_ids, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ipc_event& x) {
  return f(caf::meta::type_name("ipc_event"), x.kind, x.text, x.in_reply_to, x.chat_jid, x.ok, x.error, x.retry);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exit_info& x) {
  return f(caf::meta::type_name("exit_info"), x.generation, x.exit_code, x.oom_killed, x.signal, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, component_status& x) {
  return f(caf::meta::type_name("component_status"), x.name, x.state, x.detail);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_status& x) {
  return f(caf::meta::type_name("child_status"), x.name, x.state, x.restarts, x.last_error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_status& x) {
  return f(caf::meta::type_name("supervisor_status"), x.name, x.children);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_failure& x) {
  return f(caf::meta::type_name("child_failure"), x.supervisor, x.child, x.reason, x.restarts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_receipt& x) {
  return f(caf::meta::type_name("audit_receipt"), x.seq, x.hash_hex);
}

// -- interfaces ---------------------------------------------------------------

// Every supervised child answers status and shutdown. Shutdown is an ordinary
// (FIFO) request, so everything queued before it is handled first: that is how
// in-flight work drains on SIGTERM.
using component_actor =
    caf::typed_actor<caf::replies_to<status_atom>::with<component_status>, caf::replies_to<shutdown_atom>::with<bool>>;

// Single writer of the SQLite database; replies once the write is durable.
using storage_writer_actor =
    component_actor::extend<caf::replies_to<write_atom, storage::WriteOp>::with<storage::WriteOutcome>,
                            caf::reacts_to<commit_atom>>;

// Appends hash-chained audit records (through the storage writer).
// retry_atom: its own timer, after a failed write (the chain then resumes from disk).
using audit_log_actor =
    component_actor::extend<caf::replies_to<append_atom, AuditRecord>::with<audit_receipt>, caf::reacts_to<retry_atom>>;

// Local only (never crosses nodes): how a non-actor caller (the webhook listener's I/O
// threads) learns the fate of a batch without spawning an actor or arming a timer per
// request. Called exactly once, from an actor thread.
using ingest_callback = std::shared_ptr<std::function<void(const ingest_result&)>>;

// Durable intake of platform messages ("ingest" in the registry): stores a batch
// (group commit, deduplicated per (channel, bot, platform id)), replies once it is on
// disk, then hands each newly stored message to the router. Webhooks and pollers use it.
// The callback form answers `ingest_result{error = "ack timeout"}` when the batch is not
// durable within the ingest's ack_timeout (the platform retries; dedupe makes it safe).
using ingest_actor =
    component_actor::extend<caf::replies_to<ingest_atom, std::vector<messaging::StoredMessage>>::with<ingest_result>,
                            caf::reacts_to<ingest_atom, std::vector<messaging::StoredMessage>, ingest_callback>>;

// Receives every stored inbound message exactly once ("router" in the registry).
using router_actor = component_actor::extend<caf::reacts_to<route_atom, messaging::StoredMessage>>;

// The persistent outbox ("outbox" in the registry): splits, stores, wakes the bot's
// sender. Replies once the rows are durable.
using outbox_actor = component_actor::extend<caf::replies_to<enqueue_atom, outbound_message>::with<enqueue_result>>;

// The router itself: also reloads its routing table when the namespaces tables change,
// and replays stored messages that no turn has finished (recover_atom, once at start).
using message_router_actor =
    router_actor::extend<caf::reacts_to<reload_atom>, caf::reacts_to<recover_atom>, caf::reacts_to<flush_atom>>;

// The NamespaceManager ("namespaces" in the registry): one Namespace actor per squad
// group, the global container slot pool. reload_atom: namespaces were changed or removed.
// ready_atom: the container services (runtime, security layers) are set; containers
// wait for it.
// acquire/release/idle/busy (with the namespace id): the Namespace actors' slot requests.
// task_atom: a scheduled run for the namespace's queue (it runs before waiting messages).
using namespace_manager_actor =
    component_actor::extend<caf::reacts_to<route_atom, routed_message>, caf::reacts_to<route_atom, routed_batch>,
                            caf::reacts_to<task_atom, scheduled_run>, caf::reacts_to<reload_atom>,
                            caf::reacts_to<ready_atom>, caf::reacts_to<acquire_atom, std::string>,
                            caf::reacts_to<acquire_atom, std::string, bool>,  // bool: scheduled (a task run: may
                                                                              // pre-empt idle containers)
                            caf::reacts_to<release_atom, std::string>, caf::reacts_to<idle_atom, std::string>,
                            caf::reacts_to<busy_atom, std::string>,
                            // cluster mode (actors/namespaces/namespace_manager.hpp)
                            caf::reacts_to<own_atom>, caf::replies_to<yield_atom, std::string>::with<bool>,
                            caf::reacts_to<tick_atom>>;

// The scheduler ("scheduler" in the registry): one pending timer for the earliest due
// task. reload_atom: the task store changed (re-read what is planned, re-arm).
// (done_atom, scheduled_run_result): a run it started ended. tick_atom: its own timer
// (the generation tells a stale timer from the current one).
using scheduler_actor =
    component_actor::extend<caf::reacts_to<reload_atom>, caf::reacts_to<done_atom, scheduled_run_result>,
                            caf::reacts_to<tick_atom, uint64_t>>;

// Whoever runs a container (a Namespace actor, `cowork`, tests) hears from it: every
// message of the agent, every lifecycle transition, and once, how the run ended.
using run_listener_actor = caf::typed_actor<caf::reacts_to<output_atom, container::RunOutput>,
                                            caf::reacts_to<state_atom, container::RunTransition>,
                                            caf::reacts_to<done_atom, container::RunResult>>;

// One ContainerSupervisor per container run (actors/containers/container_supervisor.hpp).
// deliver: one input (id, text); close: the agent finishes and exits; stop: SIGTERM,
// then SIGKILL after the grace. status: the run state, detail = the container id.
// Internal (sent by itself and its threads): done, ipc, exited, retry, kill, timeout.
using container_supervisor_actor =
    caf::typed_actor<caf::replies_to<status_atom>::with<component_status>,
                     caf::reacts_to<deliver_atom, std::string, std::string>, caf::reacts_to<close_atom>,
                     caf::reacts_to<stop_atom>, caf::reacts_to<done_atom>, caf::reacts_to<ipc_atom, ipc_event>,
                     caf::reacts_to<exited_atom, exit_info>, caf::reacts_to<retry_atom, uint64_t>,
                     caf::reacts_to<kill_atom, uint64_t>, caf::reacts_to<timeout_atom, TimeoutKind, uint64_t>>;

// One Namespace actor per squad group (actors/namespaces/namespace_actor.hpp): routed
// messages, scheduled runs (true: accepted; answered later to reply_to), the manager's
// slot grants and pre-emption (stop), readiness and reloads, and its runs' events.
// Internal: retry (a start retry is due), typing (re-send the typing indicator).
using namespace_actor =
    run_listener_actor::extend<caf::replies_to<status_atom>::with<component_status>,
                               caf::reacts_to<route_atom, routed_message>, caf::reacts_to<route_atom, routed_batch>,
                               caf::replies_to<task_atom, scheduled_run>::with<bool>, caf::reacts_to<granted_atom>,
                               caf::reacts_to<stop_atom>, caf::reacts_to<ready_atom>, caf::reacts_to<reload_atom>,
                               caf::reacts_to<retry_atom, uint64_t>, caf::reacts_to<typing_atom, uint64_t>,
                               caf::reacts_to<flush_atom>>;  // flush: retry its failed durable writes

// One sender per bot that can send (actors/channels/channel_sender.hpp). wake: rows are
// waiting (also through the bot's local group); typing: show the typing indicator in a
// chat (chat JID, inbound message id). Internal: deliver (drain now), retry (a row is due at ms).
using channel_sender_actor =
    component_actor::extend<caf::reacts_to<wake_atom>, caf::reacts_to<deliver_atom>,
                            caf::reacts_to<typing_atom, std::string, std::string>, caf::reacts_to<retry_atom, int64_t>>;

// One Telegram long poller per polling bot (actors/channels/telegram_poller.hpp).
// Internal: polled (status, body, headers, error code, error message) from its poll thread.
using telegram_poller_actor =
    component_actor::extend<caf::reacts_to<polled_atom, int32_t, std::string, http::Headers, std::string, std::string>>;

// A bot connection over WebSockets (actors/channels/discord_gateway.hpp,
// slack_socket.hpp). `conn` names the socket an event is about (a newer socket
// makes an older one's late events recognisable); ws_closed carries the close code (-1:
// none), whether the close was clean, and why; ws_timer a timer kind and its token;
// ws_boot the bootstrap HTTP answer (the call's tag, status, body, headers, error code,
// error message; Slack tags apps.connections.open with the connection's generation).
using ws_bot_actor = component_actor::extend<
    caf::reacts_to<ws_open_atom, uint64_t>, caf::reacts_to<ws_text_atom, uint64_t, std::string>,
    caf::reacts_to<ws_closed_atom, uint64_t, int32_t, bool, std::string>,
    caf::reacts_to<ws_timer_atom, uint8_t, uint64_t>,
    caf::reacts_to<ws_boot_atom, uint64_t, int32_t, std::string, http::Headers, std::string, std::string>>;

// The periodic security audit of running containers (actors/audit/security_auditor.hpp):
// scan runs one now and answers its number of findings. Internal: sectick (the timer).
using security_auditor_actor =
    caf::typed_actor<caf::replies_to<status_atom>::with<component_status>, caf::replies_to<scan_atom>::with<uint64_t>,
                     caf::reacts_to<sectick_atom>>;

using supervisor_actor =
    caf::typed_actor<caf::replies_to<status_atom>::with<supervisor_status>, caf::replies_to<shutdown_atom>::with<bool>,
                     caf::reacts_to<restart_atom, uint64_t, uint64_t>,  // child index, generation
                     caf::reacts_to<failed_atom, child_failure>>;       // from a nested supervisor

// The node-to-node interface: the one actor each node publishes on cluster.listen (mutual
// TLS only). hello: the handshake above (an error when the settings differ). forward: a
// batch for a namespace this node owns. wake: rows wait in the outbox of a bot whose
// sender runs here.
using cluster_peer_actor =
    caf::typed_actor<caf::replies_to<hello_atom, cluster_hello>::with<cluster_hello>,
                     caf::replies_to<forward_atom, cluster_forward>::with<cluster_forward_ack>,
                     caf::reacts_to<wake_atom, std::string>, caf::reacts_to<output_atom, cluster_local_reply>,
                     caf::reacts_to<reload_atom>>;  // another node changed the admin tables

// The local cluster actor ("cluster" in the registry): membership and leases in the
// database, connections to the peers. forward: a batch for a namespace this node does not
// own (the namespace manager hands it over); wake: rows for a bot (the outbox); status:
// the members and what each owns. Internal: tick (its timer).
using cluster_actor =
    component_actor::extend<caf::reacts_to<forward_atom, routed_batch>, caf::reacts_to<wake_atom, std::string>,
                            caf::reacts_to<output_atom, cluster_local_reply>,
                            caf::reacts_to<hello_atom, cluster_hello>,  // a peer dialled us (from our peer)
                            caf::reacts_to<reload_atom>,  // this node changed the admin tables: tell the others
                            caf::reacts_to<yield_atom, std::string, int64_t>,  // a bot stopped here: release it
                            caf::replies_to<caf::get_atom>::with<cluster_status>, caf::reacts_to<tick_atom>>;

// Registers every message type above (and the storage types) with CAF.
void add_message_types(caf::actor_system_config& cfg);

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ingest_callback)

// The payloads of the lower layers: their inspect overloads live here, in their own
// namespaces (found by ADL), so that the domain types stay free of CAF.
namespace sb {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Error& x) {
  return f(caf::meta::type_name("error"), x.code, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AuditRecord& x) {
  return f(caf::meta::type_name("audit_record"), x.actor, x.event, x.subject, x.detail);
}
}  // namespace sb

namespace sb::container {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RunOutput& x) {
  return f(caf::meta::type_name("run_output"), x.run_id, x.text, x.in_reply_to, x.chat_jid, x.turn_failed, x.error,
           x.retryable, x.progress);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RunTransition& x) {
  return f(caf::meta::type_name("run_transition"), x.run_id, x.from, x.to, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RunResult& x) {
  return f(caf::meta::type_name("run_result"), x.run_id, x.final_state, x.exit_code, x.oom_killed, x.reason, x.detail,
           x.restarts);
}
}  // namespace sb::container

namespace sb::schedule {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ScheduledRunResult& x) {
  return f(caf::meta::type_name("scheduled_run_result"), x.task_id, x.run_id, x.status, x.result, x.error);
}
}  // namespace sb::schedule

namespace sb::messaging {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StoredMessage& x) {
  return f(caf::meta::type_name("stored_message"), x.id, x.channel, x.bot, x.chat_jid, x.sender_id, x.sender_name,
           x.text, x.reply_ref, x.message_ref, x.platform_message_id, x.timestamp_ms, x.is_group, x.mentions_bot,
           x.turn_last_id);
}
}  // namespace sb::messaging

namespace sb::storage {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SqlParam& x) {
  return f(caf::meta::type_name("sql_param"), x.kind, x.i, x.d, x.s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Fence& x) {
  return f(caf::meta::type_name("fence"), x.resource, x.holder, x.epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WriteOp& x) {
  return f(caf::meta::type_name("write_op"), x.sql, x.params, x.fence);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WriteOutcome& x) {
  return f(caf::meta::type_name("write_outcome"), x.ok, x.returned_ids, x.changes, x.error_code, x.error_message);
}
}  // namespace sb::storage
