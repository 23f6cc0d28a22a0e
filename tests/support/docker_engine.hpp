#pragma once
// A real Docker Engine for a test binary: a gtest Environment that starts dockerd
// through deploy/docker-engine.sh (private data root and socket), waits for /_ping,
// negotiates the API version and imports a busybox image (`squadbox-test:busybox`)
// built from /bin/busybox. If anything fails, ready() is false and error() says why:
// the tests then FAIL with that reason (they never skip). Stopped in TearDown.
//
//   sb::test::DockerEngine* g_engine = sb::test::shared_docker_engine();
//
// One engine per test binary, however many test files ask for it.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/container/docker/docker_runtime.hpp"
#include "runtime/container/docker/unix_http.hpp"
#include "tests/support/temp_dir.hpp"

#ifndef SQUADBOX_SOURCE_DIR
#error "SQUADBOX_SOURCE_DIR must point at the source tree (deploy/docker-engine.sh)"
#endif

namespace sb::test {

inline const std::string kDockerTestImage = "squadbox-test:busybox";

// Runs a command line through /bin/sh (test setup only; fixed strings we build).
inline int sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string random_suffix() {
  std::random_device rd;
  std::ostringstream os;
  os << std::hex << rd() << rd();
  return os.str();
}

class DockerEngine : public ::testing::Environment {
 public:
  explicit DockerEngine(std::string dir_prefix) : prefix_(std::move(dir_prefix)) {}

  void SetUp() override {
    using namespace std::chrono_literals;
    dir_ = std::make_unique<TempDir>(prefix_);
    socket_ = dir_->file("d.sock");
    pidfile_ = dir_->file("dockerd.pid");
    const std::string script = std::string(SQUADBOX_SOURCE_DIR) + "/deploy/docker-engine.sh";
    if (sh(script + " start " + dir_->path() + " " + socket_ + " " + pidfile_ + " 2>" + dir_->file("start.err")) != 0) {
      error_ = "deploy/docker-engine.sh start failed (Debian mirror unreachable or dockerd missing?): " +
               read_all(dir_->file("start.err"));
      return;
    }
    started_ = true;
    // Ready means GET /_ping answers 200, not merely that the socket file exists.
    container::docker::UnixHttpClient client(socket_);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    bool up = false;
    while (!up && std::chrono::steady_clock::now() < deadline) {
      auto r = client.request("GET", "/_ping", {}, {}, 2s);
      up = r && r->status == 200;
      if (!up) std::this_thread::sleep_for(20ms);  // poll interval
    }
    if (!up) {
      error_ = "dockerd did not answer /_ping within 60 s; log:\n" + read_all(dir_->file("dockerd.log"));
      return;
    }
    runtime_ = std::make_unique<container::docker::DockerRuntime>(container::docker::DockerOptions{socket_});
    if (auto v = runtime_->version(); !v) {
      error_ = "version negotiation failed: " + v.error().message;
      return;
    }
    if (std::string why = import_image(); !why.empty()) {
      error_ = why;
      return;
    }
    ready_ = true;
  }

  void TearDown() override {
    // Containers are removed by each test's guard; stopping the daemon and deleting its
    // data root is the backstop.
    runtime_.reset();
    if (started_) sh(std::string(SQUADBOX_SOURCE_DIR) + "/deploy/docker-engine.sh stop " + pidfile_ + " 30");
    // dockerd leaves its bind mount of the host's network namespace (exec/netns/default,
    // made once a container uses the host's network) behind; the folder cannot go with it.
    if (dir_) sh("awk -v d=" + dir_->path() + "/ 'index($2, d) == 1 { print $2 }' /proc/mounts | xargs -r umount -l");
    dir_.reset();
  }

  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  container::docker::DockerRuntime& runtime() { return *runtime_; }
  const std::string& socket() const { return socket_; }
  std::string dir() const { return dir_->path(); }

 private:
  // A 2 MB image: /bin/busybox plus its applet symlinks, imported from a tarball.
  std::string import_image() {
    using namespace std::chrono_literals;
    const std::string rootfs = dir_->file("rootfs");
    const std::string tar = dir_->file("rootfs.tar");
    const std::string cmd =
        "set -e; mkdir -p " + rootfs + "/bin " + rootfs + "/tmp " + rootfs + "/workspace; chmod 1777 " + rootfs +
        "/tmp; cp /bin/busybox " + rootfs + "/bin/busybox; for a in $(" + rootfs + "/bin/busybox --list); do [ -e " +
        rootfs + "/bin/$a ] || ln -s busybox " + rootfs + "/bin/$a; done; tar -C " + rootfs + " -cf " + tar + " .";
    if (sh(cmd) != 0) return "cannot build the busybox rootfs tarball (is busybox-static installed?)";
    auto r = runtime_->call("POST", "/images/create?fromSrc=-&repo=squadbox-test&tag=busybox", read_all(tar),
                            "application/x-tar", 60s);
    if (!r) return "image import failed: " + r.error().message;
    if (r->status != 200 || r->body.find("errorDetail") != std::string::npos)
      return "image import failed: HTTP " + std::to_string(r->status) + " " + r->body;
    return {};
  }

  std::string prefix_;
  std::unique_ptr<TempDir> dir_;
  std::string socket_, pidfile_, error_;
  bool started_ = false, ready_ = false;
  std::unique_ptr<container::docker::DockerRuntime> runtime_;
};

// The binary's one engine, registered as a gtest Environment on first use (call it from a
// namespace-scope initializer so that it is registered before RUN_ALL_TESTS).
inline DockerEngine* shared_docker_engine() {
  static DockerEngine* engine =
      static_cast<DockerEngine*>(::testing::AddGlobalTestEnvironment(new DockerEngine("sbdock")));
  return engine;
}

}  // namespace sb::test
