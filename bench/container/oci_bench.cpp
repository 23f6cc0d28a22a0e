// Parts 1 and 2 of bench_container (oci backend, crun).
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/containers/container_supervisor.hpp"
#include "actors/node/node.hpp"
#include "actors/protocol.hpp"
#include "bench/container/bench_support.hpp"
#include "bench/container/benches.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_config.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "runtime/ipc/ipc_directory.hpp"
#include "runtime/ipc/ipc_watcher.hpp"

namespace sb::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace oci = sb::container::oci;

constexpr const char* kText = "hello from the container bench";

// Everything the oci parts share; the destructor removes every container it knows of.
struct OciEnv {
  TempDir root{"squadbox-bench-container"};
  std::string install = "bench-" + random_hex(8);
  std::unique_ptr<oci::ImageStore> images;
  std::shared_ptr<oci::OciRuntime> runtime;
  oci::ResolvedImage image;
  std::string raw_crun_root;
  std::vector<std::string> raw_ids;  // raw `crun run` containers, deleted at the end

  ~OciEnv() {
    if (runtime) {
      if (auto all = runtime->list({{container::kLabelInstall, install}}))
        for (const auto& c : *all) (void)runtime->remove(c.id, true);
    }
    for (const auto& id : raw_ids) (void)run({"crun", "--root", raw_crun_root, "delete", "--force", id}, 30s);
  }
};

// The container environment a run gets, as cowork builds it (EnvPolicy, no passthrough).
std::map<std::string, std::string> agent_env(const std::string& run_id) {
  container::EnvPolicy env{{}};
  return env.build({{"SQUADBOX_AGENT_MODE", "echo"},
                    {"SQUADBOX_IPC_DIR", "/workspace/ipc"},
                    {"SQUADBOX_RUN_ID", run_id},
                    {"HOME", "/tmp"}},
                   {});
}

actors::ContainerRunOptions run_options(OciEnv& env, const std::string& run_id, const std::string& workspace,
                                        caf::actor listener) {
  actors::ContainerRunOptions run;
  run.run_id = run_id;
  run.namespace_name = "bench";
  run.kind = sb::container::RunKind::cowork;
  run.install_id = env.install;
  run.run_dir = env.root.file("runs/" + run_id);
  run.spec.name = "squadbox-" + run_id;
  run.spec.image = oci::kDefaultAgentImage;
  run.spec.env = agent_env(run_id);  // default limits: 512 MiB, 256 pids, 1 CPU
  run.mounts.workspace = workspace;
  run.mounts.workspace_read_write = true;
  run.hard_timeout = 120s;
  run.restart.budget = 0;
  run.runtime = env.runtime;
  run.listener = caf::actor_cast<sb::actors::run_listener_actor>(listener);
  return run;
}

// Waits (up to `timeout`) for the done_atom of `run_id`; other messages are dropped.
bool await_done(caf::scoped_actor& self, const std::string& run_id, std::chrono::seconds timeout,
                sb::container::RunResult* out = nullptr) {
  auto deadline = Clock::now() + timeout;
  bool done = false, timed_out = false;
  while (!done && !timed_out) {
    self->receive(
        [&](actors::done_atom, const sb::container::RunResult& r) {
          if (r.run_id != run_id) return;
          if (out) *out = r;
          done = true;
        },
        [&](actors::output_atom, const sb::container::RunOutput&) {},
        [&](actors::state_atom, const sb::container::RunTransition&) {},
        caf::after(std::chrono::milliseconds(200)) >> [&] { timed_out = Clock::now() > deadline; });
  }
  return done;
}

// Part 1a: one fresh supervisor run, deliver -> first output_atom. Returns ms or -1.
double cold_supervisor(OciEnv& env, caf::actor_system& sys, std::string* error) {
  const std::string run_id = "cold-" + random_hex(10);
  std::string ws = env.root.file("ws/" + run_id);
  fs::create_directories(ws);  // the user's workspace exists before any run
  caf::scoped_actor self{sys};
  auto opts = run_options(env, run_id, ws, caf::actor_cast<caf::actor>(self));

  auto t0 = Clock::now();
  auto sup = actors::spawn_container_supervisor(sys, opts);
  self->send(sup, actors::deliver_atom::value, std::string("m1"), std::string(kText));
  double ms = -1;
  bool finished = false;
  auto deadline = Clock::now() + 60s;
  while (ms < 0 && !finished && Clock::now() < deadline) {
    self->receive(
        [&](actors::output_atom, const sb::container::RunOutput& out) {
          if (out.run_id != run_id) return;
          if (!out.error.empty()) {
            *error = "turn failed: " + out.error;
            finished = true;
            return;
          }
          ms = ms_since(t0);
          if (out.text != kText) *error = "unexpected reply '" + out.text + "'";
        },
        [&](actors::state_atom, const sb::container::RunTransition&) {},
        [&](actors::done_atom, const sb::container::RunResult& r) {
          if (r.run_id != run_id) return;
          *error = "run ended before replying: " + std::string(sb::container::to_string(r.final_state)) + " " +
                   sb::container::describe(r);
          finished = true;
        },
        caf::after(std::chrono::milliseconds(500)) >> [] {});
  }
  // Untimed: ask the agent to exit and wait for the run to be over (container removed).
  if (!finished) {
    self->send(sup, actors::close_atom::value);
    sb::container::RunResult result;
    if (!await_done(self, run_id, 30s, &result)) {
      self->send_exit(sup, caf::exit_reason::user_shutdown);  // kills + removes
      if (error->empty()) *error = "run did not finish after close";
      ms = -1;
    } else if (result.final_state != sb::container::RunState::exited || result.exit_code != 0) {
      if (error->empty())
        *error = "run ended " + std::string(sb::container::to_string(result.final_state)) + " " +
                 sb::container::describe(result);
    }
  }
  if (ms < 0 && error->empty()) *error = "no reply within 60 s";
  std::error_code ec;
  fs::remove_all(opts.run_dir, ec);
  fs::remove_all(ws, ec);
  return error->empty() ? ms : -1;
}

// Part 1b: the same run by hand: run dir + IPC layout, the same mounts and limits, an
// OCI config from the same builder on the same rootfs, `crun run` (fork/exec), the agent
// in oneshot mode; timed until the reply arrives in messages/ (inotify, IpcWatcher).
// two_step: `crun create` + `crun start` (how OciRuntime starts a container, detached)
// instead of one foreground `crun run`; shows what the two-step start costs by itself.
double cold_raw(OciEnv& env, std::string* error, bool two_step = false) {
  const std::string id = "sbraw-" + random_hex(16);
  std::string ws = env.root.file("ws/" + id);
  fs::create_directories(ws);
  std::string run_dir = env.root.file("raw/" + id);
  double ms = -1;
  pid_t pid = -1;

  auto t0 = Clock::now();
  fs::create_directories(run_dir);
  auto dir = ipc::IpcDirectory::create(run_dir + "/ipc", {});
  if (!dir) {
    *error = dir.error().message;
    return -1;
  }
  auto watcher = ipc::IpcWatcher::open(dir->root());
  if (!watcher) {
    *error = watcher.error().message;
    return -1;
  }
  auto mounts = container::MountPolicy::validate({ws, true, dir->root(), {}});
  if (!mounts) {
    *error = mounts.error().message;
    return -1;
  }
  container::ContainerSpec spec;
  spec.name = "squadbox-" + id;
  spec.image = oci::kDefaultAgentImage;
  spec.env = agent_env(id);
  spec.env["SQUADBOX_PROMPT"] = kText;
  spec.env["SQUADBOX_AGENT_ONESHOT"] = "1";
  spec.mounts = std::move(*mounts);
  oci::OciConfigInput in;
  in.spec = &spec;
  in.rootfs = env.image.rootfs.string();
  in.image = env.image.defaults;
  in.cgroups_path = "/squadbox/" + id;
  auto config = oci::build_oci_config(in);
  if (!config) {
    *error = config.error().message;
    return -1;
  }
  std::string bundle = run_dir + "/bundle";
  fs::create_directories(bundle);
  {
    std::ofstream out(bundle + "/config.json", std::ios::binary);
    out << *config;
  }
  env.raw_ids.push_back(id);
  const ChildIo io{bundle + "/output.log", bundle + "/output.log", {}};
  if (!two_step) {
    pid = spawn({"crun", "--root", env.raw_crun_root, "run", "--bundle", bundle, id}, io);
  } else {
    int rc = run({"crun", "--root", env.raw_crun_root, "create", "--bundle", bundle, "--pid-file", bundle + "/pid", id},
                 30s, io);
    if (rc == 0) rc = run({"crun", "--root", env.raw_crun_root, "start", id}, 30s, io);
    if (rc != 0) *error = "crun create/start: " + read_file(bundle + "/output.log");
    // The container's init was reparented to us (OciRuntime made us a subreaper).
    pid = rc == 0 ? static_cast<pid_t>(std::atoi(read_file(bundle + "/pid").c_str())) : -1;
  }
  auto deadline = Clock::now() + 60s;
  while (ms < 0 && pid > 0 && Clock::now() < deadline) {
    for (auto& d : watcher->wait_for(200ms)) {
      if (auto* m = std::get_if<ipc::OutboundMessage>(&d.payload)) {
        ms = ms_since(t0);
        if (m->text != kText) *error = "unexpected reply '" + m->text + "'";
      }
    }
    if (ms < 0 && ::waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      *error = "the container exited without a reply: " + read_file(bundle + "/output.log");
      break;
    }
  }
  // Untimed: the oneshot agent exits by itself; crun run deletes the container.
  if (pid > 0) {
    int rc = wait_child(pid, 30s);
    if (rc != 0 && error->empty())
      *error = "crun run/agent exit " + std::to_string(rc) + ": " + read_file(bundle + "/output.log");
  }
  (void)run({"crun", "--root", env.raw_crun_root, "delete", "--force", id}, 30s);
  std::erase(env.raw_ids, id);
  if (ms < 0 && error->empty()) *error = "no reply within 60 s";
  std::error_code ec;
  fs::remove_all(run_dir, ec);
  fs::remove_all(ws, ec);
  return error->empty() ? ms : -1;
}

// Part 2: one supervisor run, sequential messages: deliver -> output_atom at the listener.
bool warm(OciEnv& env, caf::actor_system& sys, int messages, std::vector<double>& samples_us, std::string* error) {
  const std::string run_id = "warm-" + random_hex(10);
  std::string ws = env.root.file("ws/" + run_id);
  fs::create_directories(ws);
  caf::scoped_actor self{sys};
  auto opts = run_options(env, run_id, ws, caf::actor_cast<caf::actor>(self));
  auto sup = actors::spawn_container_supervisor(sys, opts);
  bool ended = false;
  // One turn: deliver, time until its reply, then wait for the turn to end (idle).
  auto turn = [&](int i, bool timed) {
    std::string id = "w" + std::to_string(i);
    std::string text = "ping " + std::to_string(i);
    auto t0 = Clock::now();
    self->send(sup, actors::deliver_atom::value, id, text);
    bool replied = false, idle = false, timed_out = false;
    auto deadline = Clock::now() + 30s;
    while (!(replied && idle) && !ended && !timed_out) {
      self->receive(
          [&](actors::output_atom, const sb::container::RunOutput& out) {
            if (out.in_reply_to != id) return;
            if (timed) samples_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            if (!out.error.empty() || out.text != text) *error = "bad reply to " + id + ": " + out.text + out.error;
            replied = true;
          },
          [&](actors::state_atom, const sb::container::RunTransition& t) {
            if (replied && t.to == sb::container::RunState::idle) idle = true;
          },
          [&](actors::done_atom, const sb::container::RunResult& r) {
            ended = true;
            *error =
                "run ended: " + std::string(sb::container::to_string(r.final_state)) + " " + sb::container::describe(r);
          },
          caf::after(std::chrono::milliseconds(500)) >> [&] { timed_out = Clock::now() > deadline; });
    }
    if (timed_out && error->empty()) *error = "no reply to " + id + " within 30 s";
    return error->empty();
  };
  bool ok = true;
  for (int i = 0; ok && i < 10; ++i) ok = turn(i, false);  // container up, caches warm
  for (int i = 0; ok && i < messages; ++i) ok = turn(1000 + i, true);
  if (!ended) {
    self->send(sup, actors::close_atom::value);
    if (!await_done(self, run_id, 30s)) {
      self->send_exit(sup, caf::exit_reason::user_shutdown);
      if (error->empty()) *error = "run did not finish after close";
    }
  }
  std::error_code ec;
  fs::remove_all(opts.run_dir, ec);
  fs::remove_all(ws, ec);
  return error->empty();
}

}  // namespace

bool bench_oci(const Counts& counts) {
  OciEnv env;
  env.images = std::make_unique<oci::ImageStore>(env.root.file("images"));
  if (auto st = env.images->build_default_image(agent_binary()); !st) {
    std::printf("oci: cannot build the default agent image: %s\n", st.error().message.c_str());
    return false;
  }
  auto image = env.images->resolve(oci::kDefaultAgentImage);
  if (!image) {
    std::printf("oci: %s\n", image.error().message.c_str());
    return false;
  }
  env.image = *image;
  oci::OciRuntimeOptions o;
  o.state_dir = env.root.file("state");
  o.runtime_root = env.root.file("crun");
  o.install_id = env.install;
  env.runtime = std::make_shared<oci::OciRuntime>(o, *env.images);
  env.raw_crun_root = env.root.file("rawcrun");
  fs::create_directories(env.raw_crun_root);
  auto version = env.runtime->version();

  caf::actor_system_config cfg;
  actors::configure_actor_system(cfg, config::Config{});
  caf::actor_system sys{cfg};

  bool ok = true;
  // 1. Cold, alternating the two sides so machine load hits both alike; one warm-up each.
  std::vector<double> sup_ms, raw_ms, two_ms;
  std::string error;
  for (int i = -1; i < counts.cold_runs && error.empty(); ++i) {
    double a = cold_supervisor(env, sys, &error);
    if (!error.empty()) {
      std::printf("cold (squadbox supervisor) failed: %s\n", error.c_str());
      break;
    }
    double b = cold_raw(env, &error);
    if (!error.empty()) {
      std::printf("cold (raw crun run) failed: %s\n", error.c_str());
      break;
    }
    double c = cold_raw(env, &error, true);
    if (!error.empty()) {
      std::printf("cold (raw crun create + start) failed: %s\n", error.c_str());
      break;
    }
    if (i >= 0) {
      sup_ms.push_back(a);
      raw_ms.push_back(b);
      two_ms.push_back(c);
    }
  }
  ok = error.empty();
  auto s = summarize(sup_ms), r = summarize(raw_ms), t = summarize(two_ms);
  std::printf("\ncold message -> first reply, oci (%s), %zu runs each:\n", version ? version->version.c_str() : "crun",
              s.n);
  std::printf(
      "  squadbox supervisor (run dir + IPC + crun create/start + echo agent): median %.1f ms, p90 %.1f ms, min %.1f, "
      "max %.1f\n",
      s.p50, s.p90, s.min, s.max);
  std::printf(
      "  raw `crun run` (same bundle config, mounts, limits; oneshot agent):   median %.1f ms, p90 %.1f ms, min %.1f, "
      "max %.1f\n",
      r.p50, r.p90, r.min, r.max);
  std::printf(
      "  (breakdown) raw `crun create` + `crun start`, as OciRuntime starts:    median %.1f ms, p90 %.1f ms, min %.1f, "
      "max %.1f\n",
      t.p50, t.p90, t.min, t.max);
  std::printf("  ratio squadbox/raw: median %.2fx, p90 %.2fx (target <= 1.3x)\n", r.p50 > 0 ? s.p50 / r.p50 : 0.0,
              r.p90 > 0 ? s.p90 / r.p90 : 0.0);

  // 2. Warm.
  std::vector<double> us;
  error.clear();
  if (!warm(env, sys, counts.warm_messages, us, &error)) {
    std::printf("warm round trip failed: %s\n", error.c_str());
    ok = false;
  }
  auto w = summarize(us);
  std::printf(
      "\nwarm follow-up round trip (deliver_atom -> output_atom at the listener, one running container, supervisor "
      "path), %zu messages:\n",
      w.n);
  std::printf("  squadbox: p50 %.0f us, p99 %.0f us, max %.0f us (target p50 <= 2000 us, p99 <= 10000 us)\n", w.p50,
              w.p99, w.max);
  std::printf(
      "  reference, the polling design it descends from (input polled every 500 ms, host IPC every 1 s):\n"
      "  ~500000-1500000 us per round trip, ~750000 us on average; squadbox p50 is %.0fx faster than 750 ms\n",
      w.p50 > 0 ? 750000.0 / w.p50 : 0.0);
  return ok;
}

}  // namespace sb::bench
