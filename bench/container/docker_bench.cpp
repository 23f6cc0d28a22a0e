// Part 3 of bench_container (--docker): DockerRuntime create+start+wait+remove vs
// `docker run --rm`, both against one private dockerd started by
// deploy/docker-engine.sh exactly as tests/runtime/container/docker/docker_runtime_docker_test.cpp does.
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/container/bench_support.hpp"
#include "bench/container/benches.hpp"
#include "runtime/container/docker/docker_runtime.hpp"
#include "runtime/container/docker/unix_http.hpp"
#include "runtime/container/oci/image_store.hpp"

#ifndef SB_SOURCE_DIR
#error "SB_SOURCE_DIR must point at the source tree (deploy/docker-engine.sh)"
#endif

namespace sb::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace docker = sb::container::docker;

const std::string kRepo = "squadbox-bench";
const std::string kTag = "agent";
const std::string kImage = kRepo + ":" + kTag;

std::string docker_cli() {
  for (const char* p : {"/usr/local/bin/docker", "/usr/bin/docker"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

// The private daemon; stopped (and its data root removed) on destruction.
class Engine {
 public:
  Engine() : dir_("sbdb") {
    sock_ = dir_.file("d.sock");
    pidfile_ = dir_.file("dockerd.pid");
  }
  ~Engine() {
    runtime_.reset();
    if (started_) {
      auto t0 = Clock::now();
      (void)run({"bash", script(), "stop", pidfile_, "30"}, 60s, {"/dev/null", dir_.file("stop.err"), {}});
      std::printf("  (private dockerd stopped in %.1f s)\n", ms_since(t0) / 1000);
    }
  }

  std::string start() {
    int rc =
        run({"bash", script(), "start", dir_.path(), sock_, pidfile_}, 900s, {"/dev/null", dir_.file("start.err"), {}});
    if (rc != 0) return "deploy/docker-engine.sh start failed: " + read_file(dir_.file("start.err"));
    started_ = true;
    docker::UnixHttpClient client(sock_);
    auto deadline = Clock::now() + 60s;
    bool up = false;
    while (!up && Clock::now() < deadline) {
      auto r = client.request("GET", "/_ping", {}, {}, 2s);
      up = r && r->status == 200;
      if (!up) std::this_thread::sleep_for(20ms);  // startup poll, not timed
    }
    if (!up) return "dockerd did not answer /_ping within 60 s: " + read_file(dir_.file("dockerd.log"));
    runtime_ = std::make_unique<docker::DockerRuntime>(docker::DockerOptions{sock_});
    if (auto v = runtime_->version(); !v)
      return "version: " + v.error().message;
    else
      version_ = v->version + " (API " + v->api_version + ")";
    return {};
  }

  // The squadbox default agent image's rootfs, tarred and imported (fromSrc=-).
  std::string import_default_image() {
    container::oci::ImageStore store(dir_.file("images"));
    if (auto st = store.build_default_image(agent_binary()); !st) return "default image: " + st.error().message;
    auto img = store.resolve(container::oci::kDefaultAgentImage);
    if (!img) return img.error().message;
    std::string tar = dir_.file("rootfs.tar");
    if (run({"tar", "-C", img->rootfs.string(), "-cf", tar, "."}, 120s) != 0) return "tar of the rootfs failed";
    auto r = runtime_->call("POST", "/images/create?fromSrc=-&repo=" + kRepo + "&tag=" + kTag, read_file(tar),
                            "application/x-tar", 120s);
    std::error_code ec;
    fs::remove_all(dir_.file("images"), ec);
    fs::remove(tar, ec);
    if (!r) return "image import: " + r.error().message;
    if (r->status != 200 || r->body.find("errorDetail") != std::string::npos)
      return "image import: HTTP " + std::to_string(r->status) + " " + r->body;
    return {};
  }

  docker::DockerRuntime& runtime() { return *runtime_; }
  const std::string& sock() const { return sock_; }
  const std::string& version() const { return version_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

 private:
  static std::string script() { return std::string(SB_SOURCE_DIR) + "/deploy/docker-engine.sh"; }
  TempDir dir_;
  std::string sock_, pidfile_, version_;
  bool started_ = false;
  std::unique_ptr<docker::DockerRuntime> runtime_;
};

}  // namespace

bool bench_docker(const Counts& counts) {
  // The oci part made this process a child subreaper (OciRuntime, for exit codes) and is
  // over: undo it, or dockerd and the containerd shims (orphaned by the start script)
  // would become our zombies and `docker-engine.sh stop` would wait on a zombie.
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  std::string cli = docker_cli();
  if (cli.empty()) {
    std::printf("docker: no docker CLI found (/usr/local/bin/docker, /usr/bin/docker); skipped\n");
    return false;
  }
  Engine engine;
  if (auto why = engine.start(); !why.empty()) {
    std::printf("docker: %s\n", why.c_str());
    return false;
  }
  if (auto why = engine.import_default_image(); !why.empty()) {
    std::printf("docker: %s\n", why.c_str());
    return false;
  }
  const std::string install = "bench-" + random_hex(8);
  auto& rt = engine.runtime();
  std::string cli_version;
  {
    std::string out = engine.file("cli.version");
    (void)run({cli, "--version"}, 30s, {out, "/dev/null", {}});
    cli_version = read_file(out);
    while (!cli_version.empty() && cli_version.back() == '\n') cli_version.pop_back();
  }

  // (a) What a squadbox run does on this backend, minus the agent: the same spec shape
  // (uid 65534, default limits, read-only root, no network) running /bin/true.
  auto squadbox_once = [&](std::string* error) -> double {
    container::ContainerSpec spec;
    spec.name = "sbbench-" + random_hex(10);
    spec.image = kImage;
    spec.command = {"/bin/true"};
    spec.labels = {{container::kLabelInstall, install}};
    auto t0 = Clock::now();
    auto id = rt.create(spec);
    if (!id) {
      *error = "create: " + id.error().message;
      return -1;
    }
    auto st = rt.start(*id);
    auto ex = st ? rt.wait(*id, 60s) : Result<container::ExitStatus>(st.error());
    auto rm = rt.remove(*id, true);
    double ms = ms_since(t0);
    if (!st)
      *error = "start: " + st.error().message;
    else if (!ex)
      *error = "wait: " + ex.error().message;
    else if (ex->exit_code != 0)
      *error = "exit code " + std::to_string(ex->exit_code);
    else if (!rm)
      *error = "remove: " + rm.error().message;
    return error->empty() ? ms : -1;
  };
  // (b) The CLI with the same options the DockerRuntime sets.
  const std::vector<std::string> cli_argv = {cli,
                                             "-H",
                                             "unix://" + engine.sock(),
                                             "run",
                                             "--rm",
                                             "--network",
                                             "none",
                                             "--user",
                                             "65534:65534",
                                             "--read-only",
                                             "--tmpfs",
                                             "/tmp:rw,nosuid,nodev,size=64m,mode=1777",
                                             "--cap-drop",
                                             "ALL",
                                             "--security-opt",
                                             "no-new-privileges",
                                             "--memory",
                                             "512m",
                                             "--memory-swap",
                                             "512m",
                                             "--pids-limit",
                                             "256",
                                             "--cpus",
                                             "1",
                                             "--label",
                                             std::string(container::kLabelInstall) + "=" + install,
                                             "--workdir",
                                             "/workspace",
                                             kImage,
                                             "/bin/true"};
  const ChildIo cli_io{"/dev/null", engine.file("cli.err"), {"DOCKER_CONFIG=" + engine.file("cli-config")}};
  auto cli_once = [&](std::string* error) -> double {
    auto t0 = Clock::now();
    int rc = run(cli_argv, 120s, cli_io);
    double ms = ms_since(t0);
    if (rc != 0) *error = "docker run exit " + std::to_string(rc) + ": " + read_file(engine.file("cli.err"));
    return error->empty() ? ms : -1;
  };

  std::vector<double> a, b;
  std::string error;
  for (int i = -2; i < counts.docker_runs && error.empty(); ++i) {  // two warm-ups each
    double x = squadbox_once(&error);
    if (!error.empty()) break;
    double y = cli_once(&error);
    if (!error.empty()) break;
    if (i >= 0) {
      a.push_back(x);
      b.push_back(y);
    }
  }
  // Backstop: nothing of ours stays behind, whatever happened above.
  if (auto left = rt.list({{container::kLabelInstall, install}}))
    for (const auto& c : *left) (void)rt.remove(c.id, true);
  if (!error.empty()) std::printf("docker: %s\n", error.c_str());

  auto s = summarize(a), r = summarize(b);
  std::printf("\ndocker: create+start+wait+remove of /bin/true, dockerd %s, CLI %s, %zu runs each:\n",
              engine.version().c_str(), cli_version.c_str(), s.n);
  std::printf(
      "  squadbox DockerRuntime (Engine API, one unix socket):  median %.1f ms, p90 %.1f ms, min %.1f, max %.1f\n",
      s.p50, s.p90, s.min, s.max);
  std::printf(
      "  `docker run --rm --network none` (same user/limits):   median %.1f ms, p90 %.1f ms, min %.1f, max %.1f\n",
      r.p50, r.p90, r.min, r.max);
  std::printf("  ratio squadbox/docker-cli: median %.2fx, p90 %.2fx (target <= 1.0x)\n",
              r.p50 > 0 ? s.p50 / r.p50 : 0.0, r.p90 > 0 ? s.p90 / r.p90 : 0.0);
  return error.empty();
}

}  // namespace sb::bench
