#pragma once
// The typed protocol between squadbox actors: atoms, message structs (each with an
// `inspect` overload so CAF can copy and serialise it), and one caf::typed_actor
// interface per actor kind. Every node of a cluster must register the same types
// under the same names: add_message_types() is the single place that does it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "runtime/messaging/stored_message.hpp"
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

// What any supervised component reports about itself.
struct component_status {
  std::string name;
  std::string state;   // "running", "degraded", ...
  std::string detail;  // human-readable, no secrets
};

// One child as its supervisor sees it.
struct child_status {
  std::string name;
  std::string state;  // "running", "backoff", "dead", "stopped"
  uint32_t restarts = 0;        // total since the supervisor started
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

// One security-relevant event for the tamper-evident audit log.
struct audit_event {
  std::string actor;    // who did it (component, operator, namespace)
  std::string event;    // what ("node.start", "container.create", ...)
  std::string subject;  // on what
  std::string detail;   // JSON text, no secrets
};

struct audit_receipt {
  int64_t seq = 0;
  std::string hash_hex;
};

// One thing the agent said, forwarded from the run's IPC directory.
struct run_output {
  std::string run_id;
  std::string text;
  std::string in_reply_to;  // input id, "" if unsolicited
  std::string chat_jid;     // "" = the chat the input came from
  std::string error;        // non-empty: the turn for in_reply_to failed (text is "")
};

// A lifecycle transition of a container run.
struct run_transition {
  std::string run_id;
  std::string from;
  std::string to;
  std::string reason;
};

// How a run ended (sent once, when the run reaches exited or dead).
struct run_result {
  std::string run_id;
  std::string final_state;  // "exited" | "dead"
  int32_t exit_code = 0;
  bool oom_killed = false;
  std::string reason;       // "", "hard_timeout", "idle_timeout", "oom_killed", error text
  uint32_t restarts = 0;
};

// Internal: what the IPC watcher thread hands to its run's supervisor.
struct ipc_event {
  std::string kind;  // "message", "turn_done", "task"
  std::string text;
  std::string in_reply_to;
  std::string chat_jid;
  bool ok = true;
  std::string error;
};

// Internal: a container exited (from the waiter thread).
struct exit_info {
  uint64_t generation = 0;
  int32_t exit_code = 0;
  bool oom_killed = false;
  int32_t signal = 0;
  std::string error;  // wait itself failed
};


// What the ingest actor did with a batch: every message is either stored or a duplicate
// when `error` is empty; otherwise nothing can be assumed stored (the platform retries).
struct ingest_result {
  uint32_t stored = 0;
  uint32_t duplicates = 0;
  std::string error;
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
};

struct enqueue_result {
  std::vector<int64_t> outbox_ids;  // one per piece, in sending order
  std::string error;                // non-empty: nothing was enqueued
};

// A stored inbound message the router decided goes to a namespace (squad group).
struct routed_message {
  std::string namespace_id;    // UUID
  std::string namespace_name;
  messaging::StoredMessage message;     // message.id > 0
};

// Routed messages of one namespace, oldest first: what the router decided while its
// mailbox was busy goes on as one message per namespace (one hop per batch, not per message).
struct routed_batch {
  std::string namespace_id;
  std::string namespace_name;
  std::vector<messaging::StoredMessage> messages;  // each id > 0, increasing
};

// One run of a scheduled task, started by the scheduler (the run-log row exists) and
// carried out by the task's namespace as a "scheduled container": one input (the
// prompt), the agent's messages are the result. The namespace answers reply_to with
// (done_atom, scheduled_run_result) exactly once, whatever happens to the run.
struct scheduled_run {
  std::string task_id;
  int64_t run_id = 0;  // task_runs.id
  int64_t attempt = 1;
  std::string namespace_id;
  std::string namespace_name;
  std::string prompt;
  std::string context_mode = "isolated";  // "group": the group's session; "isolated": a fresh one
  std::string image;                      // "" = the namespace's agent image
  int64_t timeout_secs = 300;             // 0 = no limit; the container is killed at the limit
  std::string announce_jid;               // "" = the result is not sent to any chat
  caf::actor reply_to;
};

struct scheduled_run_result {
  std::string task_id;
  int64_t run_id = 0;
  std::string status = "success";  // "success" | "error" | "timeout"
  std::string result;              // what the agent said, in order, joined by newlines
  std::string error;               // why it failed ("" on success)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduled_run& x) {
  return f(caf::meta::type_name("scheduled_run"), x.task_id, x.run_id, x.attempt, x.namespace_id,
           x.namespace_name, x.prompt, x.context_mode, x.image, x.timeout_secs, x.announce_jid, x.reply_to);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduled_run_result& x) {
  return f(caf::meta::type_name("scheduled_run_result"), x.task_id, x.run_id, x.status, x.result, x.error);
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
  return f(caf::meta::type_name("outbound_message"), x.bot_id, x.chat_jid, x.text, x.reply_to,
           x.idempotency_key);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, enqueue_result& x) {
  return f(caf::meta::type_name("enqueue_result"), x.outbox_ids, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_output& x) {
  return f(caf::meta::type_name("run_output"), x.run_id, x.text, x.in_reply_to, x.chat_jid, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_transition& x) {
  return f(caf::meta::type_name("run_transition"), x.run_id, x.from, x.to, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_result& x) {
  return f(caf::meta::type_name("run_result"), x.run_id, x.final_state, x.exit_code, x.oom_killed,
           x.reason, x.restarts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ipc_event& x) {
  return f(caf::meta::type_name("ipc_event"), x.kind, x.text, x.in_reply_to, x.chat_jid, x.ok, x.error);
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
typename Inspector::result_type inspect(Inspector& f, audit_event& x) {
  return f(caf::meta::type_name("audit_event"), x.actor, x.event, x.subject, x.detail);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_receipt& x) {
  return f(caf::meta::type_name("audit_receipt"), x.seq, x.hash_hex);
}

// -- interfaces ---------------------------------------------------------------

// Every supervised child answers status and shutdown. Shutdown is an ordinary
// (FIFO) request, so everything queued before it is handled first: that is how
// in-flight work drains on SIGTERM.
using component_actor = caf::typed_actor<
    caf::replies_to<status_atom>::with<component_status>,
    caf::replies_to<shutdown_atom>::with<bool>>;

// Single writer of the SQLite database; replies once the write is durable.
using storage_writer_actor = component_actor::extend<
    caf::replies_to<write_atom, storage::WriteOp>::with<storage::WriteOutcome>,
    caf::reacts_to<commit_atom>>;

// Appends hash-chained audit records (through the storage writer).
using audit_log_actor = component_actor::extend<
    caf::replies_to<append_atom, audit_event>::with<audit_receipt>>;

// Local only (never crosses nodes): how a non-actor caller (the webhook listener's I/O
// threads) learns the fate of a batch without spawning an actor or arming a timer per
// request. Called exactly once, from an actor thread.
using ingest_callback = std::shared_ptr<std::function<void(const ingest_result&)>>;

// Durable intake of platform messages ("ingest" in the registry): stores a batch
// (group commit, deduplicated per (channel, bot, platform id)), replies once it is on
// disk, then hands each newly stored message to the router. Webhooks and pollers use it.
// The callback form answers `ingest_result{error = "ack timeout"}` when the batch is not
// durable within the ingest's ack_timeout (the platform retries; dedupe makes it safe).
using ingest_actor = component_actor::extend<
    caf::replies_to<ingest_atom, std::vector<messaging::StoredMessage>>::with<ingest_result>,
    caf::reacts_to<ingest_atom, std::vector<messaging::StoredMessage>, ingest_callback>>;

// Receives every stored inbound message exactly once ("router" in the registry).
using router_actor = component_actor::extend<caf::reacts_to<route_atom, messaging::StoredMessage>>;

// The persistent outbox ("outbox" in the registry): splits, stores, wakes the bot's
// sender. Replies once the rows are durable.
using outbox_actor = component_actor::extend<
    caf::replies_to<enqueue_atom, outbound_message>::with<enqueue_result>>;

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
using namespace_manager_actor = component_actor::extend<
    caf::reacts_to<route_atom, routed_message>,
    caf::reacts_to<route_atom, routed_batch>,
    caf::reacts_to<task_atom, scheduled_run>,
    caf::reacts_to<reload_atom>,
    caf::reacts_to<ready_atom>,
    caf::reacts_to<acquire_atom, std::string>,
    caf::reacts_to<acquire_atom, std::string, bool>,  // bool: scheduled (a task run: may pre-empt idle containers)
    caf::reacts_to<release_atom, std::string>,
    caf::reacts_to<idle_atom, std::string>,
    caf::reacts_to<busy_atom, std::string>>;

// The scheduler ("scheduler" in the registry): one pending timer for the earliest due
// task. reload_atom: the task store changed (re-read what is planned, re-arm).
// (done_atom, scheduled_run_result): a run it started ended. tick_atom: its own timer
// (the generation tells a stale timer from the current one).
using scheduler_actor = component_actor::extend<
    caf::reacts_to<reload_atom>,
    caf::reacts_to<done_atom, scheduled_run_result>,
    caf::reacts_to<tick_atom, uint64_t>>;

using supervisor_actor = caf::typed_actor<
    caf::replies_to<status_atom>::with<supervisor_status>,
    caf::replies_to<shutdown_atom>::with<bool>,
    caf::reacts_to<restart_atom, uint64_t, uint64_t>,  // child index, generation
    caf::reacts_to<failed_atom, child_failure>>;       // from a nested supervisor

// Registers every message type above (and the storage types) with CAF.
void add_message_types(caf::actor_system_config& cfg);

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ingest_callback)

namespace sb::messaging {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StoredMessage& x) {
  return f(caf::meta::type_name("stored_message"), x.id, x.channel, x.bot, x.chat_jid, x.sender_id, x.sender_name,
           x.text, x.reply_ref, x.message_ref, x.platform_message_id, x.timestamp_ms, x.is_group, x.mentions_bot);
}
}  // namespace sb::messaging

namespace sb::storage {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SqlParam& x) {
  return f(caf::meta::type_name("sql_param"), x.kind, x.i, x.d, x.s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WriteOp& x) {
  return f(caf::meta::type_name("write_op"), x.sql, x.params);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WriteOutcome& x) {
  return f(caf::meta::type_name("write_outcome"), x.ok, x.last_rowid, x.changes, x.error_code,
           x.error_message);
}
}  // namespace sb::storage
