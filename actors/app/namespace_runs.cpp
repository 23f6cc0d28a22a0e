#include "actors/app/namespace_runs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <optional>

#include "actors/containers/ipc_task_desk.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/run_identity.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/namespaces/namespace.hpp"
#include "storage/namespace_rows.hpp"
#include "storage/sqlite.hpp"

namespace sb::app {
namespace fs = std::filesystem;

namespace {

// Creates `dir` and hands it to the container's host uid when squadbox (root) owns it,
// or always (`always`: a broker directory such as the session, which must follow the
// namespace's ids, also from an older layout owned by another uid).
Status prepare_dir(const std::string& dir, uint32_t uid, uint32_t gid, bool always = false) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("namespaces.io", "cannot create " + dir + ": " + ec.message());
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return make_error("namespaces.io", "cannot stat " + dir);
  const bool hand_over = (st.st_uid == 0 || always) && (st.st_uid != uid || st.st_gid != gid);
  if (hand_over && ::geteuid() == 0 && ::chown(dir.c_str(), uid, gid) != 0)
    return make_error("namespaces.io", "cannot chown " + dir);
  return {};
}

std::optional<container::HostOwner> owner_of(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::nullopt;
  return container::HostOwner{st.st_uid, st.st_gid};
}

// The namespace's instructions for its agent, as a path inside the container: the text
// goes to <session>/instructions.md (the session is /session), owned by the container's
// host ids like the session; without text a stale file goes, and a workspace file named by
// instructionsFile is used if there is one. "" = no instructions.
Result<std::string> place_instructions(const std::string& session, const storage::AgentRecord& rec, uint32_t uid,
                                       uint32_t gid) {
  const std::string file = (fs::path(session) / "instructions.md").string();
  if (rec.instructions.empty()) {
    ::unlink(file.c_str());  // ENOENT is the usual case; a link is removed, never followed
    return rec.instructions_file.empty() ? std::string() : "/workspace/" + rec.instructions_file;
  }
  AtomicWriteOptions o;
  o.mode = 0600;
  o.durable = false;  // rewritten at every start
  if (::geteuid() == 0) {
    o.uid = uid;
    o.gid = gid;
  }
  if (auto st = write_file_atomic(file, rec.instructions, o); !st)
    return make_error("namespaces.io", "cannot write the instructions: " + st.error().message);
  return std::string("/session/instructions.md");
}

struct OwnerLookup {
  std::mutex mutex;
  std::string path;
  std::optional<storage::Database> db;
};

}  // namespace

std::string extra_mount_name(const namespaces::MountRequest& m) {
  std::string p = m.container_path.empty() ? m.host_path : m.container_path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

Result<storage::AgentRecord> read_agent(const config::Config& c, const std::string& namespace_name) {
  storage::OpenOptions ro;
  ro.read_only = true;
  auto db = storage::Database::open(c.storage_path(), ro);
  if (!db) return db.error();
  auto rec = storage::read_agent_record(*db, namespace_name);
  if (!rec) return rec.error();
  if (!*rec) return make_error("namespaces.not_found", "no namespace " + namespace_name);
  return std::move(**rec);
}

Result<container::IdRange> namespace_id_range(const config::Config& c, const std::string& namespace_name) {
  const container::IdRangeLayout layout{static_cast<uint32_t>(c.container.userns_base),
                                        static_cast<uint32_t>(c.container.userns_size)};
  storage::OpenOptions ro;
  ro.read_only = true;
  auto db = storage::Database::open(c.storage_path(), ro);
  if (!db) return db.error();
  auto slot = storage::read_id_range_slot(*db, namespace_name);
  if (!slot) return slot.error();
  if (!*slot) return make_error("namespaces.no_id_range", "namespace '" + namespace_name + "' has no host id range");
  return container::id_range_for_slot(layout, **slot);
}

Result<actors::ContainerRunOptions> build_namespace_run(const NamespaceRunContext& ctx,
                                                        const actors::NamespaceRunRequest& req) {
  const auto& c = ctx.config;
  if (!ctx.runtime) return make_error("container.unavailable", "no container runtime is available");
  actors::ContainerRunOptions run;
  run.run_id = req.run_id;
  run.namespace_name = req.namespace_name;
  run.kind = req.kind;
  const bool scheduled = run.kind == container::RunKind::scheduled;
  run.install_id = ctx.install_id;
  run.run_dir = (fs::path(c.node.data_dir) / "runs" / req.run_id).string();
  run.keep_run_dir = c.container.run_dir_retention_ms > 0;
  run.spec.name = "squadbox-" + req.run_id;
  run.spec.image = !req.image.empty()             ? req.image
                   : !req.container.image.empty() ? req.container.image
                                                  : c.container.image;
  run.spec.limits = {c.container.memory_mb << 20, c.container.pids, c.container.cpu_millis};

  const std::string workspace = namespaces::workspace_dir(c.node.data_dir, req.namespace_name);
  // "isolated" scheduled runs get a fresh, empty session of their own.
  const std::string session = req.isolated_session ? (fs::path(run.run_dir) / "session").string()
                                                   : namespaces::session_dir(c.node.data_dir, req.namespace_name);
  // Who the container is (run_identity.hpp): nobody in the namespace's own host id
  // range; files it writes in the workspace belong to the workspace's owner (idmap), a
  // root-owned workspace goes to the namespace's ids. Never root, never the operator's
  // uid unless container.user = "workspace_owner" says so.
  auto range = namespace_id_range(c, req.namespace_name);
  if (!range) return range.error();
  const auto mode = container::parse_run_user(c.container.user).value_or(container::RunUser::namespace_range);
  const auto identity = container::decide_run_identity(mode, *range, owner_of(workspace));
  run.spec.uid = identity.uid;
  run.spec.gid = identity.gid;
  run.spec.user_namespace = identity.user_namespace;
  // A namespace made through another node of a cluster has no folders on this one yet:
  // make the mount points a read-only /workspace needs (ipc, extra) as its creation does.
  for (const char* sub : {"ipc", "extra"}) {
    std::error_code ec;
    fs::create_directories(fs::path(workspace) / sub, ec);
    if (ec) return make_error("namespaces.io", "cannot create " + workspace + "/" + sub + ": " + ec.message());
  }
  if (auto s = prepare_dir(workspace, run.spec.host_uid(), run.spec.host_gid()); !s) return s.error();
  if (auto s = prepare_dir(session, run.spec.host_uid(), run.spec.host_gid(), true); !s) return s.error();
  ::chmod(session.c_str(), 0700);

  // The agent: the namespace's settings over the node's [container] defaults, read at
  // every start (a change applies from the namespace's next container).
  auto defaults = namespaces::agent_defaults(c.container);
  if (!defaults) return defaults.error();
  auto agent = read_agent(c, req.namespace_name);
  if (!agent) return agent.error();
  auto instructions = place_instructions(session, *agent, run.spec.host_uid(), run.spec.host_gid());
  if (!instructions) return instructions.error();
  auto wanted = namespaces::agent_env(namespaces::effective_agent(agent->settings, *defaults), *instructions);
  wanted.insert({{"SQUADBOX_IPC_DIR", "/workspace/ipc"},
                 {"SQUADBOX_SESSION_DIR", "/session"},
                 {"SQUADBOX_RUN_ID", req.run_id},
                 {"HOME", "/tmp"}});

  auto passthrough = container::split_env_names(c.container.env_passthrough);
  passthrough.insert(passthrough.end(), req.container.env.begin(), req.container.env.end());
  container::EnvPolicy env{passthrough};
  run.spec.env = env.build(wanted, config::process_environment());

  run.mounts.workspace = workspace;
  // The design's rule: /workspace is read-write for the main group only. The IPC
  // directory (/workspace/ipc) and the session stay writable: they are mounts of their own.
  run.mounts.workspace_read_write = req.is_main;
  run.mounts.workspace_owner = identity.workspace_idmap;
  run.mounts.session_dir = session;
  for (const auto& m : req.container.mounts)
    run.mounts.extras.push_back({extra_mount_name(m), m.host_path, !m.readonly});

  run.hard_timeout = std::chrono::milliseconds(req.container.timeout_secs > 0 ? req.container.timeout_secs * 1000
                                                                              : c.container.timeout_ms);
  run.idle_timeout = std::chrono::milliseconds(
      req.container.idle_timeout_secs > 0 ? req.container.idle_timeout_secs * 1000 : c.container.idle_timeout_ms);
  if (req.hard_timeout) run.hard_timeout = *req.hard_timeout;
  if (scheduled) {
    // One input, closed after its turn: only the hard timeout limits it, and a crash is
    // the run's error (the scheduler decides about retries), never a silent restart.
    run.idle_timeout = std::chrono::milliseconds(0);
    run.restart.budget = 0;
  }
  run.stop_grace = std::chrono::milliseconds(c.container.stop_grace_ms);
  run.runtime = ctx.runtime;
  run.metrics = ctx.metrics;
  run.main_namespace = req.is_main;
  run.ownership = mapping_ownership(c.storage_path(), ctx.tasks);
  run.tasks = ctx.tasks;
  ctx.security.apply(run);
  return run;
}

std::shared_ptr<const ipc::IpcOwnership> mapping_ownership(const std::string& db_path,
                                                           std::shared_ptr<const actors::TaskIpc> tasks) {
  auto lookup = std::make_shared<OwnerLookup>();
  lookup->path = db_path;
  auto out = std::make_shared<ipc::IpcOwnership>();
  out->chat_owner = [lookup](const std::string& jid) -> std::optional<std::string> {
    std::lock_guard lock(lookup->mutex);
    if (!lookup->db) {
      storage::OpenOptions ro;
      ro.read_only = true;
      auto db = storage::Database::open(lookup->path, ro);
      if (!db) return std::nullopt;
      lookup->db.emplace(std::move(*db));
    }
    if (jid.starts_with("local:")) return jid.substr(6);  // a local chat belongs to its namespace
    auto owner = storage::read_chat_owner(*lookup->db, jid);
    return owner ? *owner : std::nullopt;
  };
  out->task_owner = [tasks](const std::string& id) -> std::optional<std::string> {
    return tasks ? tasks->task_owner(id) : std::nullopt;
  };
  return out;
}

std::function<Result<actors::ContainerRunOptions>(const actors::NamespaceRunRequest&)> namespace_run_factory(
    NamespaceRunContext context) {
  auto ctx = std::make_shared<const NamespaceRunContext>(std::move(context));
  return [ctx](const actors::NamespaceRunRequest& req) { return build_namespace_run(*ctx, req); };
}

}  // namespace sb::app
