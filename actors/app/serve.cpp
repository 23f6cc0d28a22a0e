#include "actors/app/serve.hpp"

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "actors/app/admin/admin_routes.hpp"
#include "actors/app/admin/audit_routes.hpp"
#include "actors/app/admin/chat_routes.hpp"
#include "actors/app/admin/cluster_routes.hpp"
#include "actors/app/admin/namespaces_routes.hpp"
#include "actors/app/admin/outbox_routes.hpp"
#include "actors/app/admin/secrets_routes.hpp"
#include "actors/app/admin/tasks_routes.hpp"
#include "actors/app/admin_token.hpp"
#include "actors/app/channel_services.hpp"
#include "actors/app/namespace_runs.hpp"
#include "actors/app/security_services.hpp"
#include "actors/cluster/cluster_node.hpp"
#include "actors/cluster/cluster_transport.hpp"
#include "actors/containers/container_supervisor.hpp"
#include "actors/containers/ipc_task_desk.hpp"
#include "actors/node/audit_sink.hpp"
#include "actors/node/node.hpp"
#include "actors/schedule/scheduler.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/local/local_chat_hub.hpp"
#include "runtime/container/reconcile.hpp"
#include "runtime/container/run_dirs.hpp"
#include "runtime/container/select/backend_selection.hpp"
#include "runtime/core/fd_limit.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/text.hpp"
#include "runtime/core/time.hpp"
#include "runtime/http/message.hpp"
#include "runtime/http/server.hpp"
#include "runtime/schedule/time_zone.hpp"
#include "runtime/security/pki/cluster_pki.hpp"
#include "storage/audit_store.hpp"
#include "storage/chat_directory.hpp"
#include "storage/cluster_store.hpp"
#include "storage/container_run_store.hpp"
#include "storage/database_target.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres/pg_error.hpp"
#include "storage/sqlite.hpp"

namespace sb::app {
namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

Status prepare_data_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("boot.data_dir", "cannot create data dir " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return {};
}

// A run whose container survived a restart of the broker.
struct AdoptedRun {
  std::string run_id, namespace_name, kind, image, container_id;
};

struct Containers {
  std::string status_json;
  std::shared_ptr<container::ContainerRuntime> runtime;
  std::string install_id;
  std::vector<AdoptedRun> adopted;
};

// Detects the container runtime and reconciles this install's containers: those of a
// run the database knows as live are adopted, every other one is removed (e.g. after a
// SIGKILL of the broker or of a cowork process). Live runs without a container are
// closed. A missing runtime is not fatal: the node still serves, and
// /api/v1/container/runtime says why.
Containers prepare_containers(const config::Config& c) {
  Containers out;
  auto opened = container::select::open_runtime(c);
  container::select::RuntimeStatus status;
  if (!opened) {
    status.message = opened.error().message;
    log::warn("container.runtime_unavailable", {{"error", status.message}});
    out.status_json = container::select::to_json(status);
    return out;
  }
  status = opened->status;
  out.status_json = container::select::to_json(status);
  log::info("container.runtime", {{"backend", status.backend},
                                  {"available", status.available},
                                  {"version", status.version},
                                  {"install_id", opened->install_id}});
  if (!status.available) return out;
  out.runtime = opened->runtime;
  out.install_id = opened->install_id;

  auto db = storage::Database::open(c.storage_path(), {});
  if (!db) return out;
  std::map<std::string, AdoptedRun> live;
  if (auto rows = storage::read_live_container_runs(*db)) {
    for (const auto& r : *rows) live[r.id] = {r.id, r.namespace_id, r.kind, r.image, ""};
  }
  std::set<std::string> live_ids;
  for (const auto& [id, run] : live) live_ids.insert(id);
  auto report = container::reconcile(*out.runtime, out.install_id, live_ids);
  for (const auto& id : report.removed) log::info("container.reconciled_removed", {{"container", id}});
  for (const auto& f : report.failed) log::warn("container.reconcile_failed", {{"error", f}});
  std::set<std::string> adopted_ids;
  for (size_t i = 0; i < report.adopted.size(); ++i) {
    auto run = live[report.adopted_runs[i]];
    run.container_id = report.adopted[i];
    adopted_ids.insert(run.run_id);
    out.adopted.push_back(run);
  }
  for (const auto& [id, run] : live) {
    if (adopted_ids.count(id)) continue;
    (void)storage::close_gone_container_run(*db, id, now_ms());
  }
  return out;
}

// Supervises the adopted runs again; returns their actors.
std::vector<actors::container_supervisor_actor> adopt_runs(caf::actor_system& system, const config::Config& c,
                                                           const Containers& containers, metrics::Registry& registry,
                                                           const SecurityServices& security) {
  std::vector<actors::container_supervisor_actor> out;
  for (const auto& run : containers.adopted) {
    actors::ContainerRunOptions o;
    o.run_id = run.run_id;
    o.namespace_name = run.namespace_name;
    o.kind = container::parse_run_kind(run.kind).value_or(container::RunKind::squad);
    o.install_id = containers.install_id;
    o.run_dir = c.node.data_dir + "/runs/" + run.run_id;
    o.keep_run_dir = c.container.run_dir_retention_ms > 0;
    o.spec.name = "squadbox-" + run.run_id;
    o.spec.image = run.image;
    // The IPC directories belong to the host uid the container runs as: keep it. When it
    // lies in the namespace's id range, a restarted container gets that user namespace
    // again (the same host ids).
    struct stat st {};
    if (::stat((o.run_dir + "/ipc/input").c_str(), &st) == 0 && st.st_uid != 0) {
      o.spec.uid = st.st_uid;
      o.spec.gid = st.st_gid;
      auto range = namespace_id_range(c, run.namespace_name);
      if (range && st.st_uid > range->host_base && st.st_gid > range->host_base &&
          range->contains(st.st_uid - range->host_base) && range->contains(st.st_gid - range->host_base)) {
        o.spec.user_namespace = *range;
        o.spec.uid = st.st_uid - range->host_base;
        o.spec.gid = st.st_gid - range->host_base;
      }
    }
    o.hard_timeout = std::chrono::milliseconds(c.container.timeout_ms);
    o.idle_timeout = std::chrono::milliseconds(c.container.idle_timeout_ms);
    o.stop_grace = std::chrono::milliseconds(c.container.stop_grace_ms);
    o.runtime = containers.runtime;
    o.metrics = &registry;
    o.adopt_container_id = run.container_id;
    security.apply(o);
    out.push_back(actors::spawn_container_supervisor(system, std::move(o)));
  }
  return out;
}

// Removes DATA_DIR/runs/<run> of runs that are gone: once at start (leftovers of a crash),
// then, with a retention, every quarter of it (at most a minute apart) on its own thread.
class RunDirJanitor {
 public:
  RunDirJanitor(const config::Config& c, const std::vector<AdoptedRun>& adopted)
      : root_(c.node.data_dir + "/runs"),
        db_path_(c.storage_path()),
        retention_(std::chrono::milliseconds(c.container.run_dir_retention_ms)) {
    std::set<std::string> live;
    for (const auto& run : adopted) live.insert(run.run_id);
    report(container::prune_run_dirs(root_, live, retention_));
    if (retention_.count() == 0) return;
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "sb-run-janitor");
      const auto every =
          std::clamp<std::chrono::milliseconds>(retention_ / 4, std::chrono::seconds(1), std::chrono::minutes(1));
      std::unique_lock lock(mutex_);
      while (!wake_.wait_for(lock, every, [this] { return stopping_; })) {
        lock.unlock();
        report(container::prune_run_dirs(root_, live_runs(), retention_));
        lock.lock();
      }
    });
  }
  ~RunDirJanitor() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  RunDirJanitor(const RunDirJanitor&) = delete;
  RunDirJanitor& operator=(const RunDirJanitor&) = delete;

 private:
  // Runs not ended per the database (a fresh start's directory is younger than any
  // sensible retention anyway).
  std::set<std::string> live_runs() const {
    std::set<std::string> live;
    storage::OpenOptions ro;
    ro.read_only = true;
    auto db = storage::Database::open(db_path_, ro);
    if (!db) return live;
    if (auto runs = storage::read_live_container_runs(*db))
      for (const auto& run : *runs) live.insert(run.id);
    return live;
  }
  static void report(const container::RunDirPrune& p) {
    if (p.removed > 0 || p.failed > 0)
      log::info("container.run_dirs_pruned", {{"removed", static_cast<int64_t>(p.removed)},
                                              {"kept", static_cast<int64_t>(p.kept)},
                                              {"failed", static_cast<int64_t>(p.failed)}});
  }

  const std::string root_;
  const std::string db_path_;
  const std::chrono::milliseconds retention_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Stops adopted runs (SIGTERM, then SIGKILL after the grace) and waits for them.
void stop_runs(caf::actor_system& system, const std::vector<actors::container_supervisor_actor>& runs,
               std::chrono::milliseconds limit) {
  if (runs.empty()) return;
  caf::scoped_actor self{system};
  for (const auto& r : runs) {
    self->monitor(r);
    self->send(r, actors::stop_atom::value);
  }
  size_t down = 0;
  bool timed_out = false;
  while (down < runs.size() && !timed_out) {
    self->receive([&](const caf::down_msg&) { ++down; }, caf::after(limit) >> [&] { timed_out = true; });
  }
  if (timed_out) log::warn("container.stop_incomplete", {{"left", static_cast<int64_t>(runs.size() - down)}});
}

// {"version","configFile","configHash"}: the hash (BLAKE2b) of the effective configuration.
std::string start_detail(const config::Config& c, const char* version) {
  const std::string effective = config::to_toml(c);
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(effective.data()), effective.size(),
                     nullptr, 0);
  char hex[2 * sizeof hash + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  auto quote = [](const std::string& v) {
    std::string out = "\"";
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out.push_back('\\');
      if (static_cast<unsigned char>(ch) >= 0x20) out.push_back(ch);
    }
    return out + "\"";
  };
  return "{\"version\":" + quote(version) + ",\"configFile\":" + quote(c.source_file) + ",\"configHash\":\"" + hex +
         "\"}";
}

// Fails fast, before any actor starts, on an unusable or too-new database.
Status prepare_storage(const config::Config& c) {
  storage::OpenOptions open;
  open.busy_timeout_ms = static_cast<int>(c.storage.busy_timeout_ms);
  auto db = storage::Database::open(c.storage_path(), open);
  if (!db) return db.error();
  return storage::migrate(*db);
}

// Every node of a cluster has certificates from one CA: the first node to start stores its
// CA's fingerprint; a node with another CA is refused before it joins, and the refusal is
// audited (there is no audit actor yet: appended directly).
Status check_cluster_ca(const config::Config& c) {
  auto fingerprint = security::pki::certificate_sha256(c.cluster.tls_ca_file);
  if (!fingerprint) return make_error(actors::kClusterCredentials, fingerprint.error().message);
  auto db = storage::Database::open(c.storage_path(), {});
  if (!db) return db.error();
  storage::ClusterStore store(*db);
  auto stored = store.claim_setting("tls_ca_sha256", *fingerprint);
  if (!stored) return stored.error();
  if (*stored == *fingerprint) return {};
  const std::string why = "cluster.tls_ca_file (" + c.cluster.tls_ca_file + ") is not the cluster's CA: SHA-256 " +
                          *fingerprint + ", the cluster's is " + *stored +
                          " (every node needs a certificate from the one cluster CA)";
  const std::string detail = "{\"why\":\"" + http::json_escape(why) + "\"}";
  if (auto audited = storage::append_audit_now(
          *db, AuditRecord{"cluster", "cluster.join_refused", c.cluster.node_name, detail}, now_ms());
      !audited)
    log::warn("cluster.join_refused_unaudited", {{"error", audited.error().message}});
  return make_error("cluster.foreign_ca", why);
}

// Last resort if a graceful shutdown hangs: the process must still end.
class ShutdownWatchdog {
 public:
  explicit ShutdownWatchdog(std::chrono::milliseconds limit)
      : thread_([this, limit] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            log::error("node.shutdown_timeout", {{"limit_ms", limit.count()}});
            ::_exit(1);
          }
        }) {}
  ~ShutdownWatchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

void block_shutdown_signals() {
  sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int serve(const config::Config& config, const char* version) {
  config::Config c = config;
  // Every part of the node opens "the database" through c.storage_path(): point it at the
  // configured engine (a file, or a postgres: locator) before anything opens it.
  storage::use_configured_database(c);
  // Descriptors first (M1 of the 2026-12 audit): the soft limit up to the hard one, and the
  // public listener's connection cap under it with a reserve for storage, containers, the
  // proxy and outbound requests.
  if (auto fds = raise_fd_limit()) {
    const auto budget =
        connection_budget(fds->soft, static_cast<size_t>(c.webhooks.max_connections), fd_reserve(fds->soft));
    if (budget < static_cast<size_t>(c.webhooks.max_connections)) {
      log::warn("node.connections_clamped", {{"webhooks.max_connections", c.webhooks.max_connections},
                                             {"now", static_cast<int64_t>(budget)},
                                             {"fd_soft_limit", static_cast<int64_t>(fds->soft)}});
      c.webhooks.max_connections = static_cast<int64_t>(budget);
    }
    log::info("node.fd_limit", {{"soft", static_cast<int64_t>(fds->soft)}, {"hard", static_cast<int64_t>(fds->hard)}});
  } else {
    log::warn("node.fd_limit", {{"error", fds.error().message}});
  }
  if (auto ok = prepare_data_dir(c.node.data_dir); !ok) {
    log::error("node.start_failed", {{"error", ok.error().message}});
    return 1;
  }
  auto token = ensure_admin_token(c.admin_token_path());
  if (!token) {
    log::error("node.start_failed", {{"error", token.error().message}});
    return 1;
  }
  if (token->created) log::info("admin.token_created", {{"path", c.admin_token_path()}});
  if (auto ok = prepare_storage(c); !ok) {
    // On PostgreSQL the operator's lever is the connection setting: name it (the URL holds
    // no password, the config check refuses one), or the password file when that is wrong.
    std::string error = ok.error().message;
    if (c.storage.backend == "postgres" && ok.error().code == storage::pg::kPasswordFile) {
      error = "storage.postgres_password_file (" + config.storage.postgres_password_file + "): " + error;
    } else if (c.storage.backend == "postgres") {
      error = "storage.postgres_url (" + config.storage.postgres_url + "): " + error;
    }
    log::error("node.start_failed", {{"error", error}, {"code", ok.error().code}});
    return 1;
  }
  // The agent defaults every namespace starts from (a bad command or tool list stops the
  // start instead of failing each container later).
  auto agent_defaults = namespaces::agent_defaults(c.container);
  if (!agent_defaults) {
    log::error("node.start_failed", {{"error", agent_defaults.error().message}, {"code", agent_defaults.error().code}});
    return 1;
  }
  if (auto zone = schedule::TimeZone::locate(c.scheduler.time_zone); !zone) {
    log::error("node.start_failed",
               {{"error", "scheduler.time_zone: " + zone.error().message}, {"code", zone.error().code}});
    return 1;
  }

  // Before any actor starts: a missing, exposed or wrong vault key stops the start.
  auto vault = storage::Vault::open(storage::vault_options(c, config::process_environment()));
  if (!vault) {
    log::error("node.start_failed", {{"error", vault.error().message}, {"code", vault.error().code}});
    return 1;
  }
  // Channel bots take their credentials from the vault: a missing entry stops the start.
  auto channel_bots = make_channel_bots(c, *vault);
  if (!channel_bots) {
    log::error("node.start_failed", {{"error", channel_bots.error().message}, {"code", channel_bots.error().code}});
    return 1;
  }

  // A cluster node checks its TLS credentials before CAF sees them (CAF throws from the
  // actor system's constructor on unusable files, then hangs at exit).
  std::shared_ptr<cluster::OwnershipView> cluster_view;
  if (c.cluster.enabled) {
    auto identity = actors::check_cluster_credentials(c.cluster);
    if (!identity) {
      log::error("node.start_failed",
                 {{"error", "cluster: " + identity.error().message}, {"code", identity.error().code}});
      return 1;
    }
    if (auto joined = check_cluster_ca(c); !joined) {
      log::error("node.start_failed", {{"error", joined.error().message}, {"code", joined.error().code}});
      return 1;
    }
    cluster_view = std::make_shared<cluster::OwnershipView>(c.cluster.node_name);
  }

  const Containers containers = prepare_containers(c);

  metrics::Registry registry;
  actors::ConnectionBoard connections;  // outlives the actor system: its actors write to it
  int exit_code = 0;
  // Armed at shutdown; declared before the actor system so that it also bounds the join of
  // the system's actors and network layer when the scope below ends.
  std::optional<ShutdownWatchdog> watchdog;
  {
    caf::actor_system_config cfg;
    actors::configure_actor_system(cfg, c);
    caf::actor_system system{cfg};
    // Replies of the local chat channel: namespace actors fill it, the chat route waits on it.
    auto local_chat = std::make_shared<channels::local::LocalChatHub>();
    actors::NodeOptions node;
    node.config = c;
    node.metrics = &registry;
    node.bots = *channel_bots;
    node.local_chat = local_chat;
    node.connections = &connections;
    // Namespaces queue messages until make_run is set below (containers and security exist).
    auto namespace_services = std::make_shared<actors::NamespaceServices>();
    node.namespace_services = namespace_services;
    // Scheduled tasks: own connection too; tasks without "timeZone" use scheduler.time_zone.
    // Every committed change outside the scheduler re-arms it (lookup at call time).
    std::shared_ptr<storage::TaskStore> task_store;
    if (auto opened =
            storage::TaskStore::open(c.storage_path(), {.default_time_zone = c.scheduler.time_zone, .now_ms = {}})) {
      task_store = std::move(*opened);
      task_store->set_on_change(actors::scheduler_reload_hook(system));
    } else {
      log::error("tasks.store_unavailable", {{"error", opened.error().message}});
    }
    node.tasks = task_store;
    node.cluster_view = cluster_view;
    node.cluster_audit = actors::make_audit_sink(system);
    auto root = actors::spawn_node(system, std::move(node));
    {
      // The root registers its children (the storage writer among them) in its own
      // start-up; an answer to a status request means that has happened.
      caf::scoped_actor self{system};
      self->request(root, std::chrono::seconds(10), actors::status_atom::value)
          .receive([](const actors::supervisor_status&) {}, [](caf::error&) {});
    }
    auto sec = start_security_services(c, *vault, actors::make_audit_sink(system), &registry);
    if (!sec) {
      log::error("node.start_failed", {{"error", sec.error().message}, {"code", sec.error().code}});
      caf::scoped_actor self{system};
      self->send_exit(root, caf::exit_reason::user_shutdown);
      return 1;
    }
    std::optional<actors::cluster_peer_actor> cluster_peer;
    if (cluster_view) {
      actors::ClusterOptions peer;
      peer.config = c;
      peer.view = cluster_view;
      peer.metrics = &registry;
      peer.audit = actors::make_audit_sink(system);
      peer.local_chat = local_chat;
      auto published = actors::publish_cluster_peer(system, peer);
      if (!published) {
        log::error("node.start_failed", {{"error", published.error().message}, {"code", published.error().code}});
        caf::scoped_actor self{system};
        self->send_exit(root, caf::exit_reason::user_shutdown);
        return 1;
      }
      cluster_peer = *published;
    }
    // A changed configuration shows in the audit trail as a different hash at start.
    sec->audit(AuditRecord{"node", "node.started", c.node.data_dir, start_detail(c, version)});
    const auto adopted = adopt_runs(system, c, containers, registry, *sec);
    // Run directories left by runs that are gone (a crash, a kill -9): the adopted ones stay.
    RunDirJanitor janitor(c, containers.adopted);
    auto container_audit = spawn_container_audit(system, c, *sec, containers.runtime, containers.install_id, &registry);
    // Containers schedule through IPC tasks/ for their own group (docs/ipc.md); no store: refused.
    auto task_ipc = task_store
                        ? std::make_shared<actors::TaskIpc>(task_store, storage::open_chat_directory(c.storage_path()))
                        : nullptr;
    namespace_services->make_run = namespace_run_factory(
        NamespaceRunContext{c, *sec, containers.runtime, containers.install_id, &registry, task_ipc});
    namespace_services->ready.store(true, std::memory_order_release);
    if (auto manager = actors::lookup<actors::namespace_manager_actor>(system, "namespaces"))
      caf::anon_send(manager, actors::ready_atom::value);

    app::admin::AdminApiOptions api_options;
    api_options.version = version;
    api_options.data_dir = c.node.data_dir;
    api_options.token = token->token;
    api_options.actor_timeout = std::chrono::milliseconds(c.actors.request_timeout_ms);
    api_options.runtime_status_json = containers.status_json;
    api_options.db_path = c.storage_path();
    api_options.hosts.listen_address = c.admin.address;
    for (size_t at = 0; at <= c.admin.allowed_hosts.size();) {
      const size_t comma = std::min(c.admin.allowed_hosts.find(',', at), c.admin.allowed_hosts.size());
      const auto name = trim(std::string_view(c.admin.allowed_hosts).substr(at, comma - at));
      if (!name.empty()) api_options.hosts.extra.emplace_back(name);
      at = comma + 1;
    }
    api_options.extensions.push_back([&system, v = *vault](http::Router& api) {
      app::admin::add_secrets_routes(api, v, actors::make_audit_sink(system));
    });
    api_options.extensions.push_back(
        [db = c.storage_path()](http::Router& api) { app::admin::add_audit_routes(api, db); });
    api_options.extensions.push_back([&system, &c](http::Router& api) {
      app::admin::add_cluster_routes(
          api, system,
          {c.cluster.enabled, c.storage_path(), std::chrono::milliseconds(c.actors.request_timeout_ms),
           actors::make_audit_sink(system)});
    });
    ChannelServices channels(system, c, *channel_bots, actors::make_audit_sink(system), &registry);
    api_options.connections = [&connections] {
      std::vector<app::admin::ConnectionStatus> out;
      for (auto& [id, r] : connections.all())
        out.push_back({.bot_id = id, .state = r.state, .detail = r.detail, .fatal = r.fatal, .since_ms = r.since_ms});
      return out;
    };
    api_options.extensions.push_back([&channels, &connections](http::Router& api) {
      app::admin::add_channels_routes(api, channels.bots(), [&channels, &connections](const std::string& id) {
        auto n = channels.counts(id);
        if (auto r = connections.get(id)) {
          n.connection = r->state;
          n.connection_detail = r->detail;
          n.connection_fatal = r->fatal;
        }
        return n;
      });
    });
    api_options.extensions.push_back(
        [&system, db = c.storage_path(), timeout = api_options.actor_timeout](http::Router& api) {
          ::sb::app::admin::add_outbox_routes(api, system, db, timeout);
        });
    // Namespaces, mappings, allowlists, default policy: own connection next to the writer (WAL).
    if (auto ns_store = storage::NamespaceStore::open(c.storage_path(), c.node.data_dir)) {
      std::shared_ptr<storage::NamespaceStore> store(std::move(*ns_store));
      // Before the store is shared: every committed change reloads the routing table and
      // tells the namespaces (lookups at call time: the actors may have been restarted).
      store->set_on_change([&system] {
        if (auto router = actors::lookup<actors::message_router_actor>(system, "router"))
          caf::anon_send(router, actors::reload_atom::value);
        if (auto manager = actors::lookup<actors::namespace_manager_actor>(system, "namespaces"))
          caf::anon_send(manager, actors::reload_atom::value);
        // And the other nodes of a cluster (their routers would otherwise drop what they
        // do not know is mapped now).
        if (auto cluster = actors::lookup<actors::cluster_actor>(system, "cluster"))
          caf::anon_send(cluster, actors::reload_atom::value);
      });
      api_options.extensions.push_back([&system, store, defaults = *agent_defaults](http::Router& api) {
        app::admin::add_namespaces_routes(api, store, actors::make_audit_sink(system), defaults);
      });
    } else {
      log::error("namespaces.store_unavailable", {{"error", ns_store.error().message}});
    }
    // Scheduled tasks (the store is opened before the node: the scheduler runs them).
    if (task_store) {
      api_options.extensions.push_back([&system, store = task_store](http::Router& api) {
        app::admin::add_tasks_routes(api, store, actors::make_audit_sink(system));
      });
    }
    app::admin::ChatApiOptions chat_options;
    chat_options.db_path = c.storage_path();
    chat_options.reply_timeout = std::chrono::milliseconds(c.namespaces.chat_reply_timeout_ms);
    chat_options.ingest_timeout = api_options.actor_timeout;
    app::admin::ChatApi chat_api(system, local_chat, chat_options);  // outlives the server below
    api_options.extensions.push_back([&chat_api](http::Router& api) { chat_api.add_routes(api); });
    app::admin::AdminApi api(system, caf::actor_cast<caf::actor>(root), registry, std::move(api_options));
    http::ServerOptions http_options;
    http_options.name = "admin";
    http_options.address = c.admin.address;
    http_options.port = static_cast<uint16_t>(c.admin.port);
    http_options.body_limit = static_cast<size_t>(c.admin.body_limit_bytes);
    http_options.request_timeout = std::chrono::milliseconds(c.admin.request_timeout_ms);
    http_options.idle_timeout = std::chrono::milliseconds(c.admin.idle_timeout_ms);
    http_options.threads = static_cast<int>(c.admin.threads);
    http::Server server(http_options, api.handler(), &registry);
    // The webhook listener first: the admin API reads it once it answers.
    auto webhooks = channels.start();
    auto port = webhooks ? server.start() : Result<uint16_t>(webhooks.error());
    const std::string url_file = c.node.data_dir + "/admin.url";
    if (!port) {
      log::error("node.start_failed", {{"error", port.error().message}});
      exit_code = 1;
    } else {
      std::string host = c.admin.address.find(':') != std::string::npos ? "[" + c.admin.address + "]" : c.admin.address;
      std::string url = "http://" + host + ":" + std::to_string(*port);
      if (auto st = write_file_atomic(url_file, url + "\n", {.mode = 0644, .durable = false}); !st)
        log::warn("node.url_file_failed", {{"file", url_file}, {"error", st.error().message}});
      log::info("node.started", {{"version", version},
                                 {"admin_url", url},
                                 {"data_dir", c.node.data_dir},
                                 {"pid", static_cast<int64_t>(::getpid())}});

      sigset_t set = shutdown_signals();
      int sig = 0;
      while (sigwait(&set, &sig) != 0) {
      }
      log::info("node.stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    }

    // Graceful shutdown, bounded by node.shutdown_timeout_ms.
    const auto limit = std::chrono::milliseconds(c.node.shutdown_timeout_ms);
    watchdog.emplace(limit);
    server.stop_accepting();
    chat_api.stop();  // waiting chats answer 503 now rather than at their timeout
    channels.stop();  // before the node drains: deliveries in flight still get their ack
    stop_runs(system, adopted, std::chrono::milliseconds(c.container.stop_grace_ms) + limit / 4);
    if (container_audit) caf::anon_send_exit(container_audit, caf::exit_reason::user_shutdown);
    {
      caf::scoped_actor self{system};
      self->request(root, limit * 8 / 10, actors::shutdown_atom::value)
          .receive([](bool) {},
                   [&](caf::error& err) {
                     log::warn("node.drain_incomplete", {{"error", system.render(err)}});
                     self->send_exit(root, caf::exit_reason::kill);
                   });
    }
    // Other nodes' forwards and hellos end here (their leases of ours run out; nothing of
    // this node acts on them any more).
    if (cluster_peer) caf::anon_send_exit(*cluster_peer, caf::exit_reason::user_shutdown);
    // After the node: containers still finishing a turn while it drained kept their model
    // access; now every run has ended and no lease is left to serve.
    sec->proxy->stop();
    server.stop();
    std::error_code ec;
    std::filesystem::remove(url_file, ec);
    // Leaving the scope joins the actor system (await_all_actors_done).
  }
  log::info("node.stopped", {{"exit_code", exit_code}});
  return exit_code;
}

}  // namespace sb::app
