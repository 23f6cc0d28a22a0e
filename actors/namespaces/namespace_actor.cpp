#include "actors/namespaces/namespace_actor.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

#include "actors/channels/channel_sender.hpp"
#include "actors/namespaces/scheduled_runs.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/local/local_chat_hub.hpp"
#include "runtime/core/backoff.hpp"
#include "runtime/core/log.hpp"
#include "runtime/namespaces/namespace_runner.hpp"
#include "storage/error_codes.hpp"
#include "storage/inbound_store.hpp"
#include "storage/namespace_rows.hpp"
#include "storage/routing_rows.hpp"

namespace sb::actors {
namespace {

namespace fx = namespaces::effect;

struct namespace_state {
  NamespaceActorOptions opts;
  std::optional<storage::Database> db;                     // read-only
  namespaces::NamespaceRunner runner;                      // every decision; this actor carries out its effects
  std::map<std::string, container_supervisor_actor> runs;  // by run id: the message and the scheduled container
  ScheduledRuns tasks;  // answers every run once, also when this actor ends (in step with the runner's)
  // Replies handed to the outbox and not yet durably stored there. A turn is marked done
  // only when none is left (M3 of the 2026-12 audit): its RecordTurn waits here until then.
  size_t pending_replies = 0;
  std::vector<namespaces::effect::RecordTurn> waiting_turns;
  // Durable writes that failed (a full disk, a held lock, the outbox restarting): retried
  // with backoff (flush_atom) rather than given up, because giving up means a replay, and
  // a replayed turn may be batched differently and answer its messages a second time.
  std::vector<outbound_message> unstored_replies;
  std::vector<namespaces::effect::RecordTurn> unrecorded_turns;
  // Turn boundaries (MarkTurnStarted) not yet committed, and the replies that wait for
  // them: a reply stored before its turn's boundary could, after a crash, be answered
  // again by a replayed turn batched differently (so with another idempotency key).
  size_t pending_boundaries = 0;
  std::vector<outbound_message> held_replies;
  std::vector<namespaces::effect::MarkTurnStarted> unmarked_turns;
  int write_failures = 0;
  bool flush_queued = false;
  static inline const char* name = "namespace";
};

using self_ptr = namespace_actor::stateful_pointer<namespace_state>;

void reload_table(self_ptr self) {
  auto& st = self->state;
  if (!st.db) return;
  auto rows = storage::load_routing_rows(*st.db);
  if (!rows) {
    log::warn("namespace.reload_failed", {{"namespace", st.opts.name}, {"error", rows.error().message}});
    return;
  }
  auto table = routing::RoutingTable::build(*rows, st.opts.assistant_name);
  if (!table) {
    log::warn("namespace.reload_failed", {{"namespace", st.opts.name}, {"error", table.error().message}});
    return;
  }
  st.runner.set_table(std::move(*table));
  if (auto rec = storage::read_namespace(*st.db, st.opts.id); rec && *rec) {
    st.opts.is_main = (*rec)->is_main;
    st.opts.container = (*rec)->container;
  }
}

void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (st.flush_queued) return;
  st.flush_queued = true;
  self->delayed_send(self, backoff_delay(std::chrono::milliseconds(200), st.write_failures++, std::chrono::seconds(5)),
                     flush_atom::value);
}

// Another node holds a newer lease on the namespace: the database refused our write. The
// actor ends (its container with it); the new owner replays what no turn finished.
void fenced(self_ptr self) {
  log::warn("namespace.fenced", {{"namespace", self->state.opts.name},
                                 {"epoch", self->state.opts.fence.epoch},
                                 {"why", "another node owns the namespace now"}});
  self->quit(caf::exit_reason::user_shutdown);
}

// Cluster mode: a local chat may wait on another node (the one its request came to): the
// cluster actor hands every local reply to the other nodes' hubs too.
void share_local(self_ptr self, cluster_local_reply reply) {
  if (self->state.opts.fence.empty()) return;
  if (auto cluster = lookup<cluster_actor>(self->system(), "cluster"))
    caf::anon_send(cluster, output_atom::value, std::move(reply));
}

// Marks the turn's rows done and moves the cursor; retried until it commits (both updates
// are idempotent), so that a transient failure never turns into a replay.
void record_turn(self_ptr self, const fx::RecordTurn& e) {
  auto& st = self->state;
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    st.unrecorded_turns.push_back(e);
    return schedule_flush(self);
  }
  const auto& id = st.opts.id;
  auto failed = std::make_shared<bool>(false);
  auto retry_once = [self, e, failed](const std::string& why) {
    if (std::exchange(*failed, true)) return;
    log::warn("namespace.write_failed", {{"namespace", self->state.opts.name}, {"error", why}, {"retry", true}});
    self->state.unrecorded_turns.push_back(e);
    schedule_flush(self);
  };
  for (auto op : {storage::mark_inbound(e.ids, id, e.drop_reason), storage::upsert_cursor(id, e.cursor)}) {
    op.fence = st.opts.fence;
    self->request(writer, std::chrono::seconds(30), write_atom::value, std::move(op))
        .then(
            [self, retry_once](const storage::WriteOutcome& out) {
              if (out.error_code == storage::kFenced) return fenced(self);
              if (!out.ok) retry_once(out.error_message);
            },
            [self, retry_once](caf::error& err) { retry_once(self->system().render(err)); });
  }
}

void send_reply(self_ptr self, outbound_message message);

// Stores a turn's boundary; retried until it commits (idempotent). The replies held
// meanwhile go to the outbox once no boundary is pending.
void write_boundary(self_ptr self, const fx::MarkTurnStarted& e) {
  auto& st = self->state;
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    st.unmarked_turns.push_back(e);
    return schedule_flush(self);
  }
  auto retry = [self, e](const std::string& why) {
    log::warn("namespace.write_failed", {{"namespace", self->state.opts.name}, {"error", why}, {"retry", true}});
    self->state.unmarked_turns.push_back(e);
    schedule_flush(self);
  };
  auto op = storage::mark_turn_started(e.ids, e.last_id);
  op.fence = st.opts.fence;
  self->request(writer, std::chrono::seconds(30), write_atom::value, std::move(op))
      .then(
          [self, retry](const storage::WriteOutcome& out) {
            if (out.error_code == storage::kFenced) return fenced(self);
            if (!out.ok) return retry(out.error_message);
            auto& st = self->state;
            if (st.pending_boundaries > 0 && --st.pending_boundaries > 0) return;
            auto held = std::move(st.held_replies);
            st.held_replies.clear();
            for (auto& m : held) send_reply(self, std::move(m));
          },
          [self, retry](caf::error& err) { retry(self->system().render(err)); });
}

void reply_stored(self_ptr self) {
  auto& st = self->state;
  if (st.pending_replies > 0) --st.pending_replies;
  if (st.pending_replies > 0) return;
  st.write_failures = 0;
  auto turns = std::move(st.waiting_turns);
  st.waiting_turns.clear();
  for (const auto& turn : turns) record_turn(self, turn);
}

// Hands one reply to the outbox. Until it is durably stored its turn is not marked done
// (M3 of the 2026-12 audit); a failure to store it (outbox or storage down, a full disk,
// a timeout) is retried with the same idempotency key, so it is stored once.
void send_reply(self_ptr self, outbound_message message) {
  auto& st = self->state;
  auto outbox = lookup<outbox_actor>(self->system(), "outbox");
  if (!outbox) {
    st.unstored_replies.push_back(std::move(message));
    return schedule_flush(self);
  }
  const std::string name = st.opts.name;
  auto retry = [self, message](const std::string& why) {
    log::warn("namespace.reply_not_stored",
              {{"namespace", self->state.opts.name}, {"chat", message.chat_jid}, {"error", why}, {"retry", true}});
    self->state.unstored_replies.push_back(message);
    schedule_flush(self);
  };
  self->request(outbox, std::chrono::seconds(30), enqueue_atom::value, message)
      .then(
          [self, name, retry, jid = message.chat_jid](const enqueue_result& r) {
            if (r.error.code == storage::kFenced) return fenced(self);
            if (r.error.code == "outbox.storage") return retry(r.error.message);
            // Refused for good (an unknown bot, a text no platform takes): a replay would
            // be refused the same way, so the turn still counts as answered.
            if (!r.error.code.empty())
              log::warn("namespace.enqueue_failed",
                        {{"namespace", name}, {"chat", jid}, {"code", r.error.code}, {"error", r.error.message}});
            reply_stored(self);
          },
          [self, retry](caf::error& err) { retry(self->system().render(err)); });
}

void enqueue(self_ptr self, fx::SendText& e) {
  auto& st = self->state;
  ++st.pending_replies;
  outbound_message message{
      std::move(e.bot), std::move(e.jid), std::move(e.text), std::move(e.reply_to), std::move(e.idempotency_key),
      st.opts.fence};
  if (st.pending_boundaries > 0)
    st.held_replies.push_back(std::move(message));
  else
    send_reply(self, std::move(message));
}

void flush_writes(self_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  auto replies = std::move(st.unstored_replies);
  st.unstored_replies.clear();
  auto turns = std::move(st.unrecorded_turns);
  st.unrecorded_turns.clear();
  auto boundaries = std::move(st.unmarked_turns);
  st.unmarked_turns.clear();
  for (const auto& b : boundaries) write_boundary(self, b);
  for (auto& m : replies) send_reply(self, std::move(m));
  for (const auto& t : turns) record_turn(self, t);
}

NamespaceRunRequest run_request(self_ptr self, std::string run_id) {
  const auto& o = self->state.opts;
  NamespaceRunRequest req;
  req.namespace_id = o.id;
  req.namespace_name = o.name;
  req.is_main = o.is_main;
  req.container = o.container;
  req.run_id = std::move(run_id);
  return req;
}

// Supervises a built run (linked: the container never outlives its namespace actor).
void supervise(self_ptr self, const std::string& run_id, ContainerRunOptions run) {
  run.listener = caf::actor_cast<run_listener_actor>(self);
  run.fence = self->state.opts.fence;
  auto handle = spawn_container_supervisor(self->system(), std::move(run));
  self->link_to(handle);
  self->state.runs[run_id] = handle;
}

void apply(self_ptr self, namespaces::Effects effects);

void start(self_ptr self, const fx::StartRun& e) {
  auto run = self->state.opts.services->make_run(run_request(self, e.run_id));
  if (!run) return apply(self, self->state.runner.start_failed(run.error().message));
  const std::string run_id = run->run_id;
  supervise(self, run_id, std::move(*run));
  apply(self, self->state.runner.run_started(run_id));
}

void start(self_ptr self, const fx::StartTaskRun& e) {
  auto& st = self->state;
  (void)st.tasks.start_next();
  auto req = run_request(self, e.run_id);
  req.kind = container::RunKind::scheduled;
  req.image = e.image;
  req.isolated_session = e.isolated_session;
  req.hard_timeout = e.hard_timeout;
  auto run = st.opts.services->make_run(req);
  if (!run) return apply(self, st.runner.task_start_failed(run.error().message));
  const std::string session_dir = run->mounts.session_dir;
  supervise(self, e.run_id, std::move(*run));
  apply(self, st.runner.task_started(session_dir));
}

template <class Atom>
void send_run(self_ptr self, const std::string& run_id, Atom atom) {
  if (auto it = self->state.runs.find(run_id); it != self->state.runs.end()) self->send(it->second, atom);
}

// Carries out the runner's effects in order (a start's own effects come in its place).
void apply(self_ptr self, namespaces::Effects effects) {
  auto& st = self->state;
  const auto& id = st.opts.id;
  for (auto& effect : effects) {
    std::visit(
        [&](auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, fx::AskSlot>) {
            if (e.scheduled)
              self->send(st.opts.manager, acquire_atom::value, id, true);
            else
              self->send(st.opts.manager, acquire_atom::value, id);
          } else if constexpr (std::is_same_v<E, fx::ReleaseSlot>) {
            self->send(st.opts.manager, release_atom::value, id);
          } else if constexpr (std::is_same_v<E, fx::MarkBusy>) {
            self->send(st.opts.manager, busy_atom::value, id);
          } else if constexpr (std::is_same_v<E, fx::MarkIdle>) {
            self->send(st.opts.manager, idle_atom::value, id);
          } else if constexpr (std::is_same_v<E, fx::StartRun> || std::is_same_v<E, fx::StartTaskRun>) {
            start(self, e);
          } else if constexpr (std::is_same_v<E, fx::Deliver>) {
            if (auto it = st.runs.find(e.run_id); it != st.runs.end())
              self->send(it->second, deliver_atom::value, std::move(e.input_id), std::move(e.text));
          } else if constexpr (std::is_same_v<E, fx::CloseRun>) {
            send_run(self, e.run_id, close_atom::value);
          } else if constexpr (std::is_same_v<E, fx::StopRun>) {
            send_run(self, e.run_id, stop_atom::value);
          } else if constexpr (std::is_same_v<E, fx::ForgetRun>) {
            if (auto it = st.runs.find(e.run_id); it != st.runs.end()) {
              self->unlink_from(it->second);
              st.runs.erase(it);
            }
          } else if constexpr (std::is_same_v<E, fx::SendText>) {
            enqueue(self, e);
          } else if constexpr (std::is_same_v<E, fx::LocalReply>) {
            share_local(self, {e.jid, e.first_id, e.last_id, e.text, "", false});
            if (st.opts.local_chat) st.opts.local_chat->add_reply(e.jid, e.first_id, e.last_id, std::move(e.text));
          } else if constexpr (std::is_same_v<E, fx::FinishLocalTurn>) {
            share_local(self, {e.jid, e.first_id, e.last_id, "", e.error, true});
            if (st.opts.local_chat) st.opts.local_chat->finish_turn(e.jid, e.first_id, e.last_id, std::move(e.error));
          } else if constexpr (std::is_same_v<E, fx::SendTyping>) {
            send_typing(self->system(), e.bot, e.jid, e.message_id);
          } else if constexpr (std::is_same_v<E, fx::ScheduleRetry>) {
            self->delayed_send(self, e.delay, retry_atom::value, e.token);
          } else if constexpr (std::is_same_v<E, fx::ScheduleTyping>) {
            self->delayed_send(self, e.delay, typing_atom::value, e.token);
          } else if constexpr (std::is_same_v<E, fx::MarkTurnStarted>) {
            ++st.pending_boundaries;
            write_boundary(self, e);
          } else if constexpr (std::is_same_v<E, fx::RecordTurn>) {
            if (st.pending_replies == 0)
              record_turn(self, e);
            else
              st.waiting_turns.push_back(std::move(e));
          } else if constexpr (std::is_same_v<E, fx::AnswerTask>) {
            if (!e.remove_dir.empty()) {
              std::error_code ec;
              std::filesystem::remove_all(e.remove_dir, ec);
            }
            st.tasks.finish(e.status, std::move(e.result), std::move(e.error));
          } else if constexpr (std::is_same_v<E, fx::RejectTask>) {
            (void)st.tasks.start_next();
            st.tasks.finish(schedule::RunStatus::error, "", std::move(e.error));
          } else {
            static_assert(!sizeof(E), "an effect without a handler");
          }
        },
        effect);
  }
}

namespaces::NamespaceRunnerOptions runner_options(self_ptr self) {
  const auto& o = self->state.opts;
  namespaces::NamespaceRunnerOptions r;
  r.id = o.id;
  r.name = o.name;
  r.start_cursor = o.start_cursor;
  r.any_order = !o.fence.empty();
  r.max_batch = o.max_batch;
  r.start_retry = o.start_retry;
  r.max_turn_attempts = o.max_turn_attempts;
  r.ready = o.ready;
  r.can_make_runs = [services = o.services] { return services && services->make_run; };
  r.bots = bot_choices(o.bots);
  r.stored_bot = [self](const std::string& jid) -> std::optional<std::string> {
    auto& db = self->state.db;
    if (!db) return std::nullopt;
    if (auto b = storage::read_latest_bot(*db, jid)) return std::move(*b);
    return std::nullopt;
  };
  r.metrics = o.metrics;
  return r;
}

namespace_actor::behavior_type namespace_fn(self_ptr self, NamespaceActorOptions opts) {
  log_exceptions(self, "namespace");
  auto& st = self->state;
  st.opts = std::move(opts);
  st.runner = namespaces::NamespaceRunner(runner_options(self));
  if (!st.opts.db_path.empty()) {
    storage::OpenOptions ro;
    ro.read_only = true;
    if (auto db = storage::Database::open(st.opts.db_path, ro))
      st.db.emplace(std::move(*db));
    else
      log::warn("namespace.db_unavailable", {{"namespace", st.opts.name}, {"error", db.error().message}});
  }
  reload_table(self);
  return {
      [=](route_atom, routed_message& m) { apply(self, self->state.runner.route(std::move(m.message))); },
      [=](route_atom, routed_batch& b) { apply(self, self->state.runner.route(std::move(b.messages))); },
      [=](task_atom, scheduled_run& run) {
        // Accepted (the manager learns of a dead actor from the failed request instead).
        schedule::ScheduledRun copy = run;
        self->state.tasks.push(std::move(run));
        apply(self, self->state.runner.push_task(std::move(copy)));
        return true;
      },
      [=](granted_atom) { apply(self, self->state.runner.granted()); },
      [=](stop_atom) { apply(self, self->state.runner.stop()); },
      [=](ready_atom) { apply(self, self->state.runner.ready()); },
      [=](reload_atom) { reload_table(self); },
      [=](flush_atom) { flush_writes(self); },
      [=](retry_atom, uint64_t token) { apply(self, self->state.runner.retry_due(token)); },
      [=](typing_atom, uint64_t token) { apply(self, self->state.runner.typing_due(token)); },
      [=](output_atom, const container::RunOutput& out) { apply(self, self->state.runner.output(out)); },
      [=](state_atom, const container::RunTransition& t) { apply(self, self->state.runner.transition(t)); },
      [=](done_atom, const container::RunResult& r) { apply(self, self->state.runner.done(r)); },
      [=](status_atom) {
        auto s = self->state.runner.status();
        return component_status{self->state.opts.name, std::move(s.state), std::move(s.detail)};
      },
  };
}

}  // namespace

std::vector<namespaces::BotChoice> bot_choices(const std::vector<std::shared_ptr<const channels::ChannelBot>>& bots) {
  std::vector<namespaces::BotChoice> out;
  out.reserve(bots.size());
  for (const auto& b : bots) out.push_back({b->id(), b->kind(), b->can_send()});
  return out;
}

namespace_actor spawn_namespace_actor(caf::actor_system& system, NamespaceActorOptions options) {
  return system.spawn(namespace_fn, std::move(options));
}

}  // namespace sb::actors
