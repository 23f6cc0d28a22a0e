#include "actors/containers/container_supervisor.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <random>
#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/containers/ipc_task_desk.hpp"
#include "actors/supervision/supervisor.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/lifecycle.hpp"
#include "runtime/container/validation.hpp"
#include "runtime/core/agent_contract.hpp"
#include "runtime/core/event_throttle.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/throttled_audit_sink.hpp"
#include "runtime/core/time.hpp"
#include "runtime/ipc/ipc_directory.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/ipc/ipc_watcher.hpp"
#include "runtime/proxy/credential_proxy.hpp"
#include "runtime/proxy/lease_env.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "storage/container_run_store.hpp"
#include "storage/error_codes.hpp"

namespace sb::actors {
namespace {

using container::EndReason;
using container::RunEvent;
using container::RunState;
using std::chrono::milliseconds;

// Joins on destruction; the thread must end by itself (its loop checks `stop`).
struct JoiningThread {
  std::thread thread;
  JoiningThread() = default;
  JoiningThread(JoiningThread&&) = default;
  JoiningThread& operator=(JoiningThread&& other) {
    if (thread.joinable()) thread.join();
    thread = std::move(other.thread);
    return *this;
  }
  ~JoiningThread() {
    if (thread.joinable()) thread.join();
  }
};

struct Input {
  std::string id;
  std::string text;
};

// Removes the run directory when the actor's state is destroyed: declared first in
// run_state, so it goes last, once the IPC and waiter threads are joined.
struct RunDirRemover {
  std::string path;
  bool armed = false;
  RunDirRemover() = default;
  RunDirRemover(const RunDirRemover&) = delete;
  RunDirRemover& operator=(const RunDirRemover&) = delete;
  ~RunDirRemover() {
    if (!armed || path.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) log::warn("container.run_dir_not_removed", {{"path", path}, {"error", ec.message()}});
  }
};

struct run_state {
  RunDirRemover run_dir_remover;
  ContainerRunOptions opts;
  RunState state = RunState::pending;
  std::optional<ipc::IpcDirectory> ipc;
  std::string container_id;
  uint64_t generation = 0;       // bumps per container attempt
  uint64_t idle_generation = 0;  // bumps on every output (idle timer)
  std::deque<Input> unfinished;  // delivered, no turn_done yet (re-delivered on restart)
  RestartTracker tracker{RestartPolicy{}};
  uint32_t restarts = 0;
  container::EndReason stop_reason = container::EndReason::stopped;
  container::RunResult result;
  std::shared_ptr<std::atomic<bool>> ipc_stop = std::make_shared<std::atomic<bool>>(false);
  // Set on each input: the IPC thread re-writes current_tasks.json (the actor never
  // waits on the task store).
  std::shared_ptr<std::atomic<bool>> snapshot_stale = std::make_shared<std::atomic<bool>>(true);
  JoiningThread ipc_thread;
  JoiningThread waiter;
  std::mt19937_64 rng{std::random_device{}()};
  std::unique_ptr<proxy::ProxyLease> lease;  // this container start's credential proxy access
  std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();  // hard timer's start
  // The run's own row, while its insert has not been confirmed: re-sent before the next
  // write, whose rows (transitions, state) need it (a database that was away at the start).
  std::optional<storage::WriteOp> run_row_unconfirmed;
  bool last_exit_unclean = false;  // the last container was killed or exited non-zero
  static inline const char* name = "container_supervisor";
};

using self_ptr = container_supervisor_actor::stateful_pointer<run_state>;

metrics::Registry* registry(self_ptr self) {
  return self->state.opts.metrics;
}

void persist_run_row(self_ptr self, storage::WriteOp op);

void persist(self_ptr self, storage::WriteOp op) {
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) return;  // cowork runs without a node database
  // The writer takes one sender's requests in order: the run's row lands first.
  if (auto row = std::exchange(self->state.run_row_unconfirmed, std::nullopt)) persist_run_row(self, std::move(*row));
  op.fence = self->state.opts.fence;
  self->request(writer, std::chrono::seconds(30), write_atom::value, std::move(op))
      .then(
          [](const storage::WriteOutcome& out) {
            if (!out.ok) log::warn("container.persist_failed", {{"error", out.error_message}});
          },
          [](caf::error&) {});
}

// The insert of the run's own row. Not stored (the database was away): kept, and sent
// again before the next write. A constraint violation means an earlier attempt did commit.
void persist_run_row(self_ptr self, storage::WriteOp op) {
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) return;
  op.fence = self->state.opts.fence;
  self->request(writer, std::chrono::seconds(30), write_atom::value, op)
      .then(
          [self, op](const storage::WriteOutcome& out) {
            // Fenced: another node owns the namespace now; this run's rows are not ours to write.
            if (out.ok || out.error_code == storage::kConstraintViolation || out.error_code == storage::kFenced) return;
            log::warn("container.persist_failed", {{"error", out.error_message}, {"retry", "true"}});
            if (!self->state.run_row_unconfirmed) self->state.run_row_unconfirmed = op;
          },
          [self, op](caf::error&) {
            if (!self->state.run_row_unconfirmed) self->state.run_row_unconfirmed = op;
          });
}

// {"namespace","tool","in_reply_to"} for the audit record of a refused tool call.
std::string tool_refused_detail(const std::string& ns, const ipc::ToolRefused& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  str("namespace", ns);
  str("tool", r.tool);
  str("in_reply_to", r.in_reply_to.value_or(""));
  w.EndObject();
  return buf.GetString();
}

// {"namespace","container","from","reason"} for the audit record of a transition.
std::string transition_detail(const std::string& ns, const std::string& container, const std::string& from,
                              const std::string& reason) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  str("namespace", ns);
  str("container", container);
  str("from", from);
  str("reason", reason);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void move_to(self_ptr self, RunEvent ev, const std::string& reason = {}) {
  auto& st = self->state;
  auto next = container::next_state(st.state, ev);
  if (!next) {
    log::debug("container.ignored_event", {{"run", st.opts.run_id},
                                           {"state", std::string(container::to_string(st.state))},
                                           {"event", std::string(container::to_string(ev))}});
    return;
  }
  if (*next == st.state) return;
  const RunState prev = st.state;
  std::string from(container::to_string(st.state)), to(container::to_string(*next));
  st.state = *next;
  log::info("container.transition", {{"run", st.opts.run_id}, {"from", from}, {"to", to}, {"reason", reason}});
  if (auto* m = registry(self)) {
    m->gauge("squadbox_containers", "Container runs by lifecycle state.", {{"state", from}}).add(-1);
    m->gauge("squadbox_containers", "Container runs by lifecycle state.", {{"state", to}}).add(1);
    m->counter("squadbox_container_transitions_total", "Container lifecycle transitions.", {{"to", to}}).inc();
  }
  persist(self, storage::insert_run_transition(st.opts.run_id, from, to, now_ms(), reason));
  persist(self, storage::set_run_state(st.opts.run_id, to, reason));
  if (st.opts.listener)
    caf::anon_send(st.opts.listener, state_atom::value, container::RunTransition{st.opts.run_id, prev, *next, reason});
  if (st.opts.audit)  // every lifecycle step is a security-relevant event (layer 6)
    st.opts.audit(AuditRecord{"container_supervisor", "container." + to, st.opts.run_id,
                              transition_detail(st.opts.namespace_name, st.container_id, from, reason)});
}

void finish(self_ptr self) {
  auto& st = self->state;
  st.run_dir_remover.path = st.opts.run_dir;
  st.run_dir_remover.armed = !st.opts.keep_run_dir;
  st.result.run_id = st.opts.run_id;
  st.result.final_state = st.state;
  st.result.restarts = st.restarts;
  st.ipc_stop->store(true);
  st.lease.reset();  // the run is over: its token dies now
  persist(self, storage::set_run_ended(st.opts.run_id, now_ms(), int64_t{st.result.exit_code}));
  if (auto* m = registry(self))
    m->gauge("squadbox_containers", "Container runs by lifecycle state.",
             {{"state", std::string(container::to_string(st.result.final_state))}})
        .add(-1);
  if (st.opts.listener) caf::anon_send(st.opts.listener, done_atom::value, st.result);
  self->quit();
}

// Tells the security audit what this container was approved as (mounts, deadline).
void approve(self_ptr self, const std::string& container_id) {
  auto& st = self->state;
  if (!st.opts.approved) return;
  container::scan::ApprovedContainer a{container_id, st.opts.run_id, st.opts.namespace_name, std::nullopt,
                                       std::nullopt};
  // An adopted container's mounts were approved by the previous broker and not persisted.
  if (container_id != st.opts.adopt_container_id) a.mounts = st.opts.spec.mounts.mounts();
  if (st.opts.hard_timeout.count() > 0) a.deadline = st.began + st.opts.hard_timeout + st.opts.stop_grace;
  st.opts.approved->approve(std::move(a));
}

void remove_container(self_ptr self) {
  auto& st = self->state;
  if (st.container_id.empty()) return;
  if (st.opts.approved) st.opts.approved->revoke(st.container_id);
  if (auto s = st.opts.runtime->remove(st.container_id, true); !s)
    log::warn("container.remove_failed", {{"run", st.opts.run_id}, {"error", s.error().message}});
  st.container_id.clear();
}

void write_inputs(self_ptr self) {
  auto& st = self->state;
  st.snapshot_stale->store(true);
  for (const auto& in : st.unfinished) {
    if (auto s = st.ipc->write_input(ipc::InputMessage{in.id, in.text, std::nullopt}); !s)
      log::error("container.input_failed", {{"run", st.opts.run_id}, {"error", s.error().message}});
  }
  if (!st.unfinished.empty()) move_to(self, RunEvent::turn_begin);
}

void arm_idle_timer(self_ptr self) {
  auto& st = self->state;
  ++st.idle_generation;
  if (st.opts.idle_timeout.count() > 0)
    self->delayed_send(self, st.opts.idle_timeout, timeout_atom::value, TimeoutKind::idle, st.idle_generation);
}

void start_ipc_thread(self_ptr self) {
  auto& st = self->state;
  ipc::IpcWatcherOptions watch;
  watch.metrics = st.opts.metrics;
  watch.group = st.opts.namespace_name;
  watch.audit = st.opts.audit;
  // Identity comes from the run, never from a payload; denied files never reach `me`.
  auto ownership = st.opts.ownership ? st.opts.ownership : std::make_shared<const ipc::IpcOwnership>();
  watch.authorize = [sender = ipc::IpcIdentity{st.opts.namespace_name, st.opts.main_namespace},
                     ownership](const ipc::Payload& p) { return ipc::authorize(sender, *ownership, p); };
  auto watcher = ipc::IpcWatcher::open(st.ipc->root(), std::move(watch));
  if (!watcher) throw std::runtime_error("ipc watcher: " + watcher.error().message);
  auto me = caf::actor_cast<container_supervisor_actor>(self);
  auto stop = st.ipc_stop;
  TaskDesk desk{st.opts.tasks,           {st.opts.namespace_name, st.opts.main_namespace},
                st.opts.run_id,          st.ipc->root(),
                st.opts.spec.host_uid(), st.opts.spec.host_gid(),
                st.opts.audit,           st.opts.metrics};
  // The agent reports the tool calls it refused (a tool its namespace has not enabled):
  // audited, but a looping model must not flood the log, so per tool and minute the first
  // is written and the rest are summed up in one summary (as for proxy refusals).
  auto refused = std::make_shared<EventThrottle<AuditRecord>>(
      EventThrottle<AuditRecord>::Options{std::chrono::milliseconds(60000), 64});
  auto audit = st.opts.audit;
  auto metrics = st.opts.metrics;
  const std::string ns = st.opts.namespace_name, run_id = st.opts.run_id;
  auto write_summaries = [refused, audit](std::chrono::steady_clock::time_point now) {
    for (auto& s : refused->take_ended(now)) {
      if (!audit) continue;
      s.first.detail = aggregated_detail(s.first.detail, s.suppressed, std::chrono::milliseconds(60000));
      audit(std::move(s.first));
    }
  };
  st.ipc_thread.thread =
      std::thread([w = std::move(*watcher), me, stop, desk = std::move(desk), stale = st.snapshot_stale, refused, audit,
                   metrics, ns, run_id, write_summaries]() mutable {
        while (!stop->load()) {
          write_summaries(std::chrono::steady_clock::now());
          if (stale->exchange(false)) desk.refresh_snapshot();
          bool tasks_changed = false;
          for (auto& d : w.wait_for(milliseconds(100))) {
            ipc_event ev;
            if (auto* m = std::get_if<ipc::OutboundMessage>(&d.payload)) {
              ev = ipc_event{IpcEventKind::message,    m->text, m->in_reply_to.value_or(""),
                             m->chat_jid.value_or(""), true,    ""};
            } else if (auto* t = std::get_if<ipc::TurnDone>(&d.payload)) {
              ev = ipc_event{IpcEventKind::turn_done, "", t->in_reply_to, "", t->ok, t->error, t->retry};
            } else if (schedule::task_action_of(d.payload)) {
              // Applied here: the store is thread-safe, and the actor never waits on it.
              desk.apply(d);
              tasks_changed = true;
              ev.kind = IpcEventKind::activity;  // re-arms the idle timer
            } else if (auto* pr = std::get_if<ipc::Progress>(&d.payload)) {
              ev = ipc_event{IpcEventKind::progress, pr->text, pr->in_reply_to.value_or(""), "", true, "", true};
            } else if (auto* r = std::get_if<ipc::ToolRefused>(&d.payload)) {
              AuditRecord rec{"agent", "agent.tool_refused", run_id, tool_refused_detail(ns, *r)};
              if (refused->offer(r->tool, std::chrono::steady_clock::now(), rec) ==
                      EventThrottle<AuditRecord>::Verdict::record &&
                  audit)
                audit(std::move(rec));
              if (metrics) {
                // The name comes from the model: only the known ones become a label value.
                const bool known =
                    std::find(kAgentToolNames.begin(), kAgentToolNames.end(), r->tool) != kAgentToolNames.end();
                metrics
                    ->counter("squadbox_agent_tools_refused_total",
                              "Tool calls the agent refused (tool not enabled for the namespace).",
                              {{"tool", known ? r->tool : std::string("other")}})
                    .inc();
              }
              log::warn("agent.tool_refused", {{"namespace", ns}, {"run", run_id}, {"tool", r->tool}});
              ev.kind = IpcEventKind::activity;
            } else {
              ev.kind = IpcEventKind::activity;  // register_group: not handled by this host yet
            }
            caf::anon_send(me, ipc_atom::value, std::move(ev));
          }
          if (tasks_changed) desk.refresh_snapshot();
        }
        write_summaries(std::chrono::steady_clock::time_point::max());  // the run ends: close every window
      });
}

void start_waiter(self_ptr self);

void start_container(self_ptr self) {
  auto& st = self->state;
  if (!st.opts.adopt_container_id.empty() && st.generation == 0) {
    // A container of this run survived a restart of the broker: supervise it as is.
    ++st.generation;
    st.container_id = st.opts.adopt_container_id;
    approve(self, st.container_id);
    log::info("container.adopted", {{"run", st.opts.run_id}, {"container", st.container_id}});
    start_waiter(self);
    move_to(self, RunEvent::started, "adopted");
    arm_idle_timer(self);
    return;
  }
  auto spec = st.opts.spec;
  ++st.generation;
  spec.name = st.opts.spec.name + "-" + std::to_string(st.generation);
  spec.labels[container::kLabelInstall] = st.opts.install_id;
  spec.labels[container::kLabelNamespace] = st.opts.namespace_name;
  spec.labels[container::kLabelRun] = st.opts.run_id;
  if (st.opts.proxy) {
    // A fresh placeholder token per container start; the last one died with its container.
    st.lease.reset();
    auto lease =
        st.opts.proxy->open_lease({st.opts.run_id, st.opts.namespace_name,
                                   st.ipc->root() + "/" + proxy::kSocketFileName, spec.host_uid(), spec.host_gid()});
    if (!lease) {
      log::error("container.proxy_lease_failed", {{"run", st.opts.run_id}, {"error", lease.error().message}});
      self->send(self, exited_atom::value, exit_info{st.generation, -1, false, 0, lease.error()});
      return;
    }
    st.lease = std::move(*lease);
    for (const auto& [k, v] : container::EnvPolicy{}.build(st.lease->environment(), {})) spec.env[k] = v;
  }
  if (auto s = container::validate_spec(spec); !s) {
    st.result.reason = EndReason::refused;
    st.result.detail = s.error().message;
    move_to(self, RunEvent::failed, s.error().message);
    move_to(self, RunEvent::give_up, s.error().message);  // invalid input never improves
    finish(self);
    return;
  }
  auto id = st.opts.runtime->create(spec);
  if (!id && (id.error().code.rfind("image.", 0) == 0 || id.error().code.rfind("validation.", 0) == 0)) {
    // A missing image or a refused spec does not get better by retrying.
    log::error("container.create_failed", {{"run", st.opts.run_id}, {"error", id.error().message}});
    st.result.reason = EndReason::refused;
    st.result.detail = id.error().message;
    st.result.exit_code = -1;
    move_to(self, RunEvent::failed, id.error().message);
    move_to(self, RunEvent::give_up, id.error().message);
    finish(self);
    return;
  }
  if (id) approve(self, *id);
  Status started = id ? st.opts.runtime->start(*id) : Status(id.error());
  if (!started) {
    if (id) st.container_id = *id;
    remove_container(self);
    log::error("container.start_failed", {{"run", st.opts.run_id}, {"error", started.error().message}});
    self->send(self, exited_atom::value, exit_info{st.generation, -1, false, 0, started.error()});
    return;
  }
  st.container_id = *id;
  persist(self, storage::set_run_started(st.opts.run_id, now_ms(), st.opts.runtime->backend()));
  start_waiter(self);
  move_to(self, RunEvent::started);
  arm_idle_timer(self);
  write_inputs(self);
}

// Blocks on the runtime's wait for the current container in a thread of its own and
// reports the exit to the actor.
void start_waiter(self_ptr self) {
  auto& st = self->state;
  auto me = caf::actor_cast<container_supervisor_actor>(self);
  auto runtime = st.opts.runtime;
  auto gen = st.generation;
  auto cid = st.container_id;
  st.waiter = JoiningThread{};
  st.waiter.thread = std::thread([runtime, cid, me, gen] {
    // Bounded waits in a loop: a backend's timeout is an int of milliseconds inside.
    auto r = runtime->wait(cid, std::chrono::hours(1));
    while (!r && r.error().code == "container.timeout") r = runtime->wait(cid, std::chrono::hours(1));
    exit_info info{gen, 0, false, 0, {}};
    if (r) {
      info.exit_code = r->exit_code;
      info.oom_killed = r->oom_killed;
      info.signal = r->signal;
    } else {
      info.exit_code = -1;
      info.error = r.error();
    }
    caf::anon_send(me, exited_atom::value, info);
  });
}

void stop_run(self_ptr self, EndReason reason) {
  auto& st = self->state;
  if (container::is_terminal(st.state) || st.state == RunState::stopping) return;
  st.stop_reason = reason;
  bool alive = container::container_alive(st.state);
  move_to(self, RunEvent::stop, std::string(container::to_string(reason)));
  if (!alive) {
    st.result.reason = reason;
    finish(self);
    return;
  }
  if (auto s = st.opts.runtime->kill(st.container_id, SIGTERM); !s)
    log::debug("container.kill_failed", {{"run", st.opts.run_id}, {"error", s.error().message}});
  self->delayed_send(self, st.opts.stop_grace, kill_atom::value, st.generation);
}

void on_exit(self_ptr self, const exit_info& info) {
  auto& st = self->state;
  if (info.generation != st.generation) return;
  remove_container(self);
  st.lease.reset();  // the container is gone: so is its token
  st.result.exit_code = info.exit_code;
  st.result.oom_killed = info.oom_killed;
  // Killed or failed (not a clean exit 0): what it wrote for an input that will be
  // re-delivered is not passed on when read late (the ipc handler below).
  st.last_exit_unclean = info.signal != 0 || info.exit_code != 0 || info.oom_killed;
  if (info.oom_killed) {
    log::error("container.oom_killed", {{"run", st.opts.run_id}});
    if (auto* m = registry(self))
      m->counter("squadbox_container_oom_kills_total", "Containers killed by the OOM killer.").inc();
  }
  if (st.state == RunState::stopping) {
    st.result.reason = st.stop_reason;
    move_to(self, RunEvent::exited, std::string(container::to_string(st.stop_reason)));
    finish(self);
    return;
  }
  if (!st.opts.adopt_container_id.empty() && info.error.code == "container.exit_unknown") {
    // An adopted container is not our child: its exit status cannot be known. It ended
    // by itself; restarting it blind would repeat work nobody asked for.
    st.result.reason = EndReason::unknown_exit;
    st.result.detail = "exit status unknown (adopted after a broker restart)";
    st.result.exit_code = -1;
    move_to(self, st.state == RunState::running ? RunEvent::crashed : RunEvent::exited, st.result.detail);
    if (st.state == RunState::failed) move_to(self, RunEvent::give_up, st.result.detail);
    finish(self);
    return;
  }
  const bool clean = info.error.code.empty() && info.exit_code == 0 && !info.oom_killed;
  if (clean && st.state == RunState::idle && st.unfinished.empty()) {
    move_to(self, RunEvent::exited, "agent exited");
    finish(self);
    return;
  }
  std::string reason = info.oom_killed            ? "oom_killed"
                       : !info.error.code.empty() ? info.error.message
                                                  : "exit code " + std::to_string(info.exit_code);
  move_to(self, st.state == RunState::starting ? RunEvent::failed : RunEvent::crashed, reason);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  auto decision = st.tracker.on_failure(std::chrono::steady_clock::now(), jitter(st.rng));
  if (decision.give_up) {
    st.result.reason = EndReason::gave_up;
    st.result.detail = reason;
    move_to(self, RunEvent::give_up, reason);
    log::error("container.dead", {{"run", st.opts.run_id}, {"reason", reason}, {"restarts", st.restarts}});
    finish(self);
    return;
  }
  ++st.restarts;
  if (auto* m = registry(self))
    m->counter("squadbox_container_restarts_total", "Container restarts after a crash.").inc();
  move_to(self, RunEvent::retry, reason);
  self->delayed_send(self, decision.delay, retry_atom::value, st.generation);
}

container_supervisor_actor::behavior_type run_fn(self_ptr self, ContainerRunOptions opts) {
  log_exceptions(self, "container_supervisor");
  auto& st = self->state;
  st.opts = std::move(opts);
  st.tracker = RestartTracker{st.opts.restart};
  if (auto* m = registry(self))
    m->gauge("squadbox_containers", "Container runs by lifecycle state.", {{"state", "pending"}}).add(1);
  if (st.opts.adopt_container_id.empty()) {
    storage::ContainerRunRow run;
    run.id = st.opts.run_id;
    run.namespace_id = st.opts.namespace_name;
    run.kind = std::string(container::to_string(st.opts.kind));
    run.backend = st.opts.runtime->backend();
    run.image = st.opts.spec.image;
    run.state = "pending";
    persist_run_row(self, storage::insert_container_run(run));
  }
  // Preparing: run directory, IPC layout, validated mounts. Failures here are final.
  move_to(self, RunEvent::prepare);
  std::error_code ec;
  std::filesystem::create_directories(st.opts.run_dir, ec);
  ipc::IpcDirectoryOptions ipc_opts;
  // The host ids of the container's user (its user namespace's mapping of spec.uid).
  ipc_opts.container_uid = st.opts.spec.host_uid();
  ipc_opts.container_gid = st.opts.spec.host_gid();
  auto dir = ipc::IpcDirectory::create(st.opts.run_dir + "/ipc", ipc_opts);
  Error failure;
  if (!dir) failure = dir.error();
  if (dir) {
    st.ipc.emplace(std::move(*dir));
    auto request = st.opts.mounts;
    request.ipc_dir = st.ipc->root();
    container::MountContext mount_ctx{st.opts.allowlist ? st.opts.allowlist->current() : nullptr,
                                      st.opts.namespace_name, st.opts.main_namespace, st.opts.audit, st.opts.metrics};
    auto mounts = container::MountPolicy::validate(request, mount_ctx);
    if (mounts)
      st.opts.spec.mounts = std::move(*mounts);
    else
      failure = mounts.error();
  }
  if (!failure.code.empty()) {
    st.result.reason = EndReason::refused;
    st.result.detail = failure.message;
    move_to(self, RunEvent::failed, failure.message);
    move_to(self, RunEvent::give_up, failure.message);
    self->send(self, done_atom::value);  // finish after init: quit() is not allowed here
  } else {
    start_ipc_thread(self);
    move_to(self, RunEvent::prepared);
    // Started from the first message, not here: a failure must be able to quit().
    self->send(self, retry_atom::value, uint64_t{0});
    if (st.opts.hard_timeout.count() > 0)
      self->delayed_send(self, st.opts.hard_timeout, timeout_atom::value, TimeoutKind::hard, uint64_t{0});
  }
  self->attach_functor([stop = st.ipc_stop] { stop->store(true); });
  // Killed from outside (node shutdown): never leave the container behind, and let
  // the waiter thread return before the state is destroyed.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    auto& s = self->state;
    if (!s.container_id.empty()) {
      (void)s.opts.runtime->kill(s.container_id, SIGKILL);
      remove_container(self);
    }
    s.ipc_stop->store(true);
    s.lease.reset();
    // Killed with the node: the container is gone, so is the reason to keep its files.
    s.run_dir_remover.path = s.opts.run_dir;
    s.run_dir_remover.armed = !s.opts.keep_run_dir;
    self->quit(msg.reason);
  });
  return {
      [=](done_atom) { finish(self); },
      [=](deliver_atom, const std::string& id, const std::string& text) {
        auto& s = self->state;
        if (container::is_terminal(s.state) || s.state == RunState::stopping) return;
        s.unfinished.push_back(Input{id, text});
        if (s.state == RunState::idle || s.state == RunState::running) {
          s.snapshot_stale->store(true);
          if (auto w = s.ipc->write_input(ipc::InputMessage{id, text, std::nullopt}); !w)
            log::error("container.input_failed", {{"run", s.opts.run_id}, {"error", w.error().message}});
          move_to(self, RunEvent::turn_begin);
        }
      },
      [=](close_atom) {
        // Graceful: the agent finishes what it has, then exits on its own.
        if (self->state.ipc) (void)self->state.ipc->close();
      },
      [=](stop_atom) { stop_run(self, EndReason::stopped); },
      [=](ipc_atom, const ipc_event& ev) {
        auto& s = self->state;
        // Written by the container that was just killed (or failed), read after its exit:
        // its input is re-delivered to the next container, which answers it again. Passing
        // this on now, after the namespace reset its reply count for the re-run (the
        // backoff transition), would give the same reply a second idempotency key: sent
        // twice. A clean exit 0 (an agent that ends after its answer) keeps its outputs.
        if (s.state == RunState::backoff && s.last_exit_unclean && !ev.in_reply_to.empty() &&
            std::any_of(s.unfinished.begin(), s.unfinished.end(),
                        [&](const Input& in) { return in.id == ev.in_reply_to; })) {
          log::info("container.late_output_dropped", {{"run", s.opts.run_id}, {"in_reply_to", ev.in_reply_to}});
          return;
        }
        arm_idle_timer(self);
        if (ev.kind == IpcEventKind::message) {
          if (s.opts.listener)
            caf::anon_send(s.opts.listener, output_atom::value,
                           container::RunOutput{s.opts.run_id, ev.text, ev.in_reply_to, ev.chat_jid, false, ""});
        } else if (ev.kind == IpcEventKind::progress) {
          if (s.opts.listener) {
            container::RunOutput out{s.opts.run_id, ev.text, ev.in_reply_to, "", false, ""};
            out.progress = true;
            caf::anon_send(s.opts.listener, output_atom::value, std::move(out));
          }
        } else if (ev.kind == IpcEventKind::turn_done) {
          if (!ev.ok && s.opts.listener)
            caf::anon_send(s.opts.listener, output_atom::value,
                           container::RunOutput{s.opts.run_id, "", ev.in_reply_to, "", true,
                                                ev.error.empty() ? "turn failed" : ev.error, ev.retry});
          for (auto it = s.unfinished.begin(); it != s.unfinished.end(); ++it)
            if (it->id == ev.in_reply_to) {
              s.unfinished.erase(it);
              break;
            }
          if (s.unfinished.empty()) move_to(self, RunEvent::turn_done);
        }
      },
      [=](exited_atom, const exit_info& info) { on_exit(self, info); },
      [=](retry_atom, uint64_t generation) {
        auto& s = self->state;
        if (generation == 0 && s.generation == 0 && s.state == RunState::starting) {
          start_container(self);  // the first attempt
          return;
        }
        if (generation != s.generation || s.state != RunState::backoff) return;
        move_to(self, RunEvent::retry_due);
        start_container(self);
      },
      [=](kill_atom, uint64_t generation) {
        auto& s = self->state;
        if (generation == s.generation && s.state == RunState::stopping && !s.container_id.empty())
          (void)s.opts.runtime->kill(s.container_id, SIGKILL);
      },
      [=](timeout_atom, TimeoutKind which, uint64_t generation) {
        auto& s = self->state;
        if (which == TimeoutKind::hard) {
          stop_run(self, EndReason::hard_timeout);
        } else if (generation == s.idle_generation &&  // else: output arrived since
                   (s.state == RunState::running || s.state == RunState::idle)) {
          stop_run(self, EndReason::idle_timeout);
        }
      },
      [=](status_atom) {
        return component_status{self->state.opts.run_id, std::string(container::to_string(self->state.state)),
                                self->state.container_id};
      },
  };
}

}  // namespace

container_supervisor_actor spawn_container_supervisor(caf::actor_system& system, ContainerRunOptions options) {
  return system.spawn<caf::detached>(run_fn, std::move(options));
}

}  // namespace sb::actors
