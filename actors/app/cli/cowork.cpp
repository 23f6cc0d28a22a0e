#include "actors/app/cli/cowork.hpp"

#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>

#include "actors/app/cli/duration.hpp"
#include "actors/containers/container_supervisor.hpp"
#include "actors/node/node.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/run_identity.hpp"
#include "runtime/container/select/backend_selection.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/proxy/credential_proxy.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "runtime/security/allowlist/protected_paths.hpp"
#include "storage/vault_store.hpp"

namespace sb::app::cli {
namespace fs = std::filesystem;

Result<ParsedMount> parse_mount_flag(const std::string& flag) {
  auto eq = flag.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size())
    return make_error("cli.mount", "--mount " + flag + ": expected NAME=PATH[:rw]");
  ParsedMount m;
  m.name = flag.substr(0, eq);
  m.path = flag.substr(eq + 1);
  if (m.path.size() > 3 && m.path.ends_with(":rw")) {
    m.read_write = true;
    m.path.resize(m.path.size() - 3);
  } else if (m.path.size() > 3 && m.path.ends_with(":ro")) {
    m.path.resize(m.path.size() - 3);
  }
  return m;
}

namespace {

// Stops the run on SIGINT/SIGTERM (blocked in every thread by main()).
class InterruptWatcher {
 public:
  explicit InterruptWatcher(actors::container_supervisor_actor run)
      : thread_([this, run] {
          sigset_t set;
          sigemptyset(&set);
          sigaddset(&set, SIGINT);
          sigaddset(&set, SIGTERM);
          timespec tick{0, 100 * 1000 * 1000};
          while (!done_.load()) {
            if (sigtimedwait(&set, nullptr, &tick) > 0) {
              interrupted_ = true;
              caf::anon_send(run, actors::stop_atom::value);
            }
          }
        }) {}
  ~InterruptWatcher() {
    done_ = true;
    thread_.join();
  }
  bool interrupted() const { return interrupted_.load(); }

 private:
  std::atomic<bool> done_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace

int run_cowork(const config::Config& config, const CoworkOptions& o) {
  if (sodium_init() < 0) return 1;
  std::error_code ec;
  if (o.workspace.empty() || !fs::is_directory(o.workspace, ec)) {
    std::cerr << "squadbox cowork: --workspace " << o.workspace << " is not a directory\n";
    return 2;
  }
  auto timeout = parse_duration(o.timeout);
  auto idle = parse_duration(o.idle_timeout);
  if (!timeout || !idle) {
    std::cerr << "squadbox cowork: " << (!timeout ? timeout.error().message : idle.error().message) << "\n";
    return 2;
  }
  container::RunMountRequest mounts;
  mounts.workspace = o.workspace;
  mounts.workspace_read_write = true;
  // The folder is the operator's own choice: no allowed root needed, but blocked
  // patterns and the never-mountable paths (data dir, allowlist, vault key) apply.
  mounts.workspace_from_operator = true;
  for (const auto& flag : o.mounts) {
    auto m = parse_mount_flag(flag);
    if (!m) {
      std::cerr << "squadbox cowork: " << m.error().message << "\n";
      return 2;
    }
    mounts.extras.push_back({m->name, m->path, m->read_write});
  }
  // Extra mounts go through the mount allowlist. The operator at the terminal owns the
  // installation, so a cowork run counts as the main group (nonMainReadOnly does not
  // apply; the root's allowReadWrite still does).
  auto allowlist = std::make_shared<security::allowlist::AllowlistStore>(security::allowlist::AllowlistStoreOptions{
      config.allowlist_path(), security::allowlist::protected_paths(config), {}, /*watch=*/false});
  // Checked here too (the run checks again, audited) so that a bad flag is a usage error.
  if (auto checked = container::MountPolicy::validate(mounts, {allowlist->current(), "cowork", true, {}, nullptr});
      !checked) {
    std::cerr << "squadbox cowork: " << checked.error().message << "\n";
    return 2;
  }
  auto defaults = namespaces::agent_defaults(config.container);
  if (!defaults) {
    std::cerr << "squadbox cowork: " << defaults.error().message << "\n";
    return 2;
  }
  auto settings = cowork_agent_settings(o.agent);
  if (!settings) {
    std::cerr << "squadbox cowork: " << settings.error().message << "\n";
    return 2;
  }
  if (o.prompt.empty()) {
    std::cerr << "squadbox cowork: no prompt (squadbox cowork --workspace DIR -- PROMPT)\n";
    return 2;
  }
  std::string prompt;
  for (const auto& w : o.prompt) prompt += (prompt.empty() ? "" : " ") + w;

  auto opened =
      container::select::open_runtime(config, o.backend.empty() ? std::nullopt : std::optional<std::string>(o.backend));
  if (!opened) {
    std::cerr << "squadbox cowork: " << opened.error().message << "\n";
    return 2;
  }
  if (!opened->status.available) {
    std::cerr << "squadbox cowork: container runtime not available: " << opened->status.message << "\n";
    return 2;
  }
  const std::string run_id = "cowork-" + random_hex(6);
  actors::ContainerRunOptions run;
  run.run_id = run_id;
  run.namespace_name = "cowork";
  run.kind = container::RunKind::cowork;
  run.install_id = opened->install_id;
  run.run_dir = (fs::path(config.node.data_dir) / "runs" / run_id).string();
  run.spec.name = "squadbox-" + run_id;
  run.spec.image = o.image.empty() ? config.container.image : o.image;
  // Who the agent is (run_identity.hpp): nobody in id range slot 0 (cowork's, never a
  // namespace's); files it writes in the workspace belong to the workspace's owner (idmap).
  // Never root, and never the operator's own uid unless container.user = "workspace_owner".
  {
    auto range = container::id_range_for_slot(
        {static_cast<uint32_t>(config.container.userns_base), static_cast<uint32_t>(config.container.userns_size)}, 0);
    if (!range) {
      std::cerr << "squadbox cowork: " << range.error().message << "\n";
      return 2;
    }
    std::optional<container::HostOwner> owner;
    struct stat st {};
    if (::stat(o.workspace.c_str(), &st) == 0) owner = container::HostOwner{st.st_uid, st.st_gid};
    const auto identity = container::decide_run_identity(
        container::parse_run_user(config.container.user).value_or(container::RunUser::namespace_range), *range, owner);
    run.spec.uid = identity.uid;
    run.spec.gid = identity.gid;
    run.spec.user_namespace = identity.user_namespace;
    mounts.workspace_owner = identity.workspace_idmap;
  }
  run.spec.limits = {config.container.memory_mb << 20, config.container.pids, config.container.cpu_millis};
  container::EnvPolicy env{container::split_env_names(config.container.env_passthrough)};
  // The same agent variables as a namespace's container (namespace_runs.cpp), with the
  // flags in place of a namespace's settings; cowork has no instructions.
  auto wanted = namespaces::agent_env(namespaces::effective_agent(*settings, *defaults), "");
  wanted.insert({{"SQUADBOX_IPC_DIR", "/workspace/ipc"},
                 {"SQUADBOX_SESSION_DIR", "/session"},
                 {"SQUADBOX_RUN_ID", run_id},
                 {"HOME", "/tmp"}});
  run.spec.env = env.build(wanted, config::process_environment());
  run.mounts = mounts;
  run.allowlist = allowlist;
  run.main_namespace = true;
  // No node, so no audit log: cowork's audit records (mount decisions) go to the log.
  run.audit = [](AuditRecord r) {
    log::info("audit", {{"actor", r.actor}, {"event", r.event}, {"subject", r.subject}, {"detail", r.detail}});
  };
  // The credential proxy, when routes are configured: the agent reaches them through
  // its lease socket with a placeholder token; the real keys come from the node's vault.
  if (!config.proxy.routes.empty()) {
    auto vault = storage::Vault::open(storage::vault_options(config, config::process_environment()));
    if (!vault) {
      std::cerr << "squadbox cowork: " << vault.error().message << "\n";
      return 2;
    }
    auto proxy = proxy::CredentialProxy::create(config.proxy, storage::make_secret_lookup(*vault), run.audit, nullptr);
    if (!proxy) {
      std::cerr << "squadbox cowork: " << proxy.error().message << "\n";
      return 2;
    }
    run.proxy = std::move(*proxy);
  }
  // A fresh session per cowork run (the llm mode keeps its conversation there).
  {
    auto session = fs::path(run.run_dir) / "session";
    fs::create_directories(session, ec);
    if (::chown(session.c_str(), run.spec.host_uid(), run.spec.host_gid()) != 0 || ec) {
      std::cerr << "squadbox cowork: cannot prepare " << session.string() << "\n";
      return 1;
    }
    ::chmod(session.c_str(), 0700);
    run.mounts.session_dir = session.string();
  }
  run.hard_timeout = *timeout;
  run.idle_timeout = *idle;
  run.stop_grace = std::chrono::milliseconds(config.container.stop_grace_ms);
  run.restart.budget = 0;  // a cowork run is one attempt: its failure is the answer
  run.runtime = opened->runtime;

  // The runtime creates mount points for /workspace/ipc and /workspace/extra/* inside
  // the workspace; remove the ones this run created (only if empty) afterwards.
  std::vector<fs::path> created;
  for (const char* sub : {"ipc", "extra"})
    if (!fs::exists(fs::path(o.workspace) / sub, ec)) created.push_back(fs::path(o.workspace) / sub);
  for (const auto& e : mounts.extras)
    if (!fs::exists(fs::path(o.workspace) / "extra" / e.name, ec))
      created.insert(created.begin(), fs::path(o.workspace) / "extra" / e.name);

  int code = 1;
  {
    caf::actor_system_config cfg;
    actors::configure_actor_system(cfg, config);
    caf::actor_system system{cfg};
    caf::scoped_actor self{system};
    run.listener = caf::actor_cast<actors::run_listener_actor>(self);
    auto sup = actors::spawn_container_supervisor(system, run);
    InterruptWatcher interrupts(sup);
    self->send(sup, actors::deliver_atom::value, std::string("prompt"), prompt);
    bool done = false;
    bool was_running = false;
    bool turn_failed = false;
    container::RunResult result;
    while (!done) {
      self->receive(
          [&](actors::output_atom, const container::RunOutput& out) {
            if (out.progress) {  // one line per tool call, while the turn runs
              std::cerr << "  " << out.text << "\n" << std::flush;
              return;
            }
            if (out.turn_failed) {
              turn_failed = true;
              std::cerr << "squadbox cowork: the agent failed: " << out.error << "\n";
              return;
            }
            std::cout << out.text << (out.text.ends_with('\n') ? "" : "\n") << std::flush;
          },
          [&](actors::state_atom, const container::RunTransition& t) {
            if (t.to == container::RunState::running) was_running = true;
            // The prompt's turn is over: ask the agent to finish and exit.
            if (t.to == container::RunState::idle && was_running) self->send(sup, actors::close_atom::value);
          },
          [&](actors::done_atom, const container::RunResult& r) {
            result = r;
            done = true;
          });
    }
    if (interrupts.interrupted())
      code = 130;
    else if (result.reason == container::EndReason::hard_timeout)
      code = 124;
    else if (result.final_state == container::RunState::exited && result.exit_code == 0)
      code = turn_failed ? 1 : 0;
    else
      code = result.exit_code > 0 ? result.exit_code : (result.exit_code == -1 ? 2 : 1);
    if (code != 0 && (result.reason != container::EndReason::finished || !result.detail.empty()))
      std::cerr << "squadbox cowork: " << container::to_string(result.final_state) << ": "
                << container::describe(result) << "\n";
  }
  fs::remove_all(fs::path(config.node.data_dir) / "runs" / run_id, ec);
  for (const auto& p : created) fs::remove(p, ec);  // non-recursive: only empty dirs go
  return code;
}

}  // namespace sb::app::cli
